// Dynamic Token Re-Weighting (docs/METHOD.md §4): how much a caption token tells about an image beyond what it
// tells about a blank one.
//   u_t        the single-token text feature norm(T([SOT, t, EOT])) of the frozen, unprompted text tower,
//              computed once per BPE id (TokenFeatures);
//   Δ_j        s · | u_{t_j}·z_blank − u_{t_j}·z |, z and z_blank the (prompted) image features, s the logit scale;
//   w_j        clamp(Δ_j / mean_{j'} Δ_{j'}, w_min, w_max) over the caption's own tokens (1 when the mean is 0);
//   table      an EMA per BPE id, W[id] ← m·W[id] + (1 − m)·w, starting at 1, updated in text order then token
//              order (so an id met twice in a batch is updated twice);
//   inference  w_j = clamp(W[id_j] / mean_{j'} W[id_{j'}], w_min, w_max), which needs no image.
// Weights multiply caption token embeddings only (SOT, prompt slots, EOT and padding keep 1).
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "model/clip.hpp"
#include "prompts/encode.hpp"
#include "prompts/settings.hpp"

namespace dcar::train {

enum class Blank { mean, white, black, noise };
Blank parse_blank(const std::string& text);  // "mean" | "white" | "black" | "noise"; Error(usage)
const char* blank_name(Blank blank);
// The blank image [1, 3, R, R] in CLIP's normalised space: mean = all zeros (a flat image of CLIP's mean
// colour), white = 1, black = 0 before normalisation, noise = every channel of every pixel uniform in [0, 1]
// from a fixed generator (the same image in every run). A flat image is not content-free where the data's own
// colours resemble it (the world's grey and tan bodies, its white and black backgrounds); noise has no shape
// and no colour of its own.
at::Tensor blank_image(const model::Clip& model, Blank blank);

// u_t for the ids asked for, computed in batches with the frozen text tower on the model's device.
class TokenFeatures {
public:
    // Computes the features of every id in `ids` not yet known.
    void add(const model::Clip& model, const std::vector<int32_t>& ids, int64_t batch = 256);
    // [N, W, E] fp32 on device: u of ids[n, w] where mask[n, w], zeros elsewhere. Every masked id must be known.
    at::Tensor lookup(const at::Tensor& ids, const at::Tensor& mask, at::Device device) const;
    size_t size() const { return slot_.empty() ? 0 : static_cast<size_t>(rows_.size(0)) - 1; }

private:
    std::vector<int32_t> slot_;  // id → row of rows_ (0 = unknown; row 0 is all zeros)
    at::Tensor rows_;            // [1 + known, E] fp32, CPU
    at::Tensor rows_on_device_;
};

// The normalisation on its own: scores Δ [N, W] (≥ 0) and the caption mask [N, W] → weights [N, W].
at::Tensor weights_from_scores(const at::Tensor& delta, const at::Tensor& mask, const DtrConfig& config);

// Per-pair weights [N, W] (fp32, on z's device): texts of batch, each against its own anchor image feature
// anchor[n] ([N, E], normalised) and the blank feature blank ([E] or [1, E], normalised). 1 outside captions.
at::Tensor pair_weights(const TokenFeatures& features, const TextBatch& batch, const at::Tensor& anchor,
                        const at::Tensor& blank, double scale, const DtrConfig& config);

class WeightTable {
public:
    explicit WeightTable(int64_t vocab_size = 49408);
    // EMA update from a batch's weights [N, W] (any device), in row then position order, caption positions only;
    // rows (optional, [N] bool) limits it to the rows marked true.
    void update(const TextBatch& batch, const at::Tensor& weights, double momentum, const at::Tensor& rows = {});
    // Inference weights [N, W] fp32 CPU for a batch (1 outside captions).
    at::Tensor weights_for(const TextBatch& batch, const DtrConfig& config) const;
    // One caption's weights, for --explain.
    std::vector<float> weights_for(const std::vector<int32_t>& ids, const DtrConfig& config) const;

    float weight(int32_t id) const { return weight_.at(static_cast<size_t>(id)); }
    int64_t count(int32_t id) const { return count_.at(static_cast<size_t>(id)); }
    int64_t vocab_size() const { return static_cast<int64_t>(weight_.size()); }
    int64_t updated_ids() const;  // ids with at least one update

    // As tensors "dtr.weight" [V] f32 and "dtr.count" [V] i64 (checkpoints and dcar-weigh's table files).
    model::TensorMap tensors() const;
    static WeightTable from_tensors(const model::TensorMap& tensors, const std::string& place);

private:
    std::vector<float> weight_;
    std::vector<int64_t> count_;
};

// A table file written by dcar-weigh: safetensors with the two tensors above and metadata (format
// "dcar-token-weights", model fingerprint, w_min, w_max, momentum). Reading checks the format tag.
void save_weight_table(const std::string& path, const WeightTable& table, const std::string& model_fingerprint,
                       const DtrConfig& config);
// config, when given, receives the w_min, w_max and momentum the table was made with.
WeightTable load_weight_table(const std::string& path, std::string* model_fingerprint = nullptr, DtrConfig* config = nullptr);

}  // namespace dcar::train
