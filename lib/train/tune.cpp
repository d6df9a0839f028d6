#include "train/tune.hpp"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>

#include "core/json.hpp"
#include "core/enum_words.hpp"
#include "core/error.hpp"
#include "core/parallel.hpp"
#include "core/random.hpp"
#include "core/text.hpp"
#include "io/sink.hpp"
#include "io/source.hpp"
#include "model/preprocess.hpp"
#include "model/safetensors.hpp"
#include "model/runtime.hpp"
#include "model/tokenizer.hpp"
#include "prompts/checkpoint.hpp"
#include "negatives/dataset.hpp"
#include "prompts/encode.hpp"
#include "negatives/negatives.hpp"
#include "train/tune_options.hpp"

namespace dcar::train {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

namespace {
const EnumWord<Method> method_words[] = {
    {Method::coop, "coop"}, {Method::vpt, "vpt"}, {Method::maple, "maple"}, {Method::dcar, "dcar"}, {Method::full, "full"}};
}  // namespace

Method parse_method(const std::string& text) { return parse_enum(text, method_words, "--method is"); }
const char* method_name(Method method) { return enum_word(method, method_words); }

TuneConfig method_defaults(Method method) {
    TuneConfig c;
    c.method = method;
    switch (method) {
        case Method::coop:
            c.prompts = {4, 1, true, VisualMode::none, "a photo of a"};
            c.lr = 0.002;
            break;
        case Method::vpt:
            c.prompts = {2, 9, false, VisualMode::independent, ""};
            break;
        case Method::maple:
            c.prompts = {2, 9, true, VisualMode::coupled, "a photo of a"};
            break;
        case Method::dcar:
            c.prompts = {2, 9, true, VisualMode::coupled, "a photo of a"};
            c.objective.lambda = 1.0;
            c.objective.dtr = DtrMode::pair;
            c.objective.update_table = true;
            c.dtr_infer = "table";
            break;
        case Method::full:
            c.optimizer.kind = "adamw";
            c.optimizer.weight_decay = 0.2;
            c.lr = 5e-4;
            c.shots = 0;
            c.epochs = 10;
            c.warmup = Warmup::linear;
            c.augment = false;
            break;
    }
    return c;
}

std::vector<std::vector<size_t>> batch_order(size_t count, const std::vector<std::string>& groups, size_t batch,
                                              uint64_t seed, int epoch, double grouped_share) {
    std::vector<size_t> order(count);
    for (size_t i = 0; i < count; ++i) order[i] = i;
    Rng shuffle(stream_seed(seed, 0x65706f6368ull, static_cast<uint64_t>(epoch)));
    for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[shuffle.below(i)]);
    const bool grouped = !groups.empty();
    std::vector<std::vector<size_t>> parts;
    if (grouped) {
        const auto grouped_count = static_cast<size_t>(std::llround(std::clamp(grouped_share, 0.0, 1.0) * static_cast<double>(count)));
        std::map<std::string, size_t> part_of;
        for (size_t k = 0; k < grouped_count; ++k) {
            const auto found = part_of.emplace(groups[order[k]], parts.size());
            if (found.second) parts.emplace_back();
            parts[found.first->second].push_back(order[k]);
        }
        if (grouped_count < count) parts.emplace_back(order.begin() + static_cast<long>(grouped_count), order.end());
    } else {
        parts.push_back(std::move(order));
    }
    std::vector<std::vector<size_t>> batches;
    for (const auto& part : parts)
        for (size_t start = 0; start + 2 <= part.size(); start += batch)
            batches.emplace_back(part.begin() + static_cast<long>(start), part.begin() + static_cast<long>(std::min(part.size(), start + batch)));
    if (grouped)
        for (size_t i = batches.size(); i > 1; --i) std::swap(batches[i - 1], batches[shuffle.below(i)]);
    return batches;
}

