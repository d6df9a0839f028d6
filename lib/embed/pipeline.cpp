// The embedding pipeline. Decoding runs on worker threads that claim items in order and may run at most a
// window ahead of the model, so memory stays bounded while neither side waits on the other; the model thread
// consumes decoded items strictly in input order, which keeps outputs deterministic whatever the thread count.
#include "embed/pipeline.hpp"

#include <ATen/ATen.h>
#include <algorithm>
#include <c10/core/InferenceMode.h>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <unistd.h>

#include "core/json.hpp"
#include "core/error.hpp"
#include "core/fnv.hpp"
#include "core/text.hpp"
#include "io/sink.hpp"
#include "io/source.hpp"
#include "manifest/manifest.hpp"
#include "model/preprocess.hpp"
#include "model/runtime.hpp"
#include "model/tokenizer.hpp"
#include "model/weights.hpp"
#include "prompts/inference.hpp"
#include "prompts/encode.hpp"

namespace dcar::embed {

namespace fs = std::filesystem;

namespace {

// Batches of captions a GPU window gathers before sorting them by length.
constexpr size_t caption_window_batches = 8;

struct Item {
    Item(std::string id_, std::string source_, std::string label_, size_t shard_ = 0, std::string member_ = "")
        : id(std::move(id_)), source(std::move(source_)), label(std::move(label_)), shard(shard_), member(std::move(member_)) {}
    std::string id;
    std::string source;  // image path, or caption text; "SHARD.tar:MEMBER" for a webdataset image
    std::string label;
    size_t shard = 0;    // webdataset: index into EmbedConfig::shards
    std::string member;  // webdataset: the image member ("" = read `source` as a file)
};

struct Reject {
    std::string id, source, reason;
};

bool is_image_kind(InputKind kind) {
    return kind != InputKind::manifest_captions && kind != InputKind::caption_lines && kind != InputKind::webdataset_captions;
}
bool is_webdataset(InputKind kind) { return kind == InputKind::webdataset_images || kind == InputKind::webdataset_captions; }

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return s;
}

// A name fit for a one-line message: tabs, line breaks and other control bytes shown as \t, \n, \xNN.
std::string visible(const std::string& name) {
    std::string out;
    for (const unsigned char c : name) {
        if (c == '\t') out += "\\t";
        else if (c == '\n') out += "\\n";
        else if (c < 0x20 || c == 0x7f) {
            char hex[5];
            std::snprintf(hex, sizeof hex, "\\x%02x", c);
            out += hex;
        } else out += char(c);
    }
    return out;
}

// The samples of webdataset shards: each shard listed in order; what cannot be used (a shard that cannot be
// opened or read to its end, a bad member, a sample without the wanted member) is reported and skipped.
void enumerate_samples(const EmbedConfig& config, const Log& log, std::vector<Item>& items, uint64_t& skipped_records,
                       std::vector<Reject>& line_rejects) {
    const bool images = config.kind == InputKind::webdataset_images;
    auto problem = [&](const std::string& place, const std::string& reason) {
        if (config.on_error_fail) throw_error(ErrorCode::format, place, reason);
        log.warn(place + ": " + reason);
        line_rejects.push_back({"", place, reason});
        ++skipped_records;
    };
    std::string wanted;
    for (const auto& e : config.keys.image) wanted += (wanted.empty() ? "." : ", .") + e;
    if (!images) wanted = "." + config.keys.caption;
    for (size_t t = 0; t < config.shards.size(); ++t) {
        const std::string& path = config.shards[t];
        webdataset::Listing listing;
        try {
            listing = webdataset::list_shard(path, config.keys);
        } catch (const Error& e) {  // the message names the shard
            if (config.on_error_fail) throw;
            log.warn(std::string(e.what()) + "; skipped");
            line_rejects.push_back({"", path, e.what()});
            ++skipped_records;
            continue;
        }
        for (const auto& p : listing.problems) problem(p.member.empty() ? path : path + ":" + p.member, p.reason);
        size_t without = 0, usable = 0;
        for (auto& sample : listing.samples) {
            if (images ? sample.image_member.empty() : !sample.has_caption) {
                ++without;
                continue;
            }
            if (!images && text::trim(sample.caption).empty()) {
                problem(path + ":" + sample.key + "." + config.keys.caption, "empty caption");
                continue;
            }
            ++usable;
            if (images) items.push_back({sample.key, path + ":" + sample.image_member, sample.label, t, sample.image_member});
            else items.push_back({sample.key, sample.caption, sample.label, t, ""});
        }
        if (without > 0) {
            log.warn(path + ": " + std::to_string(without) + " of " + std::to_string(listing.samples.size()) +
                     " samples have no " + wanted + " member; skipped");
            skipped_records += without;
        }
        if (usable == 0 && without == 0 && listing.problems.empty()) log.warn(path + ": no samples");
    }
    if (items.empty())
        throw Error(ErrorCode::format, "no sample in the " + std::to_string(config.shards.size()) + " shard(s) has a " + wanted + " member");
}

// Input lines that name no usable item go to `line_rejects` as well (id as given, source "INPUT:line N").
std::vector<Item> enumerate_items(const EmbedConfig& config, const Log& log, uint64_t& skipped_records,
                                  std::vector<Reject>& line_rejects) {
    std::vector<Item> items;
    switch (config.kind) {
        case InputKind::image_list: {
            auto source = io::open_source(config.input);
            std::string line;
            while (io::read_line(*source, line)) {
                if (text::trim(line).empty()) continue;
                items.push_back({line, manifest::resolve_image(config.image_root, line), ""});
            }
            break;
        }
        case InputKind::folder: {
            std::error_code ec;
            const fs::path root(config.input);
            if (!fs::is_directory(root, ec)) throw_error(ErrorCode::io, config.input, "not a directory");
            for (fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec), end; it != end; it.increment(ec)) {
                if (ec) break;
                if (!it->is_regular_file(ec)) continue;
                const std::string ext = lower(it->path().extension().string());
                if (std::find(config.extensions.begin(), config.extensions.end(), ext) == config.extensions.end()) continue;
                const fs::path rel = it->path().lexically_relative(root);
                const std::string parent = rel.parent_path().string();
                const std::string bad = text::check_id(rel.string());
                if (!bad.empty()) {  // a tab or line break in a name: ids cannot carry it, so the file is left out
                    log.warn("skipped " + visible(rel.string()) + ": " + bad);
                    ++skipped_records;
                    continue;
                }
                items.push_back({rel.string(), it->path().string(), parent});
            }
            if (ec) throw_error(ErrorCode::io, config.input, "cannot list: " + ec.message());
            std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) { return a.id < b.id; });
            break;
        }
        case InputKind::manifest_images:
        case InputKind::manifest_captions: {
            manifest::ReadOptions options;
            options.image_root = config.image_root;
            options.layout = config.layout;
            const auto m = manifest::read_manifest(config.input, options, log);
            skipped_records += m.skipped;
            size_t without_image = 0;
            for (const auto& item : m.items) {
                if (config.kind == InputKind::manifest_images) {
                    if (!item.image.empty()) items.push_back({item.id, item.image, item.class_name});
                    else ++without_image;
                } else {
                    for (size_t j = 0; j < item.captions.size(); ++j)
                        items.push_back({manifest::caption_id(item.id, j), item.captions[j], item.class_name});
                }
            }
            if (without_image > 0) {
                // FDRD files name no usable path (a placeholder, or the authors' absolute paths) unless a layout
                // rebuilds it: silence here would look like an empty collection.
                log.warn(std::to_string(without_image) + " of " + std::to_string(m.items.size()) + " records in " + config.input +
                         " have no image path; give --layout (and --image-root) to rebuild FDRD paths");
                skipped_records += without_image;
                if (items.empty()) throw_error(ErrorCode::format, config.input, "no record has an image path");
            }
            break;
        }
        case InputKind::webdataset_images:
        case InputKind::webdataset_captions:
            enumerate_samples(config, log, items, skipped_records, line_rejects);
            break;
        case InputKind::caption_lines: {
            auto source = io::open_source(config.input);
            std::string line;
            uint64_t number = 0;
            while (io::read_line(*source, line)) {
                const uint64_t row = number++;
                if (text::trim(line).empty()) continue;
                const size_t tab = line.find('\t');
                Item item = tab == std::string::npos ? Item{std::to_string(row), line, ""}
                                                     : Item{line.substr(0, tab), line.substr(tab + 1), ""};
                const std::string bad = item.id.empty() ? "empty id" : text::check_id(item.id);
                if (!bad.empty() || text::trim(item.source).empty()) {
                    const std::string place = config.input + ":" + std::to_string(row + 1);
                    const std::string reason = bad.empty() ? "empty caption" : bad;
                    log.warn(config.input + ": line " + std::to_string(row + 1) + ": " + reason + "; skipped");
                    line_rejects.push_back({item.id, place, reason});
                    ++skipped_records;
                    continue;
                }
                items.push_back(std::move(item));
            }
            break;
        }
    }
    for (const auto& item : items) {
        const std::string bad = text::check_id(item.id);
        if (!bad.empty() && !item.member.empty())
            throw_error(ErrorCode::format, item.source, "key '" + item.id.substr(0, 80) + "': " + bad);
        if (!bad.empty()) throw_error(ErrorCode::format, config.input, "item '" + item.id.substr(0, 80) + "': " + bad);
    }
    return items;
}

