// CLIP's two towers (OpenAI's ViT image encoder and causal text encoder) written functionally: a struct of
// at::Tensor weights per tower plus free forward functions built from at:: ops. Nothing here is an nn::Module,
// so autograd flows only into what the caller marks as requiring gradients (the prompt tensors of
// docs/METHOD.md §3) while every CLIP weight stays a frozen, grad-less tensor. The prompt hooks (TextPrompts,
// VisualPrompts) are part of the forward signatures so that training code never has to re-implement a tower.
//
// Shapes are batch-first throughout ([N, L, D]; OpenAI's code is sequence-first, which changes no number).
// Every forward function is a pure function of its arguments: it only reads the weights, so one Clip may be
// used from several threads at once. Gradient mode is the caller's business: inference should run under
// c10::InferenceMode (or at::NoGradGuard), which are thread-local.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "model/architecture.hpp"

namespace dcar::model {

using TensorMap = std::map<std::string, at::Tensor>;

// A tensor's shape as "[2, 3]" (text::shape_text), for messages.
std::string shape_text(at::IntArrayRef shape);

// Every size of a CLIP ViT model, as OpenAI's build_model infers it from the weights (weights.hpp does that).
struct ClipConfig {
    int64_t embed_dim = 0;         // joint embedding width (text_projection columns)
    int64_t image_resolution = 0;  // patch_size × grid
    int64_t patch_size = 0;        // pixels a side per token: conv1's kernel × 2^(stem layers)
    // A convolutional stem before conv1 (dcar's own extension; empty in OpenAI's ViTs): layer i is a 3 × 3
    // convolution with stride 2, padding 1 and a bias, from stem_channels[i-1] (3 for i = 0) to
    // stem_channels[i] channels, followed by GELU (erf form). conv1 then reads stem_channels.back() channels.
    std::vector<int64_t> stem_channels;
    int64_t vision_width = 0;
    int64_t vision_layers = 0;
    int64_t vision_heads = 0;      // OpenAI: width / 64
    int64_t vision_mlp_width = 0;  // c_fc rows; 4 × width in every OpenAI model
    int64_t context_length = 0;    // text positional embedding rows (77)
    int64_t vocab_size = 0;
    int64_t text_width = 0;
    int64_t text_layers = 0;
    int64_t text_heads = 0;
    int64_t text_mlp_width = 0;
    // The MLP's activation in every block of both towers: OpenAI's QuickGELU, x·σ(1.702x), or the exact (erf)
    // GELU of open_clip's models trained without quick_gelu. The weights do not show it (architecture.hpp).
    Activation activation = Activation::quick_gelu;