namespace {

// The training and validation examples: the shots of the seed (split_shots) from the input; with --val FILE the
// validation examples are that file's, appended to `examples`.
void split_examples(std::vector<Example>& examples, const TuneConfig& config, const Log& log, std::vector<size_t>& train,
                    std::vector<size_t>& val) {
    std::map<std::string, std::string> class_of;
    for (const auto& e : examples) class_of.emplace(e.item, e.class_name);
    const ShotSplit split = split_shots(class_of, config.shots, config.val_fraction, config.seed);
    for (size_t i = 0; i < examples.size(); ++i) {
        if (split.val.count(examples[i].item)) val.push_back(i);
        else if (split.train.count(examples[i].item)) train.push_back(i);
    }
    if (config.val_input.empty()) return;
    for (auto& e : read_examples(config.val_input, config.read, log)) {
        if (class_of.count(e.item))
            throw_error(ErrorCode::usage, config.val_input, "item '" + e.item + "' is also in the training input " + config.input);
        val.push_back(examples.size());
        examples.push_back(std::move(e));
    }
}

// Decoded images, kept in memory up to a budget, with torchvision's RandomResizedCrop on demand.
class ImageLoader {
public:
    ImageLoader(const model::PreprocessConfig& config, size_t budget) : config_(config), budget_(budget) {}

    std::shared_ptr<const model::RgbImage> decoded(const std::string& path) {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            const auto it = cache_.find(path);
            if (it != cache_.end()) return it->second;
        }
        auto image = std::make_shared<const model::RgbImage>(model::decode_rgb_file(path, config_));
        std::lock_guard<std::mutex> lock(mutex_);
        if (bytes_ + image->pixels.size() <= budget_) {
            bytes_ += image->pixels.size();
            cache_.emplace(path, image);
        }
        return image;
    }

    // out: 3·R·R floats. With augmentation, the crop comes from rng (scale crop_min..1 of the area, aspect
    // 3/4..4/3 log-uniform, ten tries, then the whole image's centred largest box in range), as torchvision.
    void load(const std::string& path, bool augment, double crop_min, Rng& rng, float* out) {
        const auto image = decoded(path);
        if (!augment) return model::preprocess_decoded(*image, config_, out);
        const int w = image->width, h = image->height;
        const double area = static_cast<double>(w) * h;
        for (int attempt = 0; attempt < 10; ++attempt) {
            const double target = area * (crop_min + (1.0 - crop_min) * rng.unit());
            const double aspect = std::exp(std::log(3.0 / 4.0) + (std::log(4.0 / 3.0) - std::log(3.0 / 4.0)) * rng.unit());
            const int cw = static_cast<int>(std::lround(std::sqrt(target * aspect)));
            const int ch = static_cast<int>(std::lround(std::sqrt(target / aspect)));
            if (cw > 0 && ch > 0 && cw <= w && ch <= h) {
                const int top = static_cast<int>(rng.below(static_cast<size_t>(h - ch + 1)));
                const int left = static_cast<int>(rng.below(static_cast<size_t>(w - cw + 1)));
                return model::preprocess_region(*image, left, top, cw, ch, config_, out);
            }
        }
        const double ratio = static_cast<double>(w) / h;
        int cw = w, ch = h;
        if (ratio < 3.0 / 4.0) ch = static_cast<int>(std::lround(w / (3.0 / 4.0)));
        else if (ratio > 4.0 / 3.0) cw = static_cast<int>(std::lround(h * (4.0 / 3.0)));
        model::preprocess_region(*image, (w - cw) / 2, (h - ch) / 2, cw, ch, config_, out);
    }

private:
    model::PreprocessConfig config_;
    size_t budget_;
    size_t bytes_ = 0;
    std::mutex mutex_;
    std::map<std::string, std::shared_ptr<const model::RgbImage>> cache_;
};

struct TokenizedExample {
    std::vector<int32_t> caption;
    std::vector<std::vector<int32_t>> candidates;
    std::vector<float> candidate_weights;
};

// A resumed run's step log keeps only the steps its checkpoint holds: the steps of an epoch cut short by a kill
// are run again, and their old lines (and a torn last line) would otherwise appear twice.
void trim_step_log(const std::string& path, int64_t last_step) {
    std::ifstream in(path);
    if (!in) return;
    std::string kept, line;
    while (std::getline(in, line)) {
        const Json entry = Json::parse(line, nullptr, false);
        if (entry.is_object() && entry.contains("step") && entry["step"].is_number_integer() &&
            entry["step"].get<int64_t>() <= last_step)
            kept += line + "\n";
    }
    in.close();
    const auto sink = io::open_sink(path);
    sink->write(kept);
    sink->commit();
}

