#include "prompts/inference.hpp"

#include "core/error.hpp"
#include "model/safetensors.hpp"
#include "prompts/checkpoint.hpp"

namespace dcar::train {

InferencePrompts load_inference_prompts(const std::string& path, const model::Clip& model) {
    const CheckpointInfo info = read_checkpoint(path);
    if (!info.has_prompts)
        throw_error(ErrorCode::usage, path, "holds a whole model (--method " + info.method + "), not prompts: give its clip.safetensors as --model");
    if (info.fingerprint != model.fingerprint)
        throw_error(ErrorCode::mismatch, path, "was trained on backbone " + info.fingerprint + ", this model is " +
                                                   (model.fingerprint.empty() ? std::string("unknown") : model.fingerprint));
    const auto tensors = model::read_safetensors(info.state_file);
    InferencePrompts out{PromptSet::from_tensors(tensors, info.prompts, model, info.state_file), std::nullopt, info.dtr, path};
    for (auto& [name, t] : out.prompts.named_tensors()) t->requires_grad_(false);
    out.prompts.to(model.device());
    if (info.dtr_infer == "table") out.table = WeightTable::from_tensors(tensors, info.state_file);
    return out;
}

}  // namespace dcar::train