// Decoded images, produced ahead of the consumer by worker threads.
class DecodePool {
public:
    struct Decoded {
        std::vector<float> pixels;
        std::string error;
    };

    DecodePool(const std::vector<const Item*>& items, const std::vector<std::string>& shards, const model::PreprocessConfig& config,
               int threads, size_t window)
        : items_(items), shards_(shards), config_(config), window_(window) {
        for (int t = 0; t < std::max(1, threads); ++t) workers_.emplace_back([this] { work(); });
    }
    ~DecodePool() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stop_ = true;
        }
        changed_.notify_all();
        for (auto& w : workers_) w.join();
    }

    Decoded take(size_t i) {
        std::unique_lock<std::mutex> lock(mutex_);
        changed_.wait(lock, [&] { return ready_.count(i) > 0; });
        Decoded d = std::move(ready_[i]);
        ready_.erase(i);
        consumed_ = i + 1;
        changed_.notify_all();
        return d;
    }

private:
    void work() {
        const size_t floats = size_t(3) * config_.resolution * config_.resolution;
        for (;;) {
            size_t i;
            std::string bytes, read_error;  // a webdataset member's bytes, read in item order (the shard is a stream)
            {
                std::unique_lock<std::mutex> lock(mutex_);
                changed_.wait(lock, [&] { return stop_ || next_ >= items_.size() || next_ < consumed_ + window_; });
                if (stop_ || next_ >= items_.size()) return;
                i = next_++;
                if (!items_[i]->member.empty()) {
                    try {
                        bytes = shard_reader_.read(shards_[items_[i]->shard], items_[i]->member);
                    } catch (const std::exception& e) {
                        read_error = e.what();
                    }
                }
            }
            Decoded d;
            try {
                if (!read_error.empty()) throw Error(ErrorCode::format, read_error);
                d.pixels.resize(floats);
                if (items_[i]->member.empty()) model::preprocess_file(items_[i]->source, config_, d.pixels.data());
                else model::preprocess_buffer(bytes.data(), bytes.size(), items_[i]->source, config_, d.pixels.data());
            } catch (const std::exception& e) {
                d.pixels.clear();
                d.error = e.what();
            }
            std::lock_guard<std::mutex> lock(mutex_);
            ready_[i] = std::move(d);
            changed_.notify_all();
        }
    }

    const std::vector<const Item*>& items_;
    const std::vector<std::string>& shards_;
    webdataset::ImageReader shard_reader_;  // guarded by mutex_
    model::PreprocessConfig config_;
    size_t window_;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::map<size_t, Decoded> ready_;
    size_t next_ = 0, consumed_ = 0;
    bool stop_ = false;
    std::vector<std::thread> workers_;
};