    int64_t grid() const { return patch_size ? image_resolution / patch_size : 0; }
    int64_t conv1_kernel() const { return patch_size >> stem_channels.size(); }
    int64_t conv1_channels() const { return stem_channels.empty() ? 3 : stem_channels.back(); }
    int64_t vision_tokens() const { return grid() * grid() + 1; }  // class token + patches
    // One line for logs and provenance, e.g. for ViT-B/32 "vit patch32 224px width768 layers12 heads12 mlp3072;
    // text ctx77 vocab49408 width512 layers12 heads8 mlp2048; embed512"; a stem adds " stem48-96" after "vit",
    // and GELU adds "; gelu" at the end.
    std::string describe() const;
    bool operator==(const ClipConfig& o) const;
    bool operator!=(const ClipConfig& o) const { return !(*this == o); }
};

// The tensors a model of this configuration has, with OpenAI's names and shapes, in a fixed order.
struct TensorSpec {
    std::string name;
    std::vector<int64_t> shape;
};
std::vector<TensorSpec> clip_tensor_specs(const ClipConfig& config);

// Layer norm parameters are always kept in fp32 (see Clip::to).
struct LayerNorm {
    at::Tensor weight, bias;
};

// A pre-LN residual block: x += out_proj(attn(ln_1(x))); x += c_proj(act(c_fc(ln_2(x)))), act as configured.
struct ResidualBlock {
    LayerNorm ln_1;
    at::Tensor in_proj_weight, in_proj_bias;    // [3D, D], [3D]: q, k, v packed in that order
    at::Tensor out_proj_weight, out_proj_bias;  // [D, D], [D]
    LayerNorm ln_2;
    at::Tensor fc_weight, fc_bias;      // mlp.c_fc   [M, D], [M]
    at::Tensor proj_weight, proj_bias;  // mlp.c_proj [D, M], [D]
};

struct VisionTower {
    std::vector<at::Tensor> stem_weights, stem_biases;  // [C_i, C_i-1, 3, 3], [C_i]; empty without a stem
    at::Tensor conv1_weight;          // [W, C, k, k], no bias (C = 3 and k = P without a stem)
    at::Tensor class_embedding;       // [W]
    at::Tensor positional_embedding;  // [grid² + 1, W]
    LayerNorm ln_pre;
    std::vector<ResidualBlock> blocks;
    LayerNorm ln_post;
    at::Tensor proj;  // [W, E]
    int64_t heads = 0;
    int64_t patch_size = 0;  // k × 2^(stem layers)
    Activation activation = Activation::quick_gelu;
};

struct TextTower {
    at::Tensor token_embedding;       // [V, W]
    at::Tensor positional_embedding;  // [C, W]
    std::vector<ResidualBlock> blocks;
    LayerNorm ln_final;
    at::Tensor text_projection;  // [W, E]
    int64_t heads = 0;
    Activation activation = Activation::quick_gelu;
};

// Deep text prompts (MaPLe convention, docs/METHOD.md §3.1). layers[l], when defined, is [k, W] (shared by the
// batch) or [N, k, W] and replaces sequence positions 1..k (right after SOT):
//   l = 0  in the token embeddings, before the positional embedding is added (so layer-0 prompts get
//          positions 1..k, exactly as if their vectors had been fed as token embeddings);
//   l ≥ 1  in the hidden state entering block l (no positional embedding).
// Undefined entries and k = 0 change nothing; entries past the last block are an error. The causal mask is
// unchanged, and the EOT index stays the caller's: with layer-0 prompts inserted it is 1 + k + caption length.
struct TextPrompts {
    std::vector<at::Tensor> layers;
};

// Deep visual prompts. layers[0], [k, W] or [N, k, W], is appended after the patch tokens once the class and
// positional embeddings are in (the prompts get no positional embedding), before ln_pre, which normalises them
// with every other token. layers[l ≥ 1] replaces those last k tokens before block l, and must have the same k.
// The output is still ln_post(class token) @ proj: the prompts reach it only through attention.
struct VisualPrompts {
    std::vector<at::Tensor> layers;
};

struct Clip {
    ClipConfig config;
    VisionTower visual;
    TextTower text;
    at::Tensor logit_scale;   // scalar, fp32; logits use exp(logit_scale)
    std::string fingerprint;  // "clip-<16 hex>" when loaded by load_clip, else empty

    // The weights as tensors, detached (requires_grad false), in the dtype and device they came in.
    // Throws dcar::Error(model) naming a missing tensor.
    static Clip from_weights(const TensorMap& openai_names, const ClipConfig& config);

    // A copy on device with every weight cast once to dtype (kFloat, kHalf, kBFloat16), except layer norm
    // parameters and logit_scale, which stay fp32: layer norms are computed in fp32 whatever the activation
    // dtype (input cast up, result cast back), as OpenAI does for its fp16 model; attention softmax is also
    // computed in fp32 for fp16/bf16. Same device and dtype: the tensors are shared, not copied. Throws
    // dcar::Error(usage) for a dtype that is not floating point or has no kernels on that device (LibTorch 1.13
    // has no fp16 CPU kernels: use bf16 there), or a CUDA device when LibTorch was built without CUDA.
    Clip to(at::Device device, at::ScalarType dtype) const;

    at::Device device() const;
    at::ScalarType dtype() const;  // the activation dtype (conv1's)

