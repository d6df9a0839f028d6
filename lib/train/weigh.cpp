#include "train/weigh.hpp"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <cstdio>
#include <filesystem>
#include <memory>

#include "core/error.hpp"
#include "core/parallel.hpp"
#include "model/preprocess.hpp"
#include "model/safetensors.hpp"
#include "model/runtime.hpp"
#include "model/tokenizer.hpp"
#include "prompts/checkpoint.hpp"
#include "prompts/inference.hpp"
#include "negatives/dataset.hpp"
#include "prompts/encode.hpp"

namespace dcar::train {

namespace {

struct Weigher {
    model::Clip clip;
    std::unique_ptr<model::Tokenizer> tokenizer;
    std::unique_ptr<InferencePrompts> prompts;
    model::PreprocessConfig preprocess;

    explicit Weigher(const WeighConfig& config, const Log& log) {
        const at::Device device = model::resolve_device(config.device);
        clip = model::load_clip(config.model, device, model::parse_dtype(config.dtype), config.model_options);
        log.info("model " + clip.fingerprint + ": " + clip.config.describe());
        tokenizer = std::make_unique<model::Tokenizer>(model::vocab_path(config.vocab));
        if (!config.prompts.empty()) prompts = std::make_unique<InferencePrompts>(load_inference_prompts(config.prompts, clip));
        preprocess.resolution = static_cast<int>(clip.config.image_resolution);
    }
    const PromptSet* prompt_set() const { return prompts ? &prompts->prompts : nullptr; }
    std::vector<int32_t> tokens(const std::string& caption) const {
        return caption_tokens(*tokenizer, caption, clip.config.context_length, context_slots(prompt_set()), true);
    }
    at::Tensor image_features(const at::Tensor& pixels) const {
        return normalized(infer_images(clip, pixels, prompt_set()));
    }
};

std::string token_text(const model::Tokenizer& tokenizer, int32_t id) {
    std::string text = tokenizer.decode({id});
    while (!text.empty() && text.back() == ' ') text.pop_back();
    return text;
}

}  // namespace

WeighSummary run_weigh(const WeighConfig& config, const Log& log) {
    if (config.output.empty()) throw Error(ErrorCode::usage, "dcar-weigh needs -o TABLE for the weight table");
    const std::vector<Example> examples = read_examples(config.input, config.read, log);
    Weigher w(config, log);
    c10::InferenceMode guard;
    std::vector<std::vector<int32_t>> tokens;
    std::vector<int32_t> ids;
    for (const auto& e : examples) {
        tokens.push_back(w.tokens(e.caption));
        ids.insert(ids.end(), tokens.back().begin(), tokens.back().end());
    }
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    TokenFeatures features;
    features.add(w.clip, ids);
    WeightTable table(w.clip.config.vocab_size);
    const at::Tensor blank = w.image_features(blank_image(w.clip, config.blank));
    const double scale = w.clip.logit_scale.exp().item<double>();
    const int64_t r = w.preprocess.resolution;
    WeighSummary summary;
    for (size_t start = 0; start < examples.size(); start += static_cast<size_t>(config.batch)) {
        const size_t end = std::min(examples.size(), start + static_cast<size_t>(config.batch));
        const size_t n = end - start;
        std::vector<float> pixels(n * 3 * static_cast<size_t>(r * r));
        std::vector<std::string> errors(n);
        parallel_for(n, config.decode_threads, [&](size_t i) {
            try {
                model::preprocess_file(examples[start + i].image, w.preprocess, pixels.data() + i * 3 * static_cast<size_t>(r * r));
            } catch (const std::exception& e) {
                errors[i] = e.what();
            }
        });
        std::vector<int64_t> good;
        std::vector<const std::vector<int32_t>*> rows;
        for (size_t i = 0; i < n; ++i) {
            if (!errors[i].empty()) {
                log.warn("skipped " + examples[start + i].caption_id + ": " + errors[i]);
                ++summary.skipped;
                continue;
            }
            good.push_back(static_cast<int64_t>(i));
            rows.push_back(&tokens[start + i]);
        }
        if (good.empty()) continue;
        const at::Tensor all = at::from_blob(pixels.data(), {static_cast<int64_t>(n), 3, r, r}, at::kFloat);
        const at::Tensor z = w.image_features(all.index_select(0, at::tensor(good)));
        const TextBatch texts = make_text_batch(rows, context_slots(w.prompt_set()));
        const at::Tensor weights = pair_weights(features, texts, z, blank, scale, config.dtr);
        table.update(texts, weights, config.dtr.momentum);
        summary.pairs += good.size();
        log.progress("pairs", start + n, examples.size());
    }
    summary.ids = table.updated_ids();
    save_weight_table(config.output, table, w.clip.fingerprint, config.dtr);
    return summary;
}

void explain(const WeighConfig& config, const std::string& table_path, const std::string& image, const std::string& caption,
             std::ostream& out) {
    if (!image.empty()) {
        Weigher w(config, Log());
        c10::InferenceMode guard;
        const std::vector<int32_t> ids = w.tokens(caption);
        TokenFeatures features;
        features.add(w.clip, ids);
        const int64_t r = w.preprocess.resolution;
        std::vector<float> pixels(3 * static_cast<size_t>(r * r));
        model::preprocess_file(image, w.preprocess, pixels.data());
        const at::Tensor z = w.image_features(at::from_blob(pixels.data(), {1, 3, r, r}, at::kFloat));
        const at::Tensor blank = w.image_features(blank_image(w.clip, config.blank));
        const TextBatch texts = make_text_batch({&ids}, context_slots(w.prompt_set()));
        const double scale = w.clip.logit_scale.exp().item<double>();
        const at::Tensor weights = pair_weights(features, texts, z, blank, scale, config.dtr).cpu();
        const at::Tensor u = features.lookup(texts.ids, texts.caption, at::kCPU);
        const at::Tensor delta = (at::matmul(u[0], (blank[0] - z[0]).cpu())).abs() * scale;
        out << "position\ttoken\tid\tdelta\tweight\n";
        const int64_t first = 1 + texts.k;
        for (size_t j = 0; j < ids.size(); ++j) {
            char line[64];
            std::snprintf(line, sizeof line, "%.4f\t%.4f", delta[first + static_cast<int64_t>(j)].item<double>(),
                          weights[0][first + static_cast<int64_t>(j)].item<double>());
            out << j << '\t' << token_text(*w.tokenizer, ids[j]) << '\t' << ids[j] << '\t' << line << '\n';
        }
        return;
    }
    // A table alone: no model needed, only the tokenizer.
    model::Tokenizer tokenizer(model::vocab_path(config.vocab));
    WeightTable table;
    DtrConfig dtr = config.dtr;
    std::error_code ec;
    if (std::filesystem::is_directory(table_path, ec) || (table_path.size() > 5 && table_path.substr(table_path.size() - 5) == ".json")) {
        const CheckpointInfo info = read_checkpoint(table_path);
        table = WeightTable::from_tensors(model::read_safetensors(info.state_file), info.state_file);
        dtr = info.dtr;
    } else {
        table = load_weight_table(table_path, nullptr, &dtr);
    }
    const std::vector<int32_t> ids = tokenizer.encode(caption);
    const std::vector<float> weights = table.weights_for(ids, dtr);
    out << "position\ttoken\tid\ttable\tweight\n";
    for (size_t j = 0; j < ids.size(); ++j) {
        char line[64];
        std::snprintf(line, sizeof line, "%.4f\t%.4f", table.weight(ids[j]), weights[j]);
        out << j << '\t' << token_text(tokenizer, ids[j]) << '\t' << ids[j] << '\t' << line << '\n';
    }
}

}  // namespace dcar::train