class Embedder {
public:
    Embedder(const EmbedConfig& config, const Log& log) : config_(config), log_(log) {
        const at::Device device = model::resolve_device(config.device);
        clip_ = model::load_clip(config.model, device, model::parse_dtype(config.dtype), config.model_options);
        log.info("model " + clip_.fingerprint + ": " + clip_.config.describe() + " on " + device.str() + " in " + config.dtype);
        model_id_ = clip_.fingerprint;
        if (!config.prompts.empty()) {
            prompts_ = std::make_unique<train::InferencePrompts>(train::load_inference_prompts(config.prompts, clip_));
            if (config.token_weights != "auto" && config.token_weights != "table" && config.token_weights != "none")
                throw Error(ErrorCode::usage, "--token-weights is auto, table or none");
            if (config.token_weights == "table" && !prompts_->table)
                throw_error(ErrorCode::usage, config.prompts, "has no token weight table (trained without DTR)");
            use_table_ = prompts_->table && config.token_weights != "none";
            // Prompted embeddings live in their own space: the stream says which prompts made them, so that a
            // zero-shot gallery and prompted queries are never compared by mistake.
            model_id_ += "+prompts-" + model::weights_fingerprint(prompts_->prompts.tensors()).substr(5);
            log.info("prompts " + config.prompts + (use_table_ ? " with table token weights" : ""));
        }
        if (!is_image_kind(config.kind))
            tokenizer_ = std::make_unique<model::Tokenizer>(model::vocab_path(config.vocab));
        preprocess_.resolution = int(clip_.config.image_resolution);
        preprocess_.max_pixels = config.max_pixels;
        preprocess_.shrink_on_load = config.shrink_on_load;
    }

