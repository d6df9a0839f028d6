// The optimisers dcar-tune uses, written on plain tensors (no torch::optim, which would pull LibTorch's C++
// API headers into the build), with PyTorch's update rules so runs can be compared with Python references:
//   sgd    torch.optim.SGD: d = g + wd·p; buf = d on the first step, then buf = μ·buf + d; p −= lr·buf
//          (prompt methods; dassl's defaults μ = 0.9, wd = 5e-4, applied to every parameter);
//   adamw  torch.optim.AdamW: p −= lr·wd·p (matrices only, as CLIP does: no decay on gains, biases,
//          embeddings' 1-D tensors or the logit scale); m, v with bias correction; p −= lr·m̂/(√v̂ + ε)
//          (full training).
// The schedule: warm-up for the first warm-up steps, then a cosine from lr down to 0 over the remaining steps.
// Constant warm-up (prompt methods) holds warmup_lr (dassl's ConstantWarmupScheduler + CosineAnnealingLR, per
// step rather than per epoch); linear warm-up (full training) rises from lr/warmup_steps to lr, as CLIP's
// training does: without it a transformer trained from scratch at these rates collapses to constant features.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "model/clip.hpp"

namespace dcar::train {

struct OptimizerConfig {
    std::string kind = "sgd";  // sgd | adamw
    double momentum = 0.9;
    double weight_decay = 5e-4;
    double beta1 = 0.9, beta2 = 0.98, eps = 1e-6;
};

enum class Warmup { constant, linear };
Warmup parse_warmup(const std::string& text);  // "constant" | "linear"; Error(usage)
const char* warmup_name(Warmup warmup);
double scheduled_lr(int64_t step, int64_t total_steps, int64_t warmup_steps, double lr, double warmup_lr,
                    Warmup warmup = Warmup::constant);

class Optimizer {
public:
    using Parameters = std::vector<std::pair<std::string, at::Tensor*>>;
    Optimizer(Parameters parameters, const OptimizerConfig& config);

    void zero_grad();
    void step(double lr);
    int64_t steps() const { return steps_; }

    // State as tensors named "optim.<parameter>.<buffer>" plus "optim.steps", for checkpoints.
    model::TensorMap state() const;
    void load_state(const model::TensorMap& tensors, const std::string& place);

private:
    struct Slot {
        std::string name;
        at::Tensor* parameter;
        at::Tensor first, second;  // sgd: momentum buffer; adamw: m and v
        bool decay = true;
    };
    std::vector<Slot> slots_;
    OptimizerConfig config_;
    int64_t steps_ = 0;
};

}  // namespace dcar::train