// R@1 in both directions: each image's best caption is one of its own; each caption's best image is its own.
std::pair<double, double> recall_at_1(const at::Tensor& images, const at::Tensor& texts, const std::vector<int64_t>& text_image) {
    const at::Tensor sim = at::matmul(images, texts.t()).cpu();
    const at::Tensor best_text = sim.argmax(1), best_image = sim.argmax(0);
    int64_t i2t = 0, t2i = 0;
    for (int64_t i = 0; i < sim.size(0); ++i) i2t += text_image[static_cast<size_t>(best_text[i].item<int64_t>())] == i;
    for (int64_t t = 0; t < sim.size(1); ++t) t2i += best_image[t].item<int64_t>() == text_image[static_cast<size_t>(t)];
    return {100.0 * static_cast<double>(i2t) / static_cast<double>(sim.size(0)),
            100.0 * static_cast<double>(t2i) / static_cast<double>(sim.size(1))};
}

class Trainer {
public:
    Trainer(const TuneConfig& config, const Log& log) : config_(config), log_(log) {}

    TuneSummary run();

private:
    struct Schedule {
        int64_t total_steps = 0, warmup_steps = 0;
    };
    struct EpochResult {
        Json entry;  // the epoch's history entry (loss means, lr, seconds); empty when cut
        double last_loss = 0;
        bool cut = false;  // --max-steps ended the run inside the epoch
    };

    void check_config() const;
    std::unique_ptr<CheckpointInfo> open_checkpoint() const;  // null unless resuming
    void check_resume_options(const CheckpointInfo& resume) const;
    // Prompts, CAA, the token weight table and the optimiser: new, or from the checkpoint's state.
    void create_learned(const CheckpointInfo* resume, const model::TensorMap& state);
    double learning_rate(int64_t step) const;
    EpochResult train_epoch(int epoch, const Objective& objective, int64_t& step, std::FILE* step_log);
    void load_backbone(const CheckpointInfo* resume_from);
    void prepare_data();
    StepBatch make_batch(const std::vector<size_t>& indices, int epoch) ;
    std::vector<std::vector<size_t>> epoch_batches(const std::vector<size_t>& examples, int epoch) const;
    std::pair<double, double> validate();
    void save_checkpoint(int epoch, int64_t step);

    const TuneConfig& config_;
    const Log& log_;
    at::Device device_ = at::Device(at::kCPU);
    model::Clip model_;
    std::string backbone_fingerprint_;
    std::unique_ptr<model::Tokenizer> tokenizer_;
    PromptConfig prompt_config_;  // config_.prompts with the depth the towers allow
    std::unique_ptr<PromptSet> prompts_;
    std::unique_ptr<Caa> caa_;
    TokenFeatures features_;
    WeightTable table_;
    std::unique_ptr<Optimizer> optimizer_;
    std::unique_ptr<ImageLoader> loader_;
    model::PreprocessConfig preprocess_;
    std::vector<Example> examples_;
    std::vector<TokenizedExample> tokens_;
    std::vector<size_t> train_, val_;
    Json history_ = Json::array();
    Schedule schedule_;
};

void Trainer::load_backbone(const CheckpointInfo* resume_from) {
    device_ = model::resolve_device(config_.device);
    if (config_.method == Method::full) {
        if (config_.dtype != "auto" && config_.dtype != "fp32")
            throw Error(ErrorCode::usage, "--method full trains in fp32 (the optimiser updates the weights themselves)");
        // The run's identity is its starting point; a resumed run continues from the checkpoint's own weights.
        model::TensorMap weights;
        model::ClipConfig size;
        if (!config_.model.empty()) {
            const auto loaded = model::load_weights(config_.model, config_.model_options);
            weights = loaded.tensors;
            size = loaded.config;
            backbone_fingerprint_ = loaded.fingerprint;
        } else {
            size = model::clip_config_from_spec(config_.init_size);
            backbone_fingerprint_ = "random:" + size.describe();
            if (!resume_from) weights = model::random_weights(size, config_.seed);
        }
        if (resume_from) {
            const auto loaded = model::load_weights(resume_from->model_file, config_.model_options);
            if (loaded.config != size)
                throw_error(ErrorCode::mismatch, resume_from->model_file, "is " + loaded.config.describe() + ", this run asks for " + size.describe());
            weights = loaded.tensors;
        }
        model_ = model::Clip::from_weights(weights, size).to(device_, at::kFloat);
        for (auto& [name, t] : model_.named_tensors()) *t = t->detach().clone().requires_grad_(true);
    } else {
        const at::ScalarType dtype = config_.dtype == "auto" ? (device_.is_cuda() ? at::kBFloat16 : at::kFloat)
                                                             : model::parse_dtype(config_.dtype);
        model_ = model::load_clip(config_.model, device_, dtype, config_.model_options);
        backbone_fingerprint_ = model_.fingerprint;
    }
    log_.info("model " + (config_.model.empty() ? std::string("(random init)") : config_.model) + ": " + model_.config.describe() +
              " on " + device_.str() + " in " + model::dtype_name(model_.dtype()) +
              (device_.is_cpu() ? ", OMP_WAIT_POLICY " + model::openmp_wait_policy() : std::string()));
}