    std::string device() const { return clip_.device().str(); }
    std::string model_id() const { return model_id_; }

    stream::Header header() const {
        stream::Header h;
        h.dim = uint32_t(clip_.config.embed_dim);
        h.dtype = config_.store;
        h.modality = is_image_kind(config_.kind) ? stream::Modality::image : stream::Modality::text;
        h.normalized = config_.normalize;
        h.model = model_id_;
        h.provenance.push_back(config_.provenance);
        return h;
    }

    // Embeds items and writes them; returns how many were embedded. Rejects are appended to `rejects`.
    uint64_t embed(const std::vector<const Item*>& items, stream::EmbeddingWriter& writer, std::vector<Reject>& rejects,
                   uint64_t& done_so_far, uint64_t total) {
        return is_image_kind(config_.kind) ? embed_images(items, writer, rejects, done_so_far, total)
                                           : embed_captions(items, writer, rejects, done_so_far, total);
    }

private:
    void reject(std::vector<Reject>& rejects, const Item& item, const std::string& reason) {
        if (config_.on_error_fail) throw Error(ErrorCode::format, reason);
        log_.warn("skipped " + item.id + ": " + reason);
        rejects.push_back({item.id, is_image_kind(config_.kind) ? item.source : "", reason});
    }

    void write_features(const at::Tensor& features, const std::vector<const Item*>& batch_items, stream::EmbeddingWriter& writer) {
        at::Tensor cpu = features.to(at::kFloat).cpu().contiguous();
        stream::Batch out;
        out.dim = uint32_t(cpu.size(1));
        out.vectors.assign(cpu.data_ptr<float>(), cpu.data_ptr<float>() + cpu.numel());
        for (const Item* item : batch_items) {
            out.ids.push_back(item->id);
            out.labels.push_back(item->label);
        }
        if (config_.normalize) stream::normalize_rows(out.vectors.data(), out.size(), out.dim);
        writer.write(out);
    }

