// Encoding with learned prompts: the one place that lays captions out for a prompted text tower and runs both
// towers with a PromptSet, shared by training (dcar-tune), inference (dcar-embed --prompts) and dcar-weigh.
// Caption layout with k context slots (docs/METHOD.md §3.1): [SOT, k slots, caption ids…, EOT, 0…]; the slots
// hold id 0 until the layer-0 prompts replace them, so the EOT index is 1 + k + caption length.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "model/clip.hpp"
#include "prompts/prompts.hpp"

namespace dcar::model {
class Tokenizer;
}

namespace dcar::train {

// A caption's BPE ids (no SOT/EOT), cut so that SOT + k + ids + EOT fits `context` (OpenAI's truncate: the
// first ids are kept). With truncate false an over-long caption throws dcar::Error(format).
std::vector<int32_t> caption_tokens(const model::Tokenizer& tokenizer, const std::string& text, int64_t context,
                                    int64_t k, bool truncate, bool* truncated = nullptr);

struct TextBatch {
    at::Tensor ids;      // [N, W] int64, W = the longest row (no padding beyond it), CPU
    at::Tensor eot;      // [N] int64 = 1 + k + caption length
    at::Tensor caption;  // [N, W] bool: the caption token positions (what token weights apply to)
    int64_t k = 0;
    int64_t rows() const { return ids.defined() ? ids.size(0) : 0; }
};
TextBatch make_text_batch(const std::vector<const std::vector<int32_t>*>& captions, int64_t k);

// Context slots the prompts need on the text side (0 without text prompts).
int64_t context_slots(const PromptSet* prompts);

// Raw (not normalised) features in the model's dtype. token_weights: undefined (all 1) or [N, W] float, which
// multiply the token embeddings (1 outside caption positions). prompts may be null (zero-shot CLIP).
at::Tensor encode_texts(const model::Clip& model, const TextBatch& batch, const at::Tensor& token_weights,
                        const PromptSet* prompts);
at::Tensor encode_images(const model::Clip& model, const at::Tensor& pixels, const PromptSet* prompts);

// Inference as dcar-embed and dcar-weigh promise it (docs/DETERMINISM.md): on the CPU every item is encoded on
// its own (model::encode_rows; a caption at its own length), so its bytes depend on the item alone, never on
// the batch, the thread count or the order. On a GPU the images run as one batch, and the captions in calls of
// at most `rows_per_call` captions of similar length (length_groups), each padded only to its longest, so that
// a window of many captions given at once costs what their lengths cost. token_weights, when given, maps a
// batch to its [N, W] weights (see encode_texts) and must weigh each row by that row alone. Rows come back in
// the order given.
using TokenWeighting = std::function<at::Tensor(const TextBatch&)>;
at::Tensor infer_images(const model::Clip& model, const at::Tensor& pixels, const PromptSet* prompts);
at::Tensor infer_texts(const model::Clip& model, const std::vector<const std::vector<int32_t>*>& captions,
                       const PromptSet* prompts, const TokenWeighting& token_weights = {}, size_t rows_per_call = 64);

// Captions' indices ordered by length (shortest first; equal lengths in input order), cut into groups of at
// most `rows` (≥ 1) each.
std::vector<std::vector<size_t>> length_groups(const std::vector<size_t>& lengths, size_t rows);
// Runs encode_group on each group of indices and puts its rows [group size, E] back at those indices: the
// result is [n, E] in input order, n = the number of indices over all groups (each 0..n-1 exactly once).
at::Tensor encode_in_groups(const std::vector<std::vector<size_t>>& groups,
                            const std::function<at::Tensor(const std::vector<size_t>&)>& encode_group);

// Rows divided by their L2 norm, in fp32.
at::Tensor normalized(const at::Tensor& features);

}  // namespace dcar::train