void Trainer::prepare_data() {
    examples_ = read_examples(config_.input, config_.read, log_);
    split_examples(examples_, config_, log_, train_, val_);
    if (train_.size() < 2) throw_error(ErrorCode::format, config_.input, "fewer than two training captions after sampling shots");
    // Decode every image once: bad ones are reported and their captions dropped, never fatal.
    std::vector<size_t> all(train_);
    all.insert(all.end(), val_.begin(), val_.end());
    std::set<std::string> paths;
    for (const size_t i : all) paths.insert(examples_[i].image);
    std::vector<std::string> list(paths.begin(), paths.end());
    std::vector<std::string> errors(list.size());
    parallel_for(list.size(), config_.decode_threads, [&](size_t i) {
        try {
            if (list[i].empty()) throw Error(ErrorCode::format, "no image path");
            loader_->decoded(list[i]);
        } catch (const std::exception& e) {
            errors[i] = e.what();
        }
    });
    std::set<std::string> bad;
    for (size_t i = 0; i < list.size(); ++i)
        if (!errors[i].empty()) {
            log_.warn("skipped image " + (list[i].empty() ? std::string("(none)") : list[i]) + ": " + errors[i]);
            bad.insert(list[i]);
        }
    auto drop_bad = [&](std::vector<size_t>& v) {
        v.erase(std::remove_if(v.begin(), v.end(), [&](size_t i) { return bad.count(examples_[i].image) > 0; }), v.end());
    };
    drop_bad(train_);
    drop_bad(val_);
    if (train_.size() < 2) throw_error(ErrorCode::format, config_.input, "fewer than two training captions with readable images");

    // Tokens, once. Candidates only where the category loss uses them.
    const int64_t context = model_.config.context_length, k = context_slots(prompts_.get());
    const bool use_candidates = config_.objective.lambda > 0;
    tokens_.resize(examples_.size());
    size_t truncated = 0, with_candidates = 0;
    std::vector<int32_t> ids;
    for (const size_t i : all) {
        if (bad.count(examples_[i].image)) continue;
        const Example& e = examples_[i];
        TokenizedExample& t = tokens_[i];
        bool cut = false;
        t.caption = caption_tokens(*tokenizer_, e.caption, context, k, true, &cut);
        truncated += cut;
        ids.insert(ids.end(), t.caption.begin(), t.caption.end());
        if (!use_candidates) continue;
        for (const auto& c : e.candidates) {
            if (t.candidates.size() >= config_.candidates) break;
            t.candidates.push_back(caption_tokens(*tokenizer_, c.text, context, k, true, &cut));
            truncated += cut;
            ids.insert(ids.end(), t.candidates.back().begin(), t.candidates.back().end());
            t.candidate_weights.push_back(static_cast<float>(category_weight(e.class_name, c, config_.alpha)));
        }
        with_candidates += !t.candidates.empty();
    }
    if (use_candidates && with_candidates == 0 && !config_.objective.cate_in_batch)
        log_.warn(config_.input + " has no candidate negatives: the category loss is inactive (run dcar-mine-negatives first)");
    if (config_.objective.dtr != DtrMode::none || config_.objective.update_table) {
        std::sort(ids.begin(), ids.end());
        ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
        features_.add(model_, ids);
        log_.info("token features: " + std::to_string(features_.size()) + " distinct BPE ids");
    }
    std::set<std::string> classes, images;
    for (const size_t i : train_) {
        images.insert(examples_[i].image);
        if (!examples_[i].class_name.empty()) classes.insert(examples_[i].class_name);
    }
    const std::string in_classes = classes.empty()      ? ", none with a class"
                                   : classes.size() == 1 ? " in 1 class"
                                                         : " in " + std::to_string(classes.size()) + " classes";
    log_.info("training on " + std::to_string(train_.size()) + " captions of " + std::to_string(images.size()) + " images" + in_classes +
              (val_.empty() ? "" : ", validating on " + std::to_string(val_.size()) + " captions") +
              (truncated ? "; " + std::to_string(truncated) + " texts cut to the context" : ""));
}

