#include "prompts/encode.hpp"

#include <ATen/TensorOperators.h>
#include <ATen/ops/from_blob.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/full.h>
#include <ATen/ops/index_select.h>
#include <ATen/ops/tensor.h>
#include <ATen/ops/zeros.h>

#include <algorithm>

#include "core/error.hpp"
#include "model/runtime.hpp"
#include "model/tokenizer.hpp"

namespace dcar::train {

std::vector<int32_t> caption_tokens(const model::Tokenizer& tokenizer, const std::string& text, int64_t context,
                                    int64_t k, bool truncate, bool* truncated) {
    if (context - k < 3) throw Error(ErrorCode::usage, "a context of " + std::to_string(context) + " leaves no room for a caption after " + std::to_string(k) + " prompt tokens");
    const auto encoded = tokenizer.tokenize(text, static_cast<int>(context - k), truncate);
    if (truncated) *truncated = encoded.truncated;
    return std::vector<int32_t>(encoded.ids.begin() + 1, encoded.ids.begin() + encoded.eot_index);
}

TextBatch make_text_batch(const std::vector<const std::vector<int32_t>*>& captions, int64_t k) {
    TextBatch batch;
    batch.k = k;
    const int64_t n = static_cast<int64_t>(captions.size());
    int64_t width = 0;
    for (const auto* c : captions) width = std::max<int64_t>(width, 2 + k + static_cast<int64_t>(c->size()));
    batch.ids = at::zeros({n, width}, at::kLong);
    batch.eot = at::zeros({n}, at::kLong);
    batch.caption = at::zeros({n, width}, at::kBool);
    int64_t* ids = batch.ids.data_ptr<int64_t>();
    int64_t* eot = batch.eot.data_ptr<int64_t>();
    bool* caption = batch.caption.data_ptr<bool>();
    for (int64_t i = 0; i < n; ++i) {
        const auto& c = *captions[static_cast<size_t>(i)];
        int64_t* row = ids + i * width;
        row[0] = model::Tokenizer::sot;
        for (size_t j = 0; j < c.size(); ++j) {
            row[1 + k + static_cast<int64_t>(j)] = c[j];
            caption[i * width + 1 + k + static_cast<int64_t>(j)] = true;
        }
        eot[i] = 1 + k + static_cast<int64_t>(c.size());
        row[eot[i]] = model::Tokenizer::eot;
    }
    return batch;
}

int64_t context_slots(const PromptSet* prompts) {
    return prompts && prompts->config.text ? prompts->config.length : 0;
}

at::Tensor encode_texts(const model::Clip& model, const TextBatch& batch, const at::Tensor& token_weights,
                        const PromptSet* prompts) {
    if (batch.k != context_slots(prompts))
        throw Error(ErrorCode::internal, "text batch laid out for " + std::to_string(batch.k) + " prompt tokens, the prompts have " +
                                             std::to_string(context_slots(prompts)));
    const at::Tensor ids = batch.ids.to(model.device());
    at::Tensor embeddings = model::embed_tokens(model, ids);
    if (token_weights.defined())
        embeddings = embeddings * token_weights.to(embeddings.device(), embeddings.scalar_type()).unsqueeze(-1);
    if (prompts && prompts->config.text) {
        const model::TextPrompts text = prompts->text_prompts();
        return model::encode_text(model, embeddings, batch.eot, &text);
    }
    return model::encode_text(model, embeddings, batch.eot);
}

at::Tensor encode_images(const model::Clip& model, const at::Tensor& pixels, const PromptSet* prompts) {
    if (prompts && prompts->has_visual()) {
        const model::VisualPrompts visual = prompts->visual_prompts();
        return model::encode_image(model, pixels, &visual);
    }
    return model::encode_image(model, pixels);
}

at::Tensor infer_images(const model::Clip& model, const at::Tensor& pixels, const PromptSet* prompts) {
    if (!model.device().is_cpu()) return encode_images(model, pixels.to(model.device()), prompts);
    const at::Tensor input = pixels.cpu();
    return model::encode_rows(input.size(0), 0, [&](int64_t i) { return encode_images(model, input.narrow(0, i, 1), prompts); });
}

at::Tensor infer_texts(const model::Clip& model, const std::vector<const std::vector<int32_t>*>& captions,
                       const PromptSet* prompts, const TokenWeighting& token_weights, size_t rows_per_call) {
    const int64_t k = context_slots(prompts);
    auto encode = [&](const std::vector<const std::vector<int32_t>*>& rows) {
        const TextBatch batch = make_text_batch(rows, k);
        return encode_texts(model, batch, token_weights ? token_weights(batch) : at::Tensor(), prompts);
    };
    if (model.device().is_cpu())
        return model::encode_rows(static_cast<int64_t>(captions.size()), 0,
                                  [&](int64_t i) { return encode({captions[static_cast<size_t>(i)]}); });
    std::vector<size_t> lengths;
    for (const auto* c : captions) lengths.push_back(c->size());
    return encode_in_groups(length_groups(lengths, rows_per_call), [&](const std::vector<size_t>& group) {
        std::vector<const std::vector<int32_t>*> rows;
        for (const size_t i : group) rows.push_back(captions[i]);
        return encode(rows);
    });
}

std::vector<std::vector<size_t>> length_groups(const std::vector<size_t>& lengths, size_t rows) {
    if (rows == 0) throw Error(ErrorCode::internal, "length_groups: groups of 0 rows");
    std::vector<size_t> order(lengths.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return lengths[a] < lengths[b]; });
    std::vector<std::vector<size_t>> groups;
    for (size_t start = 0; start < order.size(); start += rows)
        groups.emplace_back(order.begin() + static_cast<std::ptrdiff_t>(start),
                            order.begin() + static_cast<std::ptrdiff_t>(std::min(order.size(), start + rows)));
    return groups;
}

at::Tensor encode_in_groups(const std::vector<std::vector<size_t>>& groups,
                            const std::function<at::Tensor(const std::vector<size_t>&)>& encode_group) {
    size_t n = 0;
    for (const auto& g : groups) n += g.size();
    std::vector<at::Tensor> parts(groups.size());
    std::vector<int64_t> places;
    for (size_t g = 0; g < groups.size(); ++g) {
        parts[g] = encode_group(groups[g]);
        if (parts[g].dim() != 2 || parts[g].size(0) != static_cast<int64_t>(groups[g].size()))
            throw Error(ErrorCode::internal, "encode_in_groups: a group of " + std::to_string(groups[g].size()) + " gave " +
                                                 model::shape_text(parts[g].sizes()));
        for (const size_t i : groups[g]) {
            if (i >= n) throw Error(ErrorCode::internal, "encode_in_groups: index " + std::to_string(i) + " of " + std::to_string(n));
            places.push_back(static_cast<int64_t>(i));
        }
    }
    const at::Tensor stacked = at::cat(parts, 0);
    const at::Tensor index = at::tensor(places, at::kLong).to(stacked.device());
    // Where each input row went: inverse[place] = row of stacked; a repeated or missing index leaves a hole.
    at::Tensor inverse = at::full({static_cast<int64_t>(n)}, -1, at::kLong).to(stacked.device());
    inverse.scatter_(0, index, at::arange(static_cast<int64_t>(n), at::kLong).to(stacked.device()));
    if (inverse.lt(0).any().item<bool>()) throw Error(ErrorCode::internal, "encode_in_groups: the groups do not cover every row once");
    return stacked.index_select(0, inverse);
}

at::Tensor normalized(const at::Tensor& features) {
    const at::Tensor x = features.to(at::kFloat);
    return x / x.norm(2, {-1}, true);
}

}  // namespace dcar::train
