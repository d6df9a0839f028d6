#include "prompts/dtr.hpp"

#include <ATen/TensorOperators.h>
#include <ATen/ops/abs.h>
#include <ATen/ops/bmm.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/clamp.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/full.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/ones_like.h>
#include <ATen/ops/where.h>
#include <ATen/ops/zeros.h>
#include <c10/core/GradMode.h>

#include <algorithm>
#include <cstdio>

#include "core/enum_words.hpp"
#include "core/error.hpp"
#include "core/random.hpp"
#include "model/safetensors.hpp"
#include "model/tokenizer.hpp"

namespace dcar::train {

namespace {
const EnumWord<Blank> blank_words[] = {{Blank::mean, "mean"}, {Blank::white, "white"}, {Blank::black, "black"}, {Blank::noise, "noise"}};
}  // namespace

Blank parse_blank(const std::string& text) { return parse_enum(text, blank_words, "the blank image is"); }
const char* blank_name(Blank blank) { return enum_word(blank, blank_words); }

at::Tensor blank_image(const model::Clip& model, Blank blank) {
    const int64_t r = model.config.image_resolution;
    at::Tensor image = at::zeros({1, 3, r, r}, at::kFloat);
    const double mean[3] = {0.48145466, 0.4578275, 0.40821073};
    const double std[3] = {0.26862954, 0.26130258, 0.27577711};
    if (blank == Blank::white || blank == Blank::black) {
        const double value = blank == Blank::white ? 1.0 : 0.0;
        for (int c = 0; c < 3; ++c) image[0][c].fill_((value - mean[c]) / std[c]);
    } else if (blank == Blank::noise) {
        // Every channel of every pixel uniform in [0, 1], from a fixed generator: no shape, no colour cast.
        Rng rng(stream_seed(0x626c616e6b, 0));  // "blank"
        float* p = image.data_ptr<float>();
        for (int c = 0; c < 3; ++c)
            for (int64_t i = 0; i < r * r; ++i) *p++ = static_cast<float>((rng.unit() - mean[c]) / std[c]);
    }
    return image.to(model.device());
}

void TokenFeatures::add(const model::Clip& model, const std::vector<int32_t>& ids, int64_t batch) {
    if (slot_.empty()) {
        slot_.assign(static_cast<size_t>(model.config.vocab_size), 0);
        rows_ = at::zeros({1, model.config.embed_dim}, at::kFloat);
    }
    std::vector<int32_t> missing;
    for (const int32_t id : ids) {
        if (id < 0 || id >= static_cast<int32_t>(slot_.size()))
            throw Error(ErrorCode::mismatch, "token id " + std::to_string(id) + " is outside the model's vocabulary");
        if (slot_[static_cast<size_t>(id)] == 0 && std::find(missing.begin(), missing.end(), id) == missing.end())
            missing.push_back(id);
    }
    if (missing.empty()) return;
    std::sort(missing.begin(), missing.end());
    at::NoGradGuard no_grad;
    std::vector<at::Tensor> parts{rows_};
    for (size_t start = 0; start < missing.size(); start += static_cast<size_t>(batch)) {
        const size_t end = std::min(missing.size(), start + static_cast<size_t>(batch));
        const int64_t n = static_cast<int64_t>(end - start);
        at::Tensor tokens = at::zeros({n, 3}, at::kLong);
        for (int64_t i = 0; i < n; ++i) {
            tokens[i][0] = model::Tokenizer::sot;
            tokens[i][1] = missing[start + static_cast<size_t>(i)];
            tokens[i][2] = model::Tokenizer::eot;
        }
        const at::Tensor eot = at::full({n}, 2, at::kLong);
        parts.push_back(normalized(model::encode_text_ids(model, tokens.to(model.device()), eot)).cpu());
    }
    const int64_t first = rows_.size(0);
    rows_ = at::cat(parts, 0);
    for (size_t i = 0; i < missing.size(); ++i) slot_[static_cast<size_t>(missing[i])] = static_cast<int32_t>(first + static_cast<int64_t>(i));
    rows_on_device_ = at::Tensor();
}

at::Tensor TokenFeatures::lookup(const at::Tensor& ids, const at::Tensor& mask, at::Device device) const {
    const at::Tensor cpu_ids = ids.to(at::kCPU, at::kLong).contiguous();
    const at::Tensor cpu_mask = mask.to(at::kCPU, at::kBool).contiguous();
    at::Tensor slots = at::zeros(cpu_ids.sizes(), at::kLong);
    const int64_t* id = cpu_ids.data_ptr<int64_t>();
    const bool* m = cpu_mask.data_ptr<bool>();
    int64_t* s = slots.data_ptr<int64_t>();
    for (int64_t i = 0; i < cpu_ids.numel(); ++i) {
        if (!m[i]) continue;
        const int64_t v = id[i];
        const int32_t row = v >= 0 && v < static_cast<int64_t>(slot_.size()) ? slot_[static_cast<size_t>(v)] : 0;
        if (row == 0) throw Error(ErrorCode::internal, "no single-token feature for id " + std::to_string(v));
        s[i] = row;
    }
    auto& cached = const_cast<at::Tensor&>(rows_on_device_);
    if (!cached.defined() || cached.device() != device) cached = rows_.to(device);
    return cached.index_select(0, slots.view({-1}).to(device)).view({cpu_ids.size(0), cpu_ids.size(1), -1});
}

at::Tensor pair_weights(const TokenFeatures& features, const TextBatch& batch, const at::Tensor& anchor,
                        const at::Tensor& blank, double scale, const DtrConfig& config) {
    at::NoGradGuard no_grad;
    const at::Device device = anchor.device();
    const at::Tensor u = features.lookup(batch.ids, batch.caption, device);           // [N, W, E]
    const at::Tensor difference = (blank.to(at::kFloat).view({1, -1}) - anchor.to(at::kFloat)).unsqueeze(-1);  // [N, E, 1]
    const at::Tensor delta = at::abs(at::bmm(u, difference).squeeze(-1)) * scale;    // [N, W]
    return weights_from_scores(delta, batch.caption.to(device), config);
}

at::Tensor weights_from_scores(const at::Tensor& delta, const at::Tensor& mask, const DtrConfig& config) {
    const at::Tensor maskf = mask.to(at::kFloat);
    const at::Tensor count = maskf.sum(1, true).clamp_min(1.0);
    const at::Tensor mean = (delta * maskf).sum(1, true) / count;
    at::Tensor w = at::clamp(delta / mean.clamp_min(1e-30), config.w_min, config.w_max);
    w = at::where(mean > 0, w, at::ones_like(w));
    return at::where(mask, w, at::ones_like(w));
}

WeightTable::WeightTable(int64_t vocab_size)
    : weight_(static_cast<size_t>(vocab_size), 1.0f), count_(static_cast<size_t>(vocab_size), 0) {}

void WeightTable::update(const TextBatch& batch, const at::Tensor& weights, double momentum, const at::Tensor& rows) {
    const at::Tensor w = weights.detach().to(at::kCPU, at::kFloat).contiguous();
    const at::Tensor row_mask = rows.defined() ? rows.to(at::kCPU, at::kBool).contiguous() : at::Tensor();
    const int64_t width = batch.ids.size(1);
    const at::Tensor ids = batch.ids.contiguous();
    const at::Tensor mask = batch.caption.contiguous();
    const int64_t* id = ids.data_ptr<int64_t>();
    const bool* m = mask.data_ptr<bool>();
    const float* v = w.data_ptr<float>();
    const float keep = static_cast<float>(momentum), take = static_cast<float>(1.0 - momentum);
    for (int64_t i = 0; i < ids.numel(); ++i) {
        if (!m[i] || (row_mask.defined() && !row_mask.data_ptr<bool>()[i / width])) continue;
        const auto slot = static_cast<size_t>(id[i]);
        if (slot >= weight_.size()) throw Error(ErrorCode::mismatch, "token id " + std::to_string(id[i]) + " outside the weight table");
        weight_[slot] = keep * weight_[slot] + take * v[i];
        ++count_[slot];
    }
}

std::vector<float> WeightTable::weights_for(const std::vector<int32_t>& ids, const DtrConfig& config) const {
    std::vector<float> out(ids.size(), 1.0f);
    double sum = 0;
    for (const int32_t id : ids) sum += weight(id);
    const double mean = ids.empty() ? 0 : sum / static_cast<double>(ids.size());
    if (mean <= 0) return out;
    for (size_t j = 0; j < ids.size(); ++j)
        out[j] = static_cast<float>(std::clamp(weight(ids[j]) / mean, config.w_min, config.w_max));
    return out;
}

at::Tensor WeightTable::weights_for(const TextBatch& batch, const DtrConfig& config) const {
    at::Tensor out = at::ones(batch.ids.sizes(), at::kFloat);
    const int64_t n = batch.ids.size(0), width = batch.ids.size(1), k = batch.k;
    const int64_t* ids = batch.ids.data_ptr<int64_t>();
    const int64_t* eot = batch.eot.data_ptr<int64_t>();
    float* w = out.data_ptr<float>();
    for (int64_t i = 0; i < n; ++i) {
        std::vector<int32_t> caption;
        for (int64_t j = 1 + k; j < eot[i]; ++j) caption.push_back(static_cast<int32_t>(ids[i * width + j]));
        const auto row = weights_for(caption, config);
        for (size_t j = 0; j < row.size(); ++j) w[i * width + 1 + k + static_cast<int64_t>(j)] = row[j];
    }
    return out;
}

int64_t WeightTable::updated_ids() const {
    return std::count_if(count_.begin(), count_.end(), [](int64_t c) { return c > 0; });
}

model::TensorMap WeightTable::tensors() const {
    const auto v = static_cast<int64_t>(weight_.size());
    at::Tensor weight = at::empty({v}, at::kFloat), count = at::empty({v}, at::kLong);
    std::copy(weight_.begin(), weight_.end(), weight.data_ptr<float>());
    std::copy(count_.begin(), count_.end(), count.data_ptr<int64_t>());
    return {{"dtr.weight", weight}, {"dtr.count", count}};
}

WeightTable WeightTable::from_tensors(const model::TensorMap& tensors, const std::string& place) {
    const auto w = tensors.find("dtr.weight");
    const auto c = tensors.find("dtr.count");
    if (w == tensors.end() || c == tensors.end() || w->second.dim() != 1 || c->second.sizes() != w->second.sizes())
        throw_error(ErrorCode::format, place, "no token weight table (dtr.weight and dtr.count of one length)");
    WeightTable table(w->second.size(0));
    const at::Tensor weight = w->second.to(at::kFloat).contiguous(), count = c->second.to(at::kLong).contiguous();
    std::copy(weight.data_ptr<float>(), weight.data_ptr<float>() + weight.numel(), table.weight_.begin());
    std::copy(count.data_ptr<int64_t>(), count.data_ptr<int64_t>() + count.numel(), table.count_.begin());
    return table;
}

namespace {
std::string exact(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return buf;
}
}  // namespace

void save_weight_table(const std::string& path, const WeightTable& table, const std::string& model_fingerprint,
                       const DtrConfig& config) {
    model::write_safetensors(path, table.tensors(),
                             {{"format", "dcar-token-weights"},
                              {"model", model_fingerprint},
                              {"w_min", exact(config.w_min)},
                              {"w_max", exact(config.w_max)},
                              {"momentum", exact(config.momentum)}});
}

WeightTable load_weight_table(const std::string& path, std::string* model_fingerprint, DtrConfig* config) {
    model::SafetensorsMetadata metadata;
    const auto tensors = model::read_safetensors(path, &metadata);
    if (metadata["format"] != "dcar-token-weights")
        throw_error(ErrorCode::format, path, "not a dcar token weight table (written by dcar-weigh)");
    if (model_fingerprint) *model_fingerprint = metadata["model"];
    if (config) {
        try {
            config->w_min = std::stod(metadata.at("w_min"));
            config->w_max = std::stod(metadata.at("w_max"));
            config->momentum = std::stod(metadata.at("momentum"));
        } catch (const std::exception&) {
            throw_error(ErrorCode::format, path, "the table's metadata lacks w_min, w_max or momentum");
        }
    }
    return WeightTable::from_tensors(tensors, path);
}

}  // namespace dcar::train
