// What dcar-embed needs to encode with the learned prompts of a dcar-tune checkpoint.
#pragma once
#include <optional>
#include <string>

#include "model/clip.hpp"
#include "prompts/dtr.hpp"
#include "prompts/prompts.hpp"

namespace dcar::train {

struct InferencePrompts {
    PromptSet prompts;
    std::optional<WeightTable> table;  // when the checkpoint's dtr_infer is "table"
    DtrConfig dtr;
    std::string source;
};
// Loads the prompts of a checkpoint (its directory or checkpoint.json) for `model`, refusing
// (dcar::Error(mismatch)) a checkpoint trained on a different backbone and one without prompts (`full`: use its
// clip.safetensors as the model instead).
InferencePrompts load_inference_prompts(const std::string& path, const model::Clip& model);

}  // namespace dcar::train