std::vector<std::vector<size_t>> Trainer::epoch_batches(const std::vector<size_t>& examples, int epoch) const {
    std::vector<std::string> groups;
    if (config_.hard_batches)
        for (const size_t i : examples) groups.push_back(examples_[i].meta_category);
    auto batches = batch_order(examples.size(), groups, static_cast<size_t>(config_.batch), config_.seed, epoch, config_.hard_batch_share);
    for (auto& batch : batches)
        for (size_t& i : batch) i = examples[i];
    return batches;
}

StepBatch Trainer::make_batch(const std::vector<size_t>& indices, int epoch) {
    const int64_t b = static_cast<int64_t>(indices.size()), r = preprocess_.resolution;
    StepBatch batch;
    batch.pixels = at::empty({b, 3, r, r}, at::kFloat);
    float* pixels = batch.pixels.data_ptr<float>();
    parallel_for(indices.size(), config_.decode_threads, [&](size_t i) {
        Rng rng(stream_seed(config_.seed, 0x6175670000ull + static_cast<uint64_t>(epoch), indices[i]));
        loader_->load(examples_[indices[i]].image, config_.augment, config_.crop_min, rng, pixels + i * 3 * r * r);
    });
    size_t candidates = 0;
    if (config_.objective.lambda > 0)
        for (const size_t i : indices) candidates = std::max(candidates, tokens_[i].candidates.size());
    batch.candidates = static_cast<int64_t>(candidates);
    batch.weights = at::zeros({b, 1 + batch.candidates}, at::kFloat);
    std::vector<const std::vector<int32_t>*> rows;
    for (int64_t i = 0; i < b; ++i) {
        const TokenizedExample& t = tokens_[indices[static_cast<size_t>(i)]];
        rows.push_back(&t.caption);
        batch.weights[i][0] = 1.0 + config_.alpha;
        for (size_t j = 0; j < candidates; ++j) {
            const bool present = j < t.candidates.size();
            rows.push_back(present ? &t.candidates[j] : &t.caption);  // a filler row, weight 0
            if (present) batch.weights[i][static_cast<int64_t>(j) + 1] = t.candidate_weights[j];
        }
    }
    batch.texts = make_text_batch(rows, context_slots(prompts_.get()));
    for (const size_t i : indices) batch.classes.push_back(examples_[i].class_name);
    return batch;
}

std::pair<double, double> Trainer::validate() {
    c10::InferenceMode guard;
    std::map<std::string, int64_t> image_index;
    std::vector<std::string> images;
    std::vector<int64_t> text_image;
    for (const size_t i : val_) {
        const auto found = image_index.emplace(examples_[i].image, static_cast<int64_t>(images.size()));
        if (found.second) images.push_back(examples_[i].image);
        text_image.push_back(found.first->second);
    }
    const int64_t r = preprocess_.resolution, chunk = config_.batch;
    std::vector<at::Tensor> image_features, text_features;
    for (size_t start = 0; start < images.size(); start += static_cast<size_t>(chunk)) {
        const size_t end = std::min(images.size(), start + static_cast<size_t>(chunk));
        at::Tensor pixels = at::empty({static_cast<int64_t>(end - start), 3, r, r}, at::kFloat);
        parallel_for(end - start, config_.decode_threads, [&](size_t i) {
            Rng unused(0);
            loader_->load(images[start + i], false, 1.0, unused, pixels.data_ptr<float>() + i * 3 * r * r);
        });
        image_features.push_back(normalized(encode_images(model_, pixels.to(device_), prompts_.get())));
    }
    const bool table = config_.dtr_infer == "table";
    for (size_t start = 0; start < val_.size(); start += static_cast<size_t>(chunk)) {
        const size_t end = std::min(val_.size(), start + static_cast<size_t>(chunk));
        std::vector<const std::vector<int32_t>*> rows;
        for (size_t i = start; i < end; ++i) rows.push_back(&tokens_[val_[i]].caption);
        const TextBatch texts = make_text_batch(rows, context_slots(prompts_.get()));
        const at::Tensor weights = table ? table_.weights_for(texts, config_.objective.dtr_config) : at::Tensor();
        text_features.push_back(normalized(encode_texts(model_, texts, weights, prompts_.get())));
    }
    return recall_at_1(at::cat(image_features), at::cat(text_features), text_image);
}

