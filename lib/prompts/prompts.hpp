// The trainable parts of prompt learning (docs/METHOD.md §3) and the CAA head (§6), as plain fp32 tensors that
// the optimiser updates; every CLIP weight stays outside, frozen.
//   text prompts      v^(l), l = 0..depth-1, each [k, text width]: layer 0 takes positions 1..k after SOT,
//                     deeper layers replace those positions before block l (model/clip.hpp, TextPrompts);
//   visual prompts    coupled:     e^(l) = F_l(v^(l)), one Linear(text width → vision width, bias) per layer
//                                  (MaPLe's vision-language coupling, the DCAR default);
//                     independent: free [k, vision width] tensors per layer (VPT / MaPLe's IVLP);
//                     none:        text prompts only (CoOp).
//   CAA               r · ReLU(up · ReLU(down · h)) + (1 − r) · h on text features, down [hidden, E], up [E,
//                     hidden], no biases; used only in the category loss, never at inference. Or identity.
// Tensor names (checkpoints, optimiser state): prompt.text.<l>, prompt.couple.<l>.weight|bias,
// prompt.visual.<l>, caa.down, caa.up.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "model/clip.hpp"
#include "prompts/settings.hpp"

namespace dcar::model {
class Tokenizer;
}

namespace dcar::train {

// The learnable tensors. Created on the CPU in fp32 (model-independent random draws, so a seed gives the same
// prompts on any device), then moved with to().
struct PromptSet {
    PromptConfig config;
    std::vector<at::Tensor> text;                  // depth × [k, Wt]; empty without text prompts
    std::vector<at::Tensor> couple_weight, couple_bias;  // depth × [Wv, Wt], [Wv] (coupled)
    std::vector<at::Tensor> visual;                // depth × [k, Wv] (independent)

    // New prompts for `model`. Text layer 0 is initialised from config.init's first k tokens (remaining slots
    // and deeper layers: N(0, 0.02²)); coupling layers as torch's nn.Linear (uniform ±1/√Wt); independent
    // visual prompts N(0, 0.02²) (MaPLe's IVLP) or Xavier-uniform, ±√(6 / (k + Wv)) (VPT). The tokenizer is needed only for a non-empty init.
    static PromptSet create(const model::Clip& model, const PromptConfig& config, const model::Tokenizer* tokenizer,
                            uint64_t seed);
    // From saved tensors (names above); throws dcar::Error(model) when one is missing or mis-shaped for model.
    // `place` (the state file) names the file in errors: a missing or mis-shaped tensor is dcar::Error(model).
    static PromptSet from_tensors(const model::TensorMap& tensors, const PromptConfig& config, const model::Clip& model,
                                  const std::string& place);

    model::TextPrompts text_prompts() const;      // empty when there are no text prompts
    model::VisualPrompts visual_prompts() const;  // computed through the coupling when coupled
    bool has_visual() const { return config.visual != VisualMode::none && config.depth > 0; }

    std::vector<std::pair<std::string, at::Tensor*>> named_tensors();
    model::TensorMap tensors() const;
    void to(at::Device device);
};

struct Caa {
    CaaConfig config;
    at::Tensor down, up;  // [hidden, E], [E, hidden]; undefined when identity

    static Caa create(int64_t embed_dim, const CaaConfig& config, uint64_t seed);  // nn.Linear's uniform init
    static Caa from_tensors(const model::TensorMap& tensors, const CaaConfig& config, int64_t embed_dim,
                            const std::string& place);
    // h [N, E] (any float dtype) → L2-normalised [N, E] in fp32.
    at::Tensor forward(const at::Tensor& h) const;

    std::vector<std::pair<std::string, at::Tensor*>> named_tensors();
    model::TensorMap tensors() const;
    void to(at::Device device);
};

}  // namespace dcar::train
