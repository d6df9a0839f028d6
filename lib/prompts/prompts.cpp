#include "prompts/prompts.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/TensorOperators.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/linear.h>
#include <ATen/ops/normal.h>
#include <ATen/ops/relu.h>

#include <cmath>

#include "core/error.hpp"
#include "core/text.hpp"
#include "model/tokenizer.hpp"
#include "prompts/encode.hpp"

namespace dcar::train {

namespace {

using model::shape_text;

at::Tensor normal(at::Generator& gen, std::vector<int64_t> shape, double std) {
    return at::normal(0.0, std, shape, gen);
}

// torch.nn.Linear's default initialisation: weight and bias uniform in ±1/√in.
at::Tensor linear_uniform(at::Generator& gen, std::vector<int64_t> shape, int64_t in_features) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(in_features));
    return at::empty(shape, at::kFloat).uniform_(-bound, bound, gen);
}


at::Tensor take(const model::TensorMap& tensors, const std::string& name, std::vector<int64_t> shape,
                const std::string& place) {
    const auto it = tensors.find(name);
    if (it == tensors.end()) throw_error(ErrorCode::model, place, "has no tensor " + name);
    if (it->second.sizes() != at::IntArrayRef(shape))
        throw_error(ErrorCode::model, place, "tensor " + name + " has shape " + shape_text(it->second.sizes()) +
                                                 ", this model needs " + shape_text(shape));
    return it->second.to(at::kFloat).contiguous().clone();
}

void move(std::vector<at::Tensor>& list, at::Device device) {
    for (auto& t : list) t = t.to(device).detach().requires_grad_(t.requires_grad());
}

}  // namespace

PromptSet PromptSet::create(const model::Clip& model, const PromptConfig& config, const model::Tokenizer* tokenizer,
                            uint64_t seed) {
    if (config.length < 1 || config.depth < 1) throw Error(ErrorCode::usage, "prompt length and depth must be at least 1");
    if (config.depth > model.config.text_layers && config.text)
        throw Error(ErrorCode::usage, "prompt depth " + std::to_string(config.depth) + " exceeds the text tower's " +
                                          std::to_string(model.config.text_layers) + " layers");
    if (config.depth > model.config.vision_layers && config.visual != VisualMode::none)
        throw Error(ErrorCode::usage, "prompt depth " + std::to_string(config.depth) + " exceeds the image tower's " +
                                          std::to_string(model.config.vision_layers) + " layers");
    if (config.visual == VisualMode::coupled && !config.text)
        throw Error(ErrorCode::usage, "coupled visual prompts are generated from text prompts: enable text prompts or use independent ones");
    if (!config.text && config.visual == VisualMode::none) throw Error(ErrorCode::usage, "no prompts to learn");
    at::Generator gen = at::detail::createCPUGenerator(seed);
    const int64_t k = config.length, wt = model.config.text_width, wv = model.config.vision_width;
    PromptSet p;
    p.config = config;
    if (config.text) {
        for (int64_t l = 0; l < config.depth; ++l) p.text.push_back(normal(gen, {k, wt}, 0.02));
        if (!config.init.empty()) {
            if (!tokenizer) throw Error(ErrorCode::internal, "prompt init text needs a tokenizer");
            const auto ids = tokenizer->encode(config.init);
            const int64_t n = std::min<int64_t>(k, static_cast<int64_t>(ids.size()));
            const at::Tensor table = model.text.token_embedding.to(at::kCPU, at::kFloat);
            for (int64_t i = 0; i < n; ++i) p.text[0][i].copy_(table[ids[static_cast<size_t>(i)]]);
        }
    }
    if (config.visual == VisualMode::coupled) {
        for (int64_t l = 0; l < config.depth; ++l) {
            p.couple_weight.push_back(linear_uniform(gen, {wv, wt}, wt));
            p.couple_bias.push_back(linear_uniform(gen, {wv}, wt));
        }
    } else if (config.visual == VisualMode::independent) {
        const double xavier = std::sqrt(6.0 / static_cast<double>(k + wv));
        for (int64_t l = 0; l < config.depth; ++l)
            p.visual.push_back(config.visual_xavier ? at::empty({k, wv}, at::kFloat).uniform_(-xavier, xavier, gen)
                                                    : normal(gen, {k, wv}, 0.02));
    }
    for (auto& [name, t] : p.named_tensors()) t->requires_grad_(true);
    return p;
}