void Trainer::save_checkpoint(int epoch, int64_t step) {
    const std::string state_name = "state-epoch-" + text::zero_padded(static_cast<uint64_t>(epoch), 4) + ".safetensors";
    model::TensorMap state = optimizer_->state();
    if (prompts_) for (auto& [name, t] : prompts_->tensors()) state[name] = t.cpu();
    if (caa_) for (auto& [name, t] : caa_->tensors()) state[name] = t.cpu();
    for (auto& [name, t] : table_.tensors()) state[name] = t;
    model::write_safetensors(config_.output + "/" + state_name, state, {{"format", "dcar-tune-state"}});
    std::string model_name, fingerprint = backbone_fingerprint_;
    if (config_.method == Method::full) {
        model_name = "clip-epoch-" + text::zero_padded(static_cast<uint64_t>(epoch), 4) + ".safetensors";
        model::TensorMap weights;
        for (auto& [name, t] : model_.weights()) weights[name] = t.detach().cpu();
        fingerprint = model::clip_fingerprint(weights, model_.config);
        const auto metadata = model::clip_metadata(model_.config);
        model::write_safetensors(config_.output + "/" + model_name, weights, metadata);
        if (epoch == config_.epochs) model::write_safetensors(config_.output + "/clip.safetensors", weights, metadata);
    }
    CheckpointInfo info;
    info.directory = config_.output;
    info.method = method_name(config_.method);
    info.fingerprint = fingerprint;
    info.initial_fingerprint = backbone_fingerprint_;
    info.backbone_size = model_.config.describe();
    info.backbone_path = config_.model;
    info.has_prompts = prompts_ != nullptr;
    info.prompts = prompt_config_;
    info.caa = config_.caa;
    info.dtr_infer = config_.dtr_infer;
    info.dtr = config_.objective.dtr_config;
    info.options = options_json(config_, backbone_fingerprint_);
    info.history = history_;
    info.command = config_.command_line;
    info.epoch = epoch;
    info.step = step;
    info.state_file = config_.output + "/" + state_name;
    if (!model_name.empty()) info.model_file = config_.output + "/" + model_name;
    write_checkpoint(info);
}

void Trainer::check_config() const {
    if (config_.output.empty()) throw Error(ErrorCode::usage, "-o DIR is required (checkpoints go there)");
    if (config_.batch < 2) throw Error(ErrorCode::usage, "--batch must be at least 2 (the contrastive loss compares within a batch)");
    if (config_.epochs < 1) throw Error(ErrorCode::usage, "--epochs must be at least 1");
    if (config_.method != Method::full && config_.model.empty()) throw Error(ErrorCode::usage, "--model is required (the frozen CLIP)");
    if (config_.method == Method::full && config_.model.empty() && config_.init_size.empty())
        throw Error(ErrorCode::usage, "--method full needs --model CHECKPOINT or --init-size SPEC");
}

std::unique_ptr<CheckpointInfo> Trainer::open_checkpoint() const {
    if (!fs::exists(config_.output + "/checkpoint.json")) return nullptr;
    if (!config_.resume)
        throw_error(ErrorCode::usage, config_.output, "holds a checkpoint already: add --resume to continue it, or choose another directory");
    auto resume = std::make_unique<CheckpointInfo>(read_checkpoint(config_.output));
    log_.info("resuming " + config_.output + " after epoch " + std::to_string(resume->epoch));
    return resume;
}

void Trainer::check_resume_options(const CheckpointInfo& resume) const {
    const Json& previous = resume.options;
    const Json now = options_json(config_, backbone_fingerprint_);
    // An option newer than the checkpoint counts as given at its default.
    const Json defaults = options_json(method_defaults(config_.method), backbone_fingerprint_);
    for (const auto& [key, value] : now.items())
        if (previous.contains(key) ? previous[key] != value : defaults[key] != value)
            throw_error(ErrorCode::usage, config_.output,
                        "was trained with " + key + " = " + (previous.contains(key) ? dump_json(previous[key]) : "(unset)") +
                            " (" + flag_text(recorded_option(key)) + "), this run has " + dump_json(value) +
                            ": resume with the same options");
}

