// What a CLIP checkpoint's tensors cannot say about the model: the MLP activation (OpenAI's QuickGELU or the
// exact GELU that open_clip's LAION models use) and the number of attention heads (OpenAI's models use a
// head width of 64, ViT-H/g/bigG use 80, 88 and 104). Reading these wrong gives wrong embeddings without any
// error, so dcar takes them from a source that states them and refuses a checkpoint that has none:
//   --arch NAME or --arch key=value,...   (parse_architecture; presets as OpenAI and open_clip name them)
//   OpenAI's TorchScript archives          (always QuickGELU, head width 64)
//   dcar's own safetensors files           ("dcar.architecture" in __metadata__, the --arch spelling)
//   a config beside the weights            (open_clip's open_clip_config.json or model config, or Hugging
//                                           Face's config.json)
// Torch-free, so that the config readers build in the fuzz build.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dcar::model {

enum class Activation { quick_gelu, gelu };
const char* activation_name(Activation activation);  // "quick-gelu", "gelu"

// Sizes are 0 where the source does not state them; stated sizes are checked against the weights.
struct Architecture {
    std::string source;  // for messages: "--arch ViT-B-32", "open_clip config DIR/open_clip_config.json", ...
    std::optional<Activation> activation;
    int64_t vision_heads = 0, vision_head_width = 0;  // either fixes the heads (heads win when both are set)
    int64_t text_heads = 0, text_head_width = 0;
    int64_t embed_dim = 0, image_resolution = 0, patch_size = 0, vision_width = 0, vision_layers = 0,
            vision_mlp_width = 0, context_length = 0, vocab_size = 0, text_width = 0, text_layers = 0,
            text_mlp_width = 0;

    // Heads of a tower of this width: the stated count, else width / head width, else 0 (unknown).
    int64_t heads_for_vision(int64_t width) const;
    int64_t heads_for_text(int64_t width) const;
    bool complete_for(int64_t vision_width, int64_t text_width) const {
        return activation && heads_for_vision(vision_width) > 0 && heads_for_text(text_width) > 0;
    }
};

// "ViT-B-32" (a preset, below), or comma-separated key=value pairs, or a preset followed by pairs that
// override it: activation=gelu|quick-gelu, head-width=N (both towers), vision-heads=N, text-heads=N,
// vision-head-width=N, text-head-width=N. Two generic presets fix only what the weights cannot say:
// "openai" (QuickGELU, head width 64) and "open_clip" (GELU, head width 64). Throws dcar::Error(usage),
// listing the presets for an unknown name.
Architecture parse_architecture(const std::string& spec);
// The presets' names, OpenAI's and open_clip's ViTs ("ViT-B-32", "ViT-B-32-quickgelu", ..., "ViT-bigG-14"),
// then "openai" and "open_clip". OpenAI's own spellings ("ViT-B/32", "ViT-L/14@336px") are accepted too.
std::vector<std::string> architecture_presets();
// The spelling dcar writes into its safetensors files, which parse_architecture reads back.
std::string architecture_spec(Activation activation, int64_t vision_heads, int64_t text_heads);

// open_clip's model config, either the model's JSON ({"embed_dim", "vision_cfg", "text_cfg", "quick_gelu"})
// or the hub's open_clip_config.json ({"model_cfg": that, "preprocess_cfg": ...}); Hugging Face's CLIPModel
// config.json ({"vision_config", "text_config", "projection_dim"}). `place` names the file in errors. Throw
// dcar::Error(format) for text that is not such a config, (model) for a model dcar cannot run (a timm or HF
// text tower, layer scale, attentional pooling, another layer-norm epsilon, ...), naming the key.
Architecture open_clip_architecture(const std::string& json_text, const std::string& place);
Architecture hf_architecture(const std::string& json_text, const std::string& place);
// How a tool asks for a model to be read (--arch, --vision-heads, --text-heads; cli/options.hpp declares
// them once for every model tool). `arch` wins; without it the activation and heads come from the file
// (OpenAI's TorchScript, dcar's safetensors metadata) or from a config beside it, and a checkpoint with none of
// these is refused. The heads, when set, override every source (tiny test models break every naming rule).
struct LoadOptions {
    std::string arch;  // a preset or key=value list (parse_architecture); empty: from the file
    int64_t vision_heads = 0;
    int64_t text_heads = 0;
};

// How a model tool (dcar-embed, dcar-tune, dcar-weigh) runs its model: the part of each tool's config that
// the three share, filled from one declaration of the options (cli::model_options).
struct RuntimeOptions {
    std::string device = "auto";       // cpu | cuda[:N] | auto
    std::string dtype = "fp32";        // fp32 | bf16 | fp16; dcar-tune also auto (bf16 on CUDA, fp32 on the CPU)
    int batch = 32;                    // items per model call (dcar-tune: per step)
    int decode_threads = 1;
    std::string vocab;                 // CLIP BPE vocabulary ("" = $DCAR_VOCAB, the build tree, the installed copy)
    LoadOptions model_options;         // --arch, --vision-heads, --text-heads
};

// Either, told apart by its keys.
Architecture config_architecture(const std::string& json_text, const std::string& place);

}  // namespace dcar::model