    uint64_t embed_images(const std::vector<const Item*>& items, stream::EmbeddingWriter& writer, std::vector<Reject>& rejects,
                          uint64_t& done_so_far, uint64_t total) {
        const size_t batch = size_t(std::max(1, config_.batch));
        DecodePool pool(items, config_.shards, preprocess_, config_.decode_threads, batch * 4 + size_t(config_.decode_threads));
        const size_t floats = size_t(3) * preprocess_.resolution * preprocess_.resolution;
        std::vector<float> pixels;
        std::vector<const Item*> batch_items;
        uint64_t embedded = 0;
        auto flush = [&] {
            if (batch_items.empty()) return;
            c10::InferenceMode guard;
            const at::Tensor input = at::from_blob(pixels.data(), {int64_t(batch_items.size()), 3, preprocess_.resolution, preprocess_.resolution}, at::kFloat);
            write_features(train::infer_images(clip_, input, prompts_ ? &prompts_->prompts : nullptr), batch_items, writer);
            embedded += batch_items.size();
            done_so_far += batch_items.size();
            log_.progress("images", done_so_far, total);
            batch_items.clear();
            pixels.clear();
        };
        for (size_t i = 0; i < items.size(); ++i) {
            auto decoded = pool.take(i);
            if (!decoded.error.empty()) {
                reject(rejects, *items[i], decoded.error);
                ++done_so_far;
                continue;
            }
            pixels.insert(pixels.end(), decoded.pixels.begin(), decoded.pixels.begin() + long(floats));
            batch_items.push_back(items[i]);
            if (batch_items.size() == batch) flush();
        }
        flush();
        return embedded;
    }

    uint64_t embed_captions(const std::vector<const Item*>& items, stream::EmbeddingWriter& writer, std::vector<Reject>& rejects,
                            uint64_t& done_so_far, uint64_t total) {
        const size_t batch = size_t(std::max(1, config_.batch));
        // On a GPU the captions are gathered in windows of several batches and run in batches of similar length
        // (train::infer_texts); on the CPU each caption runs alone whatever the window.
        const size_t window = clip_.device().is_cpu() ? batch : batch * caption_window_batches;
        const train::PromptSet* prompts = prompts_ ? &prompts_->prompts : nullptr;
        const int64_t k = train::context_slots(prompts);
        std::vector<std::vector<int32_t>> captions;
        std::vector<const Item*> batch_items;
        uint64_t embedded = 0;
        auto flush = [&] {
            if (batch_items.empty()) return;
            c10::InferenceMode guard;
            std::vector<const std::vector<int32_t>*> rows;
            for (const auto& c : captions) rows.push_back(&c);
            train::TokenWeighting weighting;
            if (use_table_) weighting = [&](const train::TextBatch& texts) { return prompts_->table->weights_for(texts, prompts_->dtr); };
            write_features(train::infer_texts(clip_, rows, prompts, weighting, batch), batch_items, writer);
            embedded += batch_items.size();
            done_so_far += batch_items.size();
            log_.progress("captions", done_so_far, total);
            batch_items.clear();
            captions.clear();
        };
        for (const Item* item : items) {
            bool cut = false;
            try {
                captions.push_back(train::caption_tokens(*tokenizer_, item->source, clip_.config.context_length, k, config_.truncate, &cut));
            } catch (const Error& e) {
                reject(rejects, *item, e.what());
                ++done_so_far;
                continue;
            }
            if (cut) ++truncated_;
            batch_items.push_back(item);
            if (batch_items.size() == window) flush();
        }
        flush();
        return embedded;
    }

public:
    uint64_t truncated() const { return truncated_; }

private:
    const EmbedConfig& config_;
    const Log& log_;
    uint64_t truncated_ = 0;
    model::Clip clip_;
    std::string model_id_;
    std::unique_ptr<train::InferencePrompts> prompts_;
    bool use_table_ = false;
    std::unique_ptr<model::Tokenizer> tokenizer_;
    model::PreprocessConfig preprocess_;
};