void Trainer::create_learned(const CheckpointInfo* resume, const model::TensorMap& state) {
    if (config_.method != Method::full) {
        prompt_config_ = config_.prompts;
        const int64_t layers = std::min(config_.prompts.text ? model_.config.text_layers : INT64_MAX,
                                        config_.prompts.visual != VisualMode::none ? model_.config.vision_layers : INT64_MAX);
        if (!config_.prompt_depth_given && prompt_config_.depth > layers) {
            log_.info("prompt depth " + std::to_string(prompt_config_.depth) + " cut to the towers' " + std::to_string(layers) + " layers");
            prompt_config_.depth = layers;
        }
        prompts_ = std::make_unique<PromptSet>(resume ? PromptSet::from_tensors(state, prompt_config_, model_, resume->state_file)
                                                      : PromptSet::create(model_, prompt_config_, tokenizer_.get(), config_.seed));
        prompts_->to(device_);
    }
    if (config_.objective.lambda > 0) {
        caa_ = std::make_unique<Caa>(resume ? Caa::from_tensors(state, config_.caa, model_.config.embed_dim, resume->state_file)
                                            : Caa::create(model_.config.embed_dim, config_.caa, stream_seed(config_.seed, 0xcaa)));
        caa_->to(device_);
    }
    table_ = WeightTable(model_.config.vocab_size);
    if (resume) table_ = WeightTable::from_tensors(state, resume->state_file);
    else if (!config_.weight_table.empty()) {
        std::string made_by;
        table_ = load_weight_table(config_.weight_table, &made_by);
        if (table_.vocab_size() != model_.config.vocab_size)
            throw_error(ErrorCode::mismatch, config_.weight_table, "the table has " + std::to_string(table_.vocab_size()) + " ids, the model " + std::to_string(model_.config.vocab_size));
        if (made_by != backbone_fingerprint_)
            log_.warn(config_.weight_table + " was bootstrapped with model " + made_by + ", training uses " + backbone_fingerprint_);
    }

    Optimizer::Parameters parameters;
    if (config_.method == Method::full) parameters = model_.named_tensors();
    if (prompts_) for (auto& p : prompts_->named_tensors()) parameters.push_back(p);
    if (caa_) for (auto& p : caa_->named_tensors()) parameters.push_back(p);
    optimizer_ = std::make_unique<Optimizer>(parameters, config_.optimizer);
    if (resume) optimizer_->load_state(state, resume->state_file);
    int64_t trainable = 0;
    for (auto& [name, t] : parameters) trainable += t->numel();
    log_.info(std::string("method ") + method_name(config_.method) + ": " + std::to_string(trainable) + " trainable parameters");
}

double Trainer::learning_rate(int64_t step) const {
    return scheduled_lr(step, schedule_.total_steps, schedule_.warmup_steps, config_.lr, config_.warmup_lr, config_.warmup);
}

