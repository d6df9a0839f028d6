// The training objective (docs/METHOD.md §6–§7) for one batch: image and text features through the
// prompted towers, token weights (DTR), the contrastive loss and the category loss through CAA.
//   L_con  = CE(s·Z·Hᵀ, I) (i2t), or ½[CE(s·Z·Hᵀ, I) + CE(s·H·Zᵀ, I)] (sym, the default);
//   L_cate = mean_i −log( e^{ℓ_i0} / (e^{ℓ_i0} + Σ_{j≥1} w_ij e^{ℓ_ij}) ),  ℓ_ij = s·z_i·CAA(h_ij)
//            (denominator weighting, default); per_term: mean_i Σ_j w_ij·softplus(ℓ_ij − ℓ_i0) / Σ_j w_ij;
//            logit: CE over w_ij·ℓ_ij with the positive's own weight on ℓ_i0;
//   L      = L_con + λ·L_cate.
// s is exp(logit_scale) of the backbone: a constant for prompt methods, trained (capped at 100) for `full`.
#pragma once
#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "model/clip.hpp"
#include "prompts/dtr.hpp"
#include "prompts/encode.hpp"
#include "prompts/prompts.hpp"

namespace dcar::train {

enum class ConMode { sym, i2t };
enum class CateForm { denominator, per_term, logit };
enum class DtrMode { pair, table, none };  // token weights while training
ConMode parse_con_mode(const std::string& text);
CateForm parse_cate_form(const std::string& text);
DtrMode parse_dtr_mode(const std::string& text);
const char* con_mode_name(ConMode mode);
const char* cate_form_name(CateForm form);
const char* dtr_mode_name(DtrMode mode);

struct ObjectiveConfig {
    ConMode con = ConMode::sym;
    double lambda = 0.0;  // 0: no category loss (baselines)
    CateForm form = CateForm::denominator;
    // Also treat the other images' positive captions of the batch as candidates (weight 1 + alpha when their
    // class is the image's, else 1), besides the mined ones.
    bool cate_in_batch = false;
    double alpha = 0.5;
    DtrMode dtr = DtrMode::none;
    bool update_table = false;  // keep the EMA table up to date (DCAR: always)
    DtrConfig dtr_config;
    Blank blank = Blank::mean;
};

// One batch. Texts are image-major: row i·(1+C)+j is text j of image i, j = 0 its positive caption, j ≥ 1 its
// candidates. weights [B, 1+C] fp32: the category-matching weight of every text (1 + α where its class is the
// image's; column 0 is the positive's own), 0 where image i has fewer candidates (the row is a filler).
struct StepBatch {
    at::Tensor pixels;  // [B, 3, R, R] fp32
    TextBatch texts;
    int64_t candidates = 0;
    at::Tensor weights;
    std::vector<std::string> classes;  // each image's class ("" = unknown), for in-batch candidates
    int64_t images() const { return pixels.size(0); }
};

struct StepLosses {
    at::Tensor total;  // differentiable
    double con = 0, cate = 0;
};

at::Tensor contrastive_loss(const at::Tensor& z, const at::Tensor& h, const at::Tensor& scale, ConMode mode);
at::Tensor category_loss(const at::Tensor& z, const at::Tensor& g, const at::Tensor& weights, const at::Tensor& scale,
                         CateForm form);

class Objective {
public:
    // prompts, caa, features and table may be null where the configuration does not use them. The model's
    // logit_scale is the temperature; when it requires grad (full training) it is learned, capped at ln 100.
    Objective(const model::Clip& model, const PromptSet* prompts, const Caa* caa, const TokenFeatures* features,
              WeightTable* table, const ObjectiveConfig& config);
    StepLosses forward(const StepBatch& batch) const;
    const ObjectiveConfig& config() const { return config_; }

private:
    const model::Clip& model_;
    const PromptSet* prompts_;
    const Caa* caa_;
    const TokenFeatures* features_;
    WeightTable* table_;
    ObjectiveConfig config_;
};

}  // namespace dcar::train