void write_rejects(const std::string& path, const std::vector<Reject>& rejects) {
    auto sink = io::open_sink(path);
    for (const auto& r : rejects) {
        std::string reason = r.reason;
        std::replace(reason.begin(), reason.end(), '\t', ' ');
        std::replace(reason.begin(), reason.end(), '\n', ' ');
        sink->write(r.id + "\t" + r.source + "\t" + reason + "\n");
    }
    sink->commit();
}

// Statistics of a run or of one part, for batch jobs: counts, skipped items by reason (a reason's text before
// its first colon, such as "cannot decode"), time and rate, where it ran and with which model.
struct Stats {
    uint64_t items = 0, embedded = 0, resumed = 0;
    std::vector<Reject> skipped;
    double seconds = 0;
};

void write_stats(const std::string& path, const Stats& s, const EmbedConfig& config, const std::string& device,
                 const std::string& model, const char* scope, int64_t part) {
    nlohmann::ordered_json j;
    j["scope"] = scope;
    if (part >= 0) j["part"] = part;
    j["shard"] = std::to_string(config.shard_index) + "/" + std::to_string(config.shard_count);
    j["items"] = s.items;
    j["embedded"] = s.embedded;
    if (part < 0) j["resumed"] = s.resumed;
    j["skipped"] = s.skipped.size();
    nlohmann::ordered_json reasons = nlohmann::ordered_json::object();
    std::map<std::string, uint64_t> by_reason;
    for (const auto& r : s.skipped) {
        std::string reason = r.reason;  // "<source>: cannot decode: <detail>" → "cannot decode"
        if (!r.source.empty() && reason.rfind(r.source + ": ", 0) == 0) reason.erase(0, r.source.size() + 2);
        ++by_reason[reason.substr(0, reason.find(':'))];
    }
    for (const auto& [reason, n] : by_reason) reasons[reason] = n;
    j["skipped_by_reason"] = reasons;
    j["seconds"] = std::round(s.seconds * 1000) / 1000;
    j["items_per_second"] = s.seconds > 0 ? std::round(double(s.embedded + s.skipped.size()) / s.seconds * 10) / 10 : 0.0;
    j["device"] = device;
    j["dtype"] = config.dtype;
    j["model"] = model;
    auto sink = io::open_sink(path);
    sink->write(dump_json(j, 1) + "\n");
    sink->commit();
}

std::vector<Reject> read_rejects(const std::string& path) {
    std::vector<Reject> rejects;
    auto source = io::open_source(path);
    std::string line;
    while (io::read_line(*source, line)) {
        const auto f = text::split(line, '\t');
        if (f.size() == 3) rejects.push_back({f[0], f[1], f[2]});
    }
    return rejects;
}

// The output can be written: its directory exists and is writable (a file is written as a temporary there,
// then renamed); with --resume the output directory is created now.
void check_output_place(const EmbedConfig& config) {
    if (config.output == "-") return;
    std::error_code ec;
    if (config.resume) {
        fs::create_directories(config.output, ec);
        if (ec || !fs::is_directory(config.output))
            throw_error(ErrorCode::io, config.output, "cannot create the output directory: " + (ec ? ec.message() : "not a directory"));
        return;
    }
    const fs::path parent = fs::path(config.output).parent_path();
    const std::string dir = parent.empty() ? "." : parent.string();
    if (::access(dir.c_str(), W_OK | X_OK) != 0) throw_errno(config.output, "cannot write in " + dir);
}

