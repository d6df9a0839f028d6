#include "train/optimizer.hpp"

#include <ATen/TensorOperators.h>
#include <ATen/ops/full.h>
#include <ATen/ops/zeros_like.h>
#include <c10/core/GradMode.h>

#include <cmath>

#include "core/enum_words.hpp"
#include "core/error.hpp"

namespace dcar::train {

namespace {
const EnumWord<Warmup> warmup_words[] = {{Warmup::constant, "constant"}, {Warmup::linear, "linear"}};
}  // namespace

Warmup parse_warmup(const std::string& text) { return parse_enum(text, warmup_words, "the warm-up is"); }
const char* warmup_name(Warmup warmup) { return enum_word(warmup, warmup_words); }

double scheduled_lr(int64_t step, int64_t total_steps, int64_t warmup_steps, double lr, double warmup_lr, Warmup warmup) {
    if (step < warmup_steps)
        return warmup == Warmup::constant ? warmup_lr : lr * static_cast<double>(step + 1) / static_cast<double>(warmup_steps);
    const int64_t span = std::max<int64_t>(1, total_steps - warmup_steps);
    const double progress = std::min(1.0, static_cast<double>(step - warmup_steps) / static_cast<double>(span));
    return 0.5 * lr * (1.0 + std::cos(M_PI * progress));
}

Optimizer::Optimizer(Parameters parameters, const OptimizerConfig& config) : config_(config) {
    if (config.kind != "sgd" && config.kind != "adamw")
        throw Error(ErrorCode::usage, "the optimiser is sgd or adamw, not '" + config.kind + "'");
    for (auto& [name, tensor] : parameters) {
        Slot slot{name, tensor, {}, {}, true};
        if (config.kind == "adamw") slot.decay = tensor->dim() >= 2;
        slots_.push_back(std::move(slot));
    }
}

void Optimizer::zero_grad() {
    for (auto& slot : slots_) {
        at::Tensor grad = slot.parameter->mutable_grad();
        if (grad.defined()) slot.parameter->mutable_grad() = at::Tensor();
    }
}

void Optimizer::step(double lr) {
    at::NoGradGuard no_grad;
    ++steps_;
    for (auto& slot : slots_) {
        at::Tensor& p = *slot.parameter;
        const at::Tensor grad = p.grad();
        if (!grad.defined()) continue;
        if (config_.kind == "sgd") {
            at::Tensor d = grad;
            if (config_.weight_decay != 0) d = d + config_.weight_decay * p;
            if (config_.momentum != 0) {
                if (!slot.first.defined()) slot.first = d.clone();
                else slot.first.mul_(config_.momentum).add_(d);
                d = slot.first;
            }
            p.sub_(lr * d);
        } else {
            if (slot.decay && config_.weight_decay != 0) p.mul_(1.0 - lr * config_.weight_decay);
            if (!slot.first.defined()) {
                slot.first = at::zeros_like(p);
                slot.second = at::zeros_like(p);
            }
            slot.first.mul_(config_.beta1).add_(grad, 1.0 - config_.beta1);
            slot.second.mul_(config_.beta2).addcmul_(grad, grad, 1.0 - config_.beta2);
            const double correction1 = 1.0 - std::pow(config_.beta1, static_cast<double>(steps_));
            const double correction2 = 1.0 - std::pow(config_.beta2, static_cast<double>(steps_));
            const at::Tensor denominator = (slot.second / correction2).sqrt_().add_(config_.eps);
            p.addcdiv_(slot.first, denominator, -lr / correction1);
        }
    }
}

model::TensorMap Optimizer::state() const {
    model::TensorMap out;
    out["optim.steps"] = at::full({1}, steps_, at::kLong);
    for (const auto& slot : slots_) {
        if (slot.first.defined()) out["optim." + slot.name + ".first"] = slot.first.detach().cpu();
        if (slot.second.defined()) out["optim." + slot.name + ".second"] = slot.second.detach().cpu();
    }
    return out;
}

void Optimizer::load_state(const model::TensorMap& tensors, const std::string& place) {
    const auto steps = tensors.find("optim.steps");
    if (steps == tensors.end()) throw_error(ErrorCode::format, place, "no optimiser state (optim.steps)");
    steps_ = steps->second.to(at::kLong).reshape({-1})[0].item<int64_t>();
    for (auto& slot : slots_) {
        const auto first = tensors.find("optim." + slot.name + ".first");
        const auto second = tensors.find("optim." + slot.name + ".second");
        auto load = [&](const model::TensorMap::const_iterator& it, at::Tensor& into) {
            if (it == tensors.end()) return;
            if (it->second.sizes() != slot.parameter->sizes())
                throw_error(ErrorCode::format, place, "optimiser state for " + slot.name + " has the wrong shape");
            into = it->second.to(slot.parameter->device(), at::kFloat).clone();
        };
        load(first, slot.first);
        load(second, slot.second);
    }
}

}  // namespace dcar::train