Trainer::EpochResult Trainer::train_epoch(int epoch, const Objective& objective, int64_t& step, std::FILE* step_log) {
    EpochResult result;
    const auto epoch_start = std::chrono::steady_clock::now();
    const std::vector<std::vector<size_t>> batches = epoch_batches(train_, epoch);
    double sum_loss = 0, sum_con = 0, sum_cate = 0;
    int64_t done = 0;
    std::future<StepBatch> next = std::async(std::launch::async, [&, epoch] { return make_batch(batches[0], epoch); });
    for (size_t bi = 0; bi < batches.size(); ++bi) {
        const auto wait_start = std::chrono::steady_clock::now();
        StepBatch batch = next.get();
        if (bi + 1 < batches.size()) next = std::async(std::launch::async, [&, epoch, bi] { return make_batch(batches[bi + 1], epoch); });
        const auto step_start = std::chrono::steady_clock::now();
        batch.pixels = batch.pixels.to(device_);
        const double lr = learning_rate(step);
        optimizer_->zero_grad();
        const StepLosses losses = objective.forward(batch);
        losses.total.backward();
        optimizer_->step(lr);
        const double loss = losses.total.item<double>();
        const auto end = std::chrono::steady_clock::now();
        if (!std::isfinite(loss)) throw Error(ErrorCode::model, "the loss is " + std::to_string(loss) + " at step " + std::to_string(step + 1) + ": lower --lr");
        sum_loss += loss, sum_con += losses.con, sum_cate += losses.cate, ++done, ++step;
        if (step_log) {
            Json line = {{"epoch", epoch + 1}, {"step", step}, {"lr", lr}, {"loss", loss}, {"loss_con", losses.con},
                         {"loss_cate", losses.cate}, {"seconds", std::chrono::duration<double>(end - step_start).count()},
                         {"data_wait", std::chrono::duration<double>(step_start - wait_start).count()}};
            std::fputs((dump_json(line) + "\n").c_str(), step_log);
            std::fflush(step_log);
        }
        log_.progress("steps", static_cast<uint64_t>(step), static_cast<uint64_t>(schedule_.total_steps));
        result.last_loss = loss;
        if (config_.max_steps > 0 && step >= config_.max_steps && bi + 1 < batches.size()) {
            if (next.valid()) next.wait();
            result.cut = true;
            return result;
        }
    }
    result.entry = {{"epoch", epoch + 1}, {"loss", sum_loss / static_cast<double>(done)}, {"loss_con", sum_con / static_cast<double>(done)},
                    {"loss_cate", sum_cate / static_cast<double>(done)}, {"lr", learning_rate(step - 1)},
                    {"seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start).count()}};
    return result;
}

TuneSummary Trainer::run() {
    check_config();
    const std::unique_ptr<CheckpointInfo> resume = open_checkpoint();
    // The step log is a log, not a result: written line by line as steps finish, so it can be followed live. It is
    // opened before the slow start (decoding every image), in DIR if it is asked for there. DIR, where the
    // checkpoints go, is made here, once.
    fs::create_directories(config_.output);
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> step_log(nullptr, &std::fclose);
    if (!config_.step_log.empty()) {
        if (resume) trim_step_log(config_.step_log, resume->step);
        step_log.reset(std::fopen(config_.step_log.c_str(), resume ? "a" : "w"));
        if (!step_log) throw_errno(config_.step_log, "cannot write the step log");
    }
    load_backbone(resume.get());
    tokenizer_ = std::make_unique<model::Tokenizer>(model::vocab_path(config_.vocab));
    preprocess_.resolution = static_cast<int>(model_.config.image_resolution);
    loader_ = std::make_unique<ImageLoader>(preprocess_, size_t(2) << 30);

    model::TensorMap state;
    if (resume) {
        check_resume_options(*resume);
        state = model::read_safetensors(resume->state_file);
        history_ = resume->history;
    }
    create_learned(resume.get(), state);

    prepare_data();
    ObjectiveConfig objective_config = config_.objective;
    objective_config.alpha = config_.alpha;
    const Objective objective(model_, prompts_.get(), caa_.get(), &features_, &table_, objective_config);
    const int64_t per_epoch = static_cast<int64_t>(epoch_batches(train_, 0).size());
    schedule_.total_steps = per_epoch * config_.epochs;
    schedule_.warmup_steps = config_.warmup_steps > 0 ? config_.warmup_steps : per_epoch * config_.warmup_epochs;

    TuneSummary summary;
    summary.checkpoint = config_.output + "/checkpoint.json";
    int64_t step = resume ? resume->step : 0;
    summary.steps = step;
    const int first_epoch = resume ? resume->epoch : 0;
    for (int epoch = first_epoch; epoch < config_.epochs; ++epoch) {
        EpochResult result = train_epoch(epoch, objective, step, step_log.get());
        summary.steps = step;
        summary.last_loss = result.last_loss;
        if (result.cut) {
            log_.info("stopped after " + std::to_string(step) + " steps (--max-steps), inside epoch " + std::to_string(epoch + 1) + ": no checkpoint for it");
            break;
        }
        Json& entry = result.entry;
        std::string val_text;
        if (!val_.empty()) {
            const auto [i2t, t2i] = validate();
            entry["val_r1_i2t"] = i2t;
            entry["val_r1_t2i"] = t2i;
            summary.val_r1_i2t = i2t, summary.val_r1_t2i = t2i;
            char buf[64];
            std::snprintf(buf, sizeof buf, ", val R@1 i2t %.1f t2i %.1f", i2t, t2i);
            val_text = buf;
        }
        history_.push_back(entry);
        save_checkpoint(epoch + 1, step);
        summary.epochs_done = epoch + 1;
        char line[160];
        std::snprintf(line, sizeof line, "epoch %d/%d: loss %.4f (con %.4f, cate %.4f), %.1f s", epoch + 1, config_.epochs,
                      entry["loss"].get<double>(), entry["loss_con"].get<double>(), entry["loss_cate"].get<double>(), entry["seconds"].get<double>());
        log_.info(line + val_text);
        if (config_.max_steps > 0 && step >= config_.max_steps) break;
    }
    if (resume && first_epoch >= config_.epochs) {
        summary.epochs_done = first_epoch;
        log_.info("nothing to do: " + config_.output + " finished all " + std::to_string(config_.epochs) + " epochs");
    }
    return summary;
}

}  // namespace

TuneSummary run_tune(const TuneConfig& config, const Log& log) {
    Trainer trainer(config, log);
    return trainer.run();
}

}  // namespace dcar::train
