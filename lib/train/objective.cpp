#include "train/objective.hpp"

#include <ATen/TensorOperators.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/bmm.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/full_like.h>
#include <ATen/ops/log.h>
#include <ATen/ops/log_softmax.h>
#include <ATen/ops/logsumexp.h>
#include <ATen/ops/matmul.h>
#include <ATen/ops/nll_loss.h>
#include <ATen/ops/softplus.h>
#include <ATen/ops/where.h>
#include <ATen/ops/zeros.h>
#include <c10/core/GradMode.h>

#include <cmath>
#include <limits>

#include "core/enum_words.hpp"
#include "core/error.hpp"

namespace dcar::train {

namespace {
const EnumWord<ConMode> con_mode_words[] = {{ConMode::sym, "sym"}, {ConMode::i2t, "i2t"}};
const EnumWord<CateForm> cate_form_words[] = {
    {CateForm::denominator, "denominator"}, {CateForm::per_term, "per-term"}, {CateForm::per_term, "per_term"}, {CateForm::logit, "logit"}};
const EnumWord<DtrMode> dtr_mode_words[] = {{DtrMode::pair, "pair"}, {DtrMode::table, "table"}, {DtrMode::none, "none"}};
}  // namespace

ConMode parse_con_mode(const std::string& text) { return parse_enum(text, con_mode_words, "the contrastive loss mode is"); }
CateForm parse_cate_form(const std::string& text) { return parse_enum(text, cate_form_words, "the category loss form is"); }
DtrMode parse_dtr_mode(const std::string& text) { return parse_enum(text, dtr_mode_words, "token weighting is"); }
const char* con_mode_name(ConMode mode) { return enum_word(mode, con_mode_words); }
const char* cate_form_name(CateForm form) { return enum_word(form, cate_form_words); }
const char* dtr_mode_name(DtrMode mode) { return enum_word(mode, dtr_mode_words); }

namespace {

// Mean cross-entropy of each row's logits against the diagonal target.
at::Tensor diagonal_cross_entropy(const at::Tensor& logits) {
    const at::Tensor target = at::arange(logits.size(0), at::TensorOptions().dtype(at::kLong).device(logits.device()));
    return at::nll_loss(at::log_softmax(logits, 1), target);
}

}  // namespace

at::Tensor contrastive_loss(const at::Tensor& z, const at::Tensor& h, const at::Tensor& scale, ConMode mode) {
    const at::Tensor logits = scale * at::matmul(z, h.t());
    if (mode == ConMode::i2t) return diagonal_cross_entropy(logits);
    return 0.5 * (diagonal_cross_entropy(logits) + diagonal_cross_entropy(logits.t()));
}

at::Tensor category_loss(const at::Tensor& z, const at::Tensor& g, const at::Tensor& weights, const at::Tensor& scale,
                         CateForm form) {
    // ℓ [B, 1+C]
    const at::Tensor logits = scale * at::bmm(g, z.unsqueeze(-1)).squeeze(-1);
    const at::Tensor present = weights > 0;
    const double minus_inf = -std::numeric_limits<double>::infinity();
    const at::Tensor positive = logits.select(1, 0);
    switch (form) {
        case CateForm::denominator: {
            // The positive's own weight is not applied (the loss floor stays 0): column 0 counts with weight 1.
            at::Tensor log_w = at::log(weights.clamp_min(1e-30));
            log_w = at::where(present, log_w, at::full_like(log_w, minus_inf));
            log_w = at::cat({at::full_like(log_w.narrow(1, 0, 1), 0.0), log_w.narrow(1, 1, log_w.size(1) - 1)}, 1);
            return (at::logsumexp(logits + log_w, {1}) - positive).mean();
        }
        case CateForm::per_term: {
            const int64_t c = logits.size(1) - 1;
            const at::Tensor w = weights.narrow(1, 1, c) * present.narrow(1, 1, c).to(weights.scalar_type());
            const at::Tensor pairwise = at::softplus(logits.narrow(1, 1, c) - positive.unsqueeze(1));
            return ((w * pairwise).sum(1) / w.sum(1).clamp_min(1e-30)).mean();
        }
        case CateForm::logit: {
            at::Tensor scaled = logits * weights;
            scaled = at::where(present, scaled, at::full_like(scaled, minus_inf));
            return (at::logsumexp(scaled, {1}) - scaled.select(1, 0)).mean();
        }
    }
    throw Error(ErrorCode::internal, "unknown category loss form");
}

Objective::Objective(const model::Clip& model, const PromptSet* prompts, const Caa* caa, const TokenFeatures* features,
                     WeightTable* table, const ObjectiveConfig& config)
    : model_(model), prompts_(prompts), caa_(caa), features_(features), table_(table), config_(config) {
    const bool needs_features = config.dtr != DtrMode::none || config.update_table;
    if (needs_features && (!features || !table)) throw Error(ErrorCode::internal, "token weighting needs token features and a table");
    if (config.lambda > 0 && !caa) throw Error(ErrorCode::internal, "the category loss needs a CAA head (identity or adapter)");
}

StepLosses Objective::forward(const StepBatch& batch) const {
    const int64_t b = batch.images(), group = 1 + batch.candidates;
    if (batch.texts.rows() != b * group)
        throw Error(ErrorCode::internal, "a batch of " + std::to_string(b) + " images with " + std::to_string(batch.candidates) +
                                             " candidates needs " + std::to_string(b * group) + " texts, got " +
                                             std::to_string(batch.texts.rows()));
    // The temperature: learned (full training) with OpenAI's cap at 100, else a constant.
    at::Tensor scale = model_.logit_scale.to(at::kFloat);
    scale = model_.logit_scale.requires_grad() ? scale.clamp_max(std::log(100.0)).exp() : scale.exp().detach();
    const double scale_value = scale.item<double>();

    const at::Tensor z = normalized(encode_images(model_, batch.pixels, prompts_));
    at::Tensor token_weights;
    if (config_.dtr != DtrMode::none || config_.update_table) {
        at::Tensor pair;
        {
            at::NoGradGuard no_grad;
            const at::Tensor blank = normalized(encode_images(model_, blank_image(model_, config_.blank), prompts_));
            const at::Tensor anchors = z.detach().repeat_interleave(group, 0);
            pair = pair_weights(*features_, batch.texts, anchors, blank, scale_value, config_.dtr_config);
        }
        if (config_.update_table)
            table_->update(batch.texts, pair, config_.dtr_config.momentum, (batch.weights > 0).reshape({-1}));
        if (config_.dtr == DtrMode::pair) token_weights = pair;
        else if (config_.dtr == DtrMode::table) token_weights = table_->weights_for(batch.texts, config_.dtr_config);
    }
    const at::Tensor h = normalized(encode_texts(model_, batch.texts, token_weights, prompts_));
    const at::Tensor h_positive = h.view({b, group, -1}).select(1, 0);
    StepLosses out;
    const at::Tensor con = contrastive_loss(z, h_positive, scale, config_.con);
    out.con = con.item<double>();
    out.total = con;
    if (config_.lambda > 0 && (batch.candidates > 0 || config_.cate_in_batch)) {
        at::Tensor g = caa_->forward(h).view({b, group, -1});
        at::Tensor weights = batch.weights.to(z.device(), at::kFloat);
        if (config_.cate_in_batch) {
            // Image i's extra candidates: every positive of the batch, its own excluded by weight 0.
            at::Tensor extra = at::zeros({b, b}, at::kFloat);
            for (int64_t i = 0; i < b; ++i)
                for (int64_t j = 0; j < b; ++j) {
                    if (i == j) continue;
                    const std::string& ci = batch.classes.at(static_cast<size_t>(i));
                    const std::string& cj = batch.classes.at(static_cast<size_t>(j));
                    extra[i][j] = !ci.empty() && ci == cj ? 1.0 + config_.alpha : 1.0;
                }
            const at::Tensor positives = g.select(1, 0).unsqueeze(0).expand({b, b, g.size(2)});
            g = at::cat({g, positives}, 1);
            weights = at::cat({weights, extra.to(z.device())}, 1);
        }
        const at::Tensor cate = category_loss(z, g, weights, scale, config_.form);
        out.cate = cate.item<double>();
        out.total = out.total + config_.lambda * cate;
    }
    return out;
}

}  // namespace dcar::train