// What a resumable run's parts depend on, in the order a refusal checks them: the items (their count and a
// hash of their ids in order), the shard, the part size, and everything that changes the numbers or the
// format. Kept as run-SSSSS.json beside the parts; a resume that differs in any of these is refused, naming
// the first difference, since its parts would not line up with the ones already done.
nlohmann::ordered_json run_record(const EmbedConfig& config, const std::vector<Item>& all, const stream::Header& header) {
    Fnv1a64 ids;  // over the ids, each followed by a newline
    for (const Item& item : all) ids.add(item.id + "\n");
    nlohmann::ordered_json j;
    j["items"] = all.size();
    j["ids"] = ids.hex();
    j["shard"] = std::to_string(config.shard_index) + "/" + std::to_string(config.shard_count);
    j["part_size"] = is_webdataset(config.kind) ? 0 : config.part_size;  // 0: one part per shard file
    j["model"] = header.model;  // weights and prompts
    j["dtype"] = config.dtype;
    j["token_weights"] = config.token_weights;
    j["modality"] = stream::to_string(header.modality);
    j["store"] = stream::to_string(config.store);
    j["normalize"] = config.normalize;
    j["format"] = config.write.format == stream::Format::npy ? "npy" : "dcs";
    j["truncate"] = config.truncate;
    j["max_pixels"] = config.max_pixels;
    j["shrink_on_load"] = config.shrink_on_load;
    return j;
}

// Refuses a resume whose run differs from the one that made the parts in `dir`; records the run otherwise.
void check_resume(const std::string& dir, const std::string& record_path, const nlohmann::ordered_json& now, bool any_part) {
    if (fs::exists(record_path)) {
        auto source = io::open_source(record_path);
        std::string text, line;
        while (io::read_line(*source, line)) text += line;
        const auto before = nlohmann::ordered_json::parse(text, nullptr, false);
        if (before.is_discarded() || !before.is_object()) throw_error(ErrorCode::format, record_path, "not a run record");
        for (const auto& [key, value] : now.items()) {
            const auto it = before.find(key);
            const std::string was = it == before.end() ? "(unset)" : dump_json(*it);
            if (it == before.end() || *it != value)
                throw_error(ErrorCode::usage, dir, "was embedded with " + key + " = " + was + ", this run has " + dump_json(value) +
                                                       ": resume with the same inputs and options, or into a new directory");
        }
        return;
    }
    if (any_part)
        throw_error(ErrorCode::usage, dir, "holds parts of this shard but no " + fs::path(record_path).filename().string() +
                                               " to check them against: resume into a new directory");
    auto sink = io::open_sink(record_path);
    sink->write(dump_json(now, 1) + "\n");
    sink->commit();
}

}  // namespace