PromptSet PromptSet::from_tensors(const model::TensorMap& tensors, const PromptConfig& config, const model::Clip& model,
                                  const std::string& place) {
    const int64_t k = config.length, wt = model.config.text_width, wv = model.config.vision_width;
    PromptSet p;
    p.config = config;
    for (int64_t l = 0; l < config.depth; ++l) {
        const std::string i = std::to_string(l);
        if (config.text) p.text.push_back(take(tensors, "prompt.text." + i, {k, wt}, place));
        if (config.visual == VisualMode::coupled) {
            p.couple_weight.push_back(take(tensors, "prompt.couple." + i + ".weight", {wv, wt}, place));
            p.couple_bias.push_back(take(tensors, "prompt.couple." + i + ".bias", {wv}, place));
        } else if (config.visual == VisualMode::independent) {
            p.visual.push_back(take(tensors, "prompt.visual." + i, {k, wv}, place));
        }
    }
    for (auto& [name, t] : p.named_tensors()) t->requires_grad_(true);
    return p;
}

model::TextPrompts PromptSet::text_prompts() const { return {text}; }

model::VisualPrompts PromptSet::visual_prompts() const {
    model::VisualPrompts out;
    if (config.visual == VisualMode::coupled)
        for (size_t l = 0; l < couple_weight.size(); ++l)
            out.layers.push_back(at::linear(text[l], couple_weight[l], couple_bias[l]));
    else if (config.visual == VisualMode::independent)
        out.layers = visual;
    return out;
}

std::vector<std::pair<std::string, at::Tensor*>> PromptSet::named_tensors() {
    std::vector<std::pair<std::string, at::Tensor*>> out;
    for (size_t l = 0; l < text.size(); ++l) out.push_back({"prompt.text." + std::to_string(l), &text[l]});
    for (size_t l = 0; l < couple_weight.size(); ++l) {
        out.push_back({"prompt.couple." + std::to_string(l) + ".weight", &couple_weight[l]});
        out.push_back({"prompt.couple." + std::to_string(l) + ".bias", &couple_bias[l]});
    }
    for (size_t l = 0; l < visual.size(); ++l) out.push_back({"prompt.visual." + std::to_string(l), &visual[l]});
    return out;
}

model::TensorMap PromptSet::tensors() const {
    model::TensorMap out;
    for (const auto& [name, t] : const_cast<PromptSet*>(this)->named_tensors()) out[name] = t->detach();
    return out;
}

void PromptSet::to(at::Device device) {
    move(text, device);
    move(couple_weight, device);
    move(couple_bias, device);
    move(visual, device);
}

Caa Caa::create(int64_t embed_dim, const CaaConfig& config, uint64_t seed) {
    Caa c;
    c.config = config;
    if (config.identity) return c;
    if (config.hidden < 1 || !(config.ratio >= 0 && config.ratio <= 1))
        throw Error(ErrorCode::usage, "CAA needs a hidden width of at least 1 and a ratio in [0, 1]");
    at::Generator gen = at::detail::createCPUGenerator(seed);
    c.down = linear_uniform(gen, {config.hidden, embed_dim}, embed_dim).requires_grad_(true);
    c.up = linear_uniform(gen, {embed_dim, config.hidden}, config.hidden).requires_grad_(true);
    return c;
}

Caa Caa::from_tensors(const model::TensorMap& tensors, const CaaConfig& config, int64_t embed_dim, const std::string& place) {
    Caa c;
    c.config = config;
    if (config.identity) return c;
    c.down = take(tensors, "caa.down", {config.hidden, embed_dim}, place).requires_grad_(true);
    c.up = take(tensors, "caa.up", {embed_dim, config.hidden}, place).requires_grad_(true);
    return c;
}

at::Tensor Caa::forward(const at::Tensor& h) const {
    at::Tensor x = h.to(at::kFloat);
    if (!config.identity) {
        const at::Tensor adapted = at::relu(at::linear(at::relu(at::linear(x, down)), up));
        x = config.ratio * adapted + (1.0 - config.ratio) * x;
    }
    return normalized(x);
}

std::vector<std::pair<std::string, at::Tensor*>> Caa::named_tensors() {
    if (config.identity) return {};
    return {{"caa.down", &down}, {"caa.up", &up}};
}

model::TensorMap Caa::tensors() const {
    model::TensorMap out;
    for (const auto& [name, t] : const_cast<Caa*>(this)->named_tensors()) out[name] = t->detach();
    return out;
}

void Caa::to(at::Device device) {
    if (config.identity) return;
    down = down.to(device).detach().requires_grad_(true);
    up = up.to(device).detach().requires_grad_(true);
}

}  // namespace dcar::train
