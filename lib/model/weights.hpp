// Loading CLIP weights from any of the files they come in, into one canonical form: OpenAI's state-dict names,
// fp32, CPU, contiguous, detached. Formats are told apart by their bytes, not their names: OpenAI's TorchScript
// archives (the .pt files OpenAI distributes), torch.save state-dict zips (plain, "module."-prefixed, or wrapped
// in {"state_dict": …}), and safetensors. Key layouts: OpenAI / open_clip names, or transformers' CLIPModel
// names (split q/k/v projections, transposed output projections), detected from the names. Every size comes
// from the weights as in OpenAI's build_model. The fingerprint hashes the canonical form, so the same weights
// give the same fingerprint whatever file, layout or storage dtype they came in.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "model/clip.hpp"

namespace dcar::model {

enum class WeightFormat { torchscript, torch_pickle, safetensors };
enum class KeyLayout { openai, hf };
const char* format_name(WeightFormat format);  // "torchscript", "torch.save", "safetensors"
const char* layout_name(KeyLayout layout);     // "openai", "hf"

// The key under which dcar's safetensors files record the architecture (architecture_spec's spelling).
inline constexpr const char* architecture_metadata_key = "dcar.architecture";

struct LoadedWeights {
    TensorMap tensors;  // OpenAI names, fp32, CPU, exactly the clip_tensor_specs(config) set
    ClipConfig config;
    std::string fingerprint;  // "clip-<16 hex digits>"
    WeightFormat format = WeightFormat::safetensors;
    KeyLayout layout = KeyLayout::openai;
    std::vector<std::string> ignored;  // names dropped as harmless (see ignored_tensor_names), as in the file
    std::string architecture_source;   // where the activation and heads came from (Architecture::source)
};

// Reads, normalises and checks. `path` is a weights file or a model directory holding one (open_clip's hub
// files open_clip_model.safetensors / open_clip_pytorch_model.bin, Hugging Face's model.safetensors /
// pytorch_model.bin) beside its config (open_clip_config.json, config.json). Errors: dcar::Error(io) when the
// file cannot be read; (format) when it is none of the formats or is corrupt; (model) for a missing,
// unexpected or mis-shaped tensor — one error naming the first such tensor in the file's own layout with
// expected and found shape, plus a count of further problems — and for an architecture nothing states or
// that contradicts the weights.
LoadedWeights load_weights(const std::string& path, const LoadOptions& options = {});

// The steps on their own. read_tensor_file returns every tensor under its stored name and dtype, and a
// safetensors file's __metadata__ when asked.
TensorMap read_tensor_file(const std::string& path, WeightFormat* format = nullptr,
                           std::map<std::string, std::string>* metadata = nullptr);
// What the file or what lies beside it states (architecture.hpp), or nullopt. `path` as for load_weights.
std::optional<Architecture> declared_architecture(const std::string& path, WeightFormat format,
                                                  const std::map<std::string, std::string>& metadata);
// The weights file load_weights reads for `path` (itself when it is not a directory).
std::string weights_file_in(const std::string& path);
// Everything after reading: wrapper prefixes, layout, ignored names, config, checks, fp32, fingerprint.
// place names the source in messages; `declared` is what the file states (options.arch wins over it).
LoadedWeights weights_from_tensors(const TensorMap& raw, const std::string& place, const LoadOptions& options = {},
                                   const std::optional<Architecture>& declared = std::nullopt);
// Only the names, the configuration and the shape checks (no conversion, no fingerprint): what a tool's
// dry run or an inspect command needs. Throws as load_weights does.
ClipConfig inspect_weights(const TensorMap& raw, const std::string& place, const LoadOptions& options = {},
                           const std::optional<Architecture>& declared = std::nullopt);

// Names that real checkpoints carry beside the weights and that are dropped without complaint:
//   OpenAI / open_clip: input_resolution, context_length, vocab_size (ints stored in OpenAI's .pt files),
//     attn_mask (open_clip's causal-mask buffer) and any block's "…resblocks.<i>.attn_mask";
//   HF: text_model.embeddings.position_ids, vision_model.embeddings.position_ids.
bool is_ignored_tensor_name(const std::string& name, KeyLayout layout);

// "clip-" + 16 hex digits: a 64-bit non-cryptographic hash (our own multiply-rotate mix) over, for each tensor
// in name order, the name, the shape, the tag "f32", and the values as little-endian fp32 bytes.
std::string weights_fingerprint(const TensorMap& openai_names);
// A model's fingerprint: weights_fingerprint when the architecture is OpenAI's reading of the weights
// (QuickGELU, heads = width / 64), else that hash mixed with architecture_spec, so that two readings of the
// same weights never share a fingerprint (and OpenAI-style models keep the fingerprints they always had).
std::string clip_fingerprint(const TensorMap& openai_names, const ClipConfig& config);
// The safetensors metadata dcar writes beside a model's weights: {"format": "pt", "dcar.architecture": ...}.
std::map<std::string, std::string> clip_metadata(const ClipConfig& config);

// A model size from "key=value,…" (for training a CLIP from scratch). Keys: image (resolution), patch, width,
// layers, heads, text-width, text-layers, text-heads, embed, context, vocab; mlp widths are 4 × width. Missing
// keys take ViT-B/32's values; heads default to width/64. Throws dcar::Error(usage) for unknown keys, bad
// numbers, an image size that is not a multiple of the patch, or widths not divisible by their heads.
ClipConfig clip_config_from_spec(const std::string& spec);
// Random weights of that size (OpenAI names, fp32, CPU) drawn as OpenAI's initialize_parameters does: token
// embedding N(0, 0.02²), text positions N(0, 0.01²), attention in-projections N(0, width^-1), out- and MLP
// projections N(0, width^-1·(2·layers)^-1), c_fc N(0, (2·width)^-1), text projection N(0, width^-1), vision
// class/positional embeddings and projection width^-½·N(0, 1), conv1 as nn.Conv2d (uniform ±1/√fan_in), layer
// norms 1 and 0, biases 0, logit_scale ln(1/0.07). Deterministic for a seed.
TensorMap random_weights(const ClipConfig& config, uint64_t seed);

// The model ready to run: load_weights, Clip::from_weights, Clip::to(device, dtype), fingerprint kept.
Clip load_clip(const std::string& path, at::Device device = at::Device(at::kCPU), at::ScalarType dtype = at::kFloat,
               const LoadOptions& options = {});

}  // namespace dcar::model