    // Every weight under its OpenAI name (exactly the clip_tensor_specs set), as pointers into this Clip, so
    // that training code can mark them trainable and update them in place; weights() is the same as a map of
    // shared tensors (for saving and fingerprints).
    std::vector<std::pair<std::string, at::Tensor*>> named_tensors();
    TensorMap weights() const;
};

// Image features [N, E] in the model's dtype, on its device, not normalised. pixels: [N, 3, R, R] with R the
// model's image_resolution, any float dtype and device (cast to the model's). Throws dcar::Error(mismatch) for
// a wrong shape.
at::Tensor encode_image(const Clip& model, const at::Tensor& pixels, const VisualPrompts* prompts = nullptr);

// Token ids [N, L] (int64, L ≤ context_length) → token embeddings [N, L, W] in the model's dtype, for callers
// that edit embeddings (prompts, token re-weighting) before encode_text.
at::Tensor embed_tokens(const Clip& model, const at::Tensor& ids);

// Text features [N, E] from token embeddings [N, L, W] (L ≤ context_length) and the EOT position of every row,
// eot: int64 [N] with 0 ≤ eot < L (any device). The feature is ln_final(x[n, eot[n]]) @ text_projection.
// Because of the causal mask, positions after a row's EOT cannot change its feature: callers may trim the
// sequence to max(eot) + 1 columns for speed and get identical results. Throws dcar::Error(mismatch).
at::Tensor encode_text(const Clip& model, const at::Tensor& embeddings, const at::Tensor& eot,
                       const TextPrompts* prompts = nullptr);
// The same from ids: encode_text(model, embed_tokens(model, ids), eot, prompts).
at::Tensor encode_text_ids(const Clip& model, const at::Tensor& ids, const at::Tensor& eot,
                           const TextPrompts* prompts = nullptr);

// The first position of eot_id in each row of ids [N, L] → int64 [N] on ids' device (HF's rule; OpenAI's argmax
// agrees when EOT is the largest id). Throws dcar::Error(mismatch) naming a row without one.
at::Tensor find_eot(const at::Tensor& ids, int64_t eot_id);

// The towers' pieces on their own, for tests and for tools that hold only one tower. Tower builders read
// names under prefix ("visual." in a CLIP state dict) and throw dcar::Error(model) for a missing tensor.
ResidualBlock residual_block_from(const TensorMap& tensors, const std::string& prefix);
VisionTower vision_tower_from(const TensorMap& tensors, const std::string& prefix, int64_t heads,
                              Activation activation = Activation::quick_gelu);
TextTower text_tower_from(const TensorMap& tensors, const std::string& prefix, int64_t heads,
                          Activation activation = Activation::quick_gelu);
// x [N, L, D]; mask: undefined, or additive [L, L] in x's dtype (−inf above the diagonal for causal).
at::Tensor residual_block_forward(const ResidualBlock& block, const at::Tensor& x, int64_t heads,
                                  const at::Tensor& mask = {}, Activation activation = Activation::quick_gelu);
at::Tensor vision_forward(const VisionTower& tower, const at::Tensor& pixels, const VisualPrompts* prompts = nullptr);
at::Tensor text_forward(const TextTower& tower, const at::Tensor& embeddings, const at::Tensor& eot,
                        const TextPrompts* prompts = nullptr);

// Command-line spellings. Devices: "cpu", "cuda", "cuda:N"; dtypes: fp32/float32, fp16/float16/half,
// bf16/bfloat16. Throw dcar::Error(usage) for bad spellings or a CUDA device LibTorch cannot reach.
at::Device parse_device(const std::string& text);
at::ScalarType parse_dtype(const std::string& text);
std::string dtype_name(at::ScalarType dtype);  // "fp32", "fp16", "bf16"
// Whether CLIP's forward ops run in dtype on device (probed once per pair: fp16 on the CPU is missing in 1.13).
bool dtype_supported(at::Device device, at::ScalarType dtype);

}  // namespace dcar::model