EmbedSummary run(const EmbedConfig& config, const Log& log) {
    const auto start = std::chrono::steady_clock::now();
    EmbedSummary summary;
    uint64_t skipped_records = 0;
    // Fail fast: the output's place and the model are checked before a long walk over the inputs.
    check_output_place(config);
    Embedder embedder(config, log);
    std::vector<Reject> line_rejects;
    const std::vector<Item> all = enumerate_items(config, log, skipped_records, line_rejects);
    // Items are split among the run's shards one by one; webdataset items by their shard file.
    const bool by_shard_file = is_webdataset(config.kind);
    std::vector<const Item*> mine;
    for (size_t i = 0; i < all.size(); ++i)
        if ((by_shard_file ? all[i].shard : i) % config.shard_count == config.shard_index) mine.push_back(&all[i]);
    const stream::Header header = embedder.header();
    std::vector<Reject> rejects;
    uint64_t done = 0;
    const uint64_t total = mine.size();

    if (!config.resume) {
        auto writer = stream::open_writer(io::open_sink(config.output), header, config.write);
        summary.embedded = embedder.embed(mine, *writer, rejects, done, total);
        writer->finish();
    } else {
        std::error_code ec;  // the directory exists: check_output_place made it
        const std::string ext = config.write.format == stream::Format::npy ? ".npy" : ".dcs";
        const uint64_t part_size = std::max<uint64_t>(1, config.part_size);
        const std::string shard = text::zero_padded(config.shard_index, 5);
        bool any_part = false;
        for (const auto& entry : fs::directory_iterator(config.output, ec))
            any_part = any_part || entry.path().filename().string().rfind("part-" + shard + "-", 0) == 0;
        check_resume(config.output, config.output + "/run-" + shard + ".json", run_record(config, all, header), any_part);
        // Parts of part_size items, numbered from 0; webdataset: one part per shard file, numbered as the file.
        std::vector<std::pair<uint64_t, std::vector<const Item*>>> parts;
        if (by_shard_file) {
            std::map<size_t, size_t> part_of_file;
            for (size_t t = config.shard_index; t < config.shards.size(); t += config.shard_count) {
                part_of_file[t] = parts.size();
                parts.push_back({t, {}});
            }
            for (const Item* item : mine) parts[part_of_file.at(item->shard)].second.push_back(item);
        } else {
            for (uint64_t p = 0; p * part_size < mine.size(); ++p) {
                const auto first = mine.begin() + long(p * part_size);
                const auto last = mine.begin() + long(std::min<uint64_t>(mine.size(), (p + 1) * part_size));
                parts.push_back({p, std::vector<const Item*>(first, last)});
            }
        }
        for (const auto& [p, part] : parts) {
            const std::string base = config.output + "/part-" + shard + "-" + text::zero_padded(p, 6);
            if (fs::exists(base + ".done")) {  // finished by an earlier run: its rejects still count
                const auto old = read_rejects(base + ".done");
                rejects.insert(rejects.end(), old.begin(), old.end());
                summary.resumed += part.size();
                done += part.size();
                continue;
            }
            std::vector<Reject> part_rejects;
            stream::WriteOptions options = config.write;
            options.ids_path.clear();
            const auto part_start = std::chrono::steady_clock::now();
            auto writer = stream::open_writer(io::open_sink(base + ext), header, options);
            Stats part_stats;
            part_stats.items = part.size();
            part_stats.embedded = embedder.embed(part, *writer, part_rejects, done, total);
            summary.embedded += part_stats.embedded;
            writer->finish();
            part_stats.skipped = part_rejects;
            part_stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - part_start).count();
            write_stats(base + ".stats.json", part_stats, config, embedder.device(), embedder.model_id(), "part", int64_t(p));
            write_rejects(base + ".done", part_rejects);  // the marker lists the part's rejects
            rejects.insert(rejects.end(), part_rejects.begin(), part_rejects.end());
        }
    }
    if (embedder.truncated() > 0)
        log.info(std::to_string(embedder.truncated()) + " caption(s) were cut to the model's context (OpenAI's truncate=True)");
    summary.rejected = rejects.size();
    summary.skipped_records = skipped_records;
    if (!config.rejects.empty()) {
        std::vector<Reject> all_rejects = line_rejects;
        all_rejects.insert(all_rejects.end(), rejects.begin(), rejects.end());
        write_rejects(config.rejects, all_rejects);
    }
    summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!config.stats.empty()) {
        Stats run_stats;
        run_stats.items = mine.size();
        run_stats.embedded = summary.embedded;
        run_stats.resumed = summary.resumed;
        run_stats.skipped = line_rejects;
        run_stats.skipped.insert(run_stats.skipped.end(), rejects.begin(), rejects.end());
        run_stats.seconds = summary.seconds;
        write_stats(config.stats, run_stats, config, embedder.device(), embedder.model_id(), "run", -1);
    }
    return summary;
}

}  // namespace dcar::embed
