// The score pipeline: open both inputs, refuse pairs that cannot be compared, match the ground truth, report
// what was left out, then rank in both directions and summarise. Inputs are held in memory (score inputs are
// test splits, tens of thousands of rows); the similarity matrix is not (recall.hpp's chunking).
#include "metrics/score.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>

#include "core/error.hpp"
#include "core/text.hpp"
#include "stream/embeddings.hpp"

namespace dcar::metrics {

std::vector<int> check_ks(std::vector<int> ks) {
    if (ks.empty()) throw Error(ErrorCode::usage, "--recall-at: no K given");
    for (int k : ks)
        if (k <= 0) throw Error(ErrorCode::usage, "--recall-at: K must be a positive integer, not " + std::to_string(k));
    std::sort(ks.begin(), ks.end());
    ks.erase(std::unique(ks.begin(), ks.end()), ks.end());
    return ks;
}

std::vector<int> parse_ks(const std::vector<std::string>& values) {
    std::vector<int> ks;
    for (const auto& value : values)
        for (const auto& part : text::split(value, ',')) {
            const std::string item = text::trim(part);
            char* end = nullptr;
            errno = 0;
            const long k = item.empty() ? 0 : std::strtol(item.c_str(), &end, 10);
            if (item.empty() || *end != '\0' || errno == ERANGE || k <= 0 || k > 1000000000)
                throw Error(ErrorCode::usage, "--recall-at: '" + item + "' is not a positive integer");
            ks.push_back(int(k));
        }
    return check_ks(ks);
}

namespace {

// Keeps rows[i] of `batch` (ascending) as its row i, dropping the rest, then normalises. Works in place:
// rows only move towards the front.
void compact_rows(stream::Batch& batch, const std::vector<size_t>& rows) {
    for (size_t i = 0; i < rows.size(); ++i) {
        if (rows[i] == i) continue;
        std::memmove(batch.vectors.data() + i * batch.dim, batch.row(rows[i]), batch.dim * sizeof(float));
        batch.ids[i] = std::move(batch.ids[rows[i]]);
        batch.labels[i] = std::move(batch.labels[rows[i]]);
    }
    batch.ids.resize(rows.size());
    batch.labels.resize(rows.size());
    batch.vectors.resize(rows.size() * batch.dim);
    stream::normalize_rows(batch.vectors.data(), batch.size(), batch.dim);
}

void check_finite(const stream::Batch& batch, const std::string& name) {
    for (size_t i = 0; i < batch.size(); ++i)
        for (uint32_t d = 0; d < batch.dim; ++d)
            if (!std::isfinite(batch.row(i)[d]))
                throw_error(ErrorCode::format, name, "record '" + batch.ids[i] + "': value " + std::to_string(d) + " is not finite");
}

void warn_excluded(const Log& log, size_t count, const std::vector<std::string>& examples, const std::string& what) {
    if (count == 0) return;
    std::string msg = std::to_string(count) + " " + what + " excluded (e.g. " + text::join(examples, ", ");
    msg += count > examples.size() ? ", ...)" : ")";
    log.warn(msg);
}

std::vector<ClassMetrics> per_class_metrics(const GroundTruth& gt, const Ranks& i2t, const Ranks& t2i,
                                            const std::vector<int>& ks) {
    // A caption's class is that of its (first) image: captions are written about one image.
    std::map<std::string, std::pair<std::vector<uint64_t>, std::vector<uint64_t>>> by_class;
    for (size_t i = 0; i < gt.image_rows.size(); ++i)
        if (!gt.image_classes[i].empty()) by_class[gt.image_classes[i]].first.push_back(i2t.optimistic[i]);
    for (size_t t = 0; t < gt.text_rows.size(); ++t) {
        const std::string& name = gt.image_classes[gt.text_positives[t].front()];
        if (!name.empty()) by_class[name].second.push_back(t2i.optimistic[t]);
    }
    std::vector<ClassMetrics> out;
    for (const auto& [name, ranks] : by_class) {
        ClassMetrics c;
        c.name = name;
        c.images = ranks.first.size();
        c.texts = ranks.second.size();
        c.i2t_recall = recall_at(ranks.first, ks);
        c.t2i_recall = recall_at(ranks.second, ks);
        out.push_back(std::move(c));
    }
    return out;
}

}  // namespace

ScoreResult score_batches(stream::Batch images, stream::Batch texts, const GroundTruth& gt, const ScoreConfig& config,
                          const Log& log) {
    if (images.dim != texts.dim)
        throw Error(ErrorCode::mismatch, "image dimension " + std::to_string(images.dim) + " differs from caption dimension " +
                                             std::to_string(texts.dim));
    if (gt.image_rows.empty() || gt.text_rows.empty()) throw Error(ErrorCode::format, "no image-caption pairs to evaluate");
    if (gt.image_positives.size() != gt.image_rows.size() || gt.text_positives.size() != gt.text_rows.size() ||
        gt.image_classes.size() != gt.image_rows.size() || gt.image_rows.back() >= images.size() ||
        gt.text_rows.back() >= texts.size())
        throw Error(ErrorCode::internal, "score_batches: ground truth does not fit the inputs");

    ScoreResult result;
    result.ks = check_ks(config.ks);
    result.dataset = config.dataset;
    result.model = config.model;
    result.pretrained = config.pretrained;
    result.language = config.language;
    compact_rows(images, gt.image_rows);
    compact_rows(texts, gt.text_rows);

    const size_t chunk = std::max<size_t>(1, config.chunk_rows);
    const size_t n_images = images.size(), n_texts = texts.size();
    log.info("scoring " + std::to_string(n_images) + " images against " + std::to_string(n_texts) + " captions (" +
             std::to_string(gt.pairs()) + " pairs)");
    result.i2t_ranks = ranks_chunked(images.vectors.data(), n_images, texts.vectors.data(), n_texts, images.dim,
                                     gt.image_positives, chunk, [&](size_t done) { log.progress("image→text", done, n_images); });
    result.t2i_ranks = ranks_chunked(texts.vectors.data(), n_texts, images.vectors.data(), n_images, images.dim,
                                     gt.text_positives, chunk, [&](size_t done) { log.progress("text→image", done, n_texts); });

    const int curve_max = std::max(config.curve_max, result.ks.back());
    result.i2t = summarize(result.i2t_ranks, result.ks, curve_max);
    result.t2i = summarize(result.t2i_ranks, result.ks, curve_max);
    result.per_class = per_class_metrics(gt, result.i2t_ranks, result.t2i_ranks, result.ks);
    result.image_ids = std::move(images.ids);
    result.text_ids = std::move(texts.ids);
    result.images = n_images;
    result.texts = n_texts;
    result.pairs = gt.pairs();
    result.images_excluded = gt.images_excluded;
    result.texts_excluded = gt.texts_excluded;
    return result;
}

ScoreResult score_matched(stream::Batch images, stream::Batch texts, const manifest::Manifest* manifest,
                          const ScoreConfig& config, const Log& log, const std::string& image_name,
                          const std::string& text_name) {
    check_finite(images, image_name);
    check_finite(texts, text_name);
    GroundTruth gt;
    std::string rule;
    switch (config.ground_truth) {
    case GroundTruthSource::ids:
        gt = match_by_ids(images.ids, images.labels, texts.ids, image_name);
        rule = "caption ids are '<image id>#<j>'";
        break;
    case GroundTruthSource::labels:
        gt = match_by_labels(images.ids, images.labels, texts.ids, texts.labels);
        rule = "equal non-empty labels";
        break;
    case GroundTruthSource::manifest:
        if (!manifest) throw Error(ErrorCode::internal, "score_matched: no manifest");
        gt = match_by_manifest(*manifest, images.ids, texts.ids, image_name);
        rule = "the manifest " + config.manifest_path;
        break;
    }
    // Nothing matched: the error says it all, and listing every row as excluded would only bury it.
    if (gt.image_rows.empty() || gt.text_rows.empty())
        throw Error(ErrorCode::format, image_name + ", " + text_name + ": no image-caption pairs to evaluate (ground truth: " + rule + ")");
    warn_excluded(log, gt.images_excluded, gt.excluded_image_examples,
                  std::string(gt.images_excluded == 1 ? "image" : "images") + " of " + image_name + " without a caption in " + text_name);
    warn_excluded(log, gt.texts_excluded, gt.excluded_text_examples,
                  std::string(gt.texts_excluded == 1 ? "caption" : "captions") + " of " + text_name + " without an image in " + image_name);
    return score_batches(std::move(images), std::move(texts), gt, config, log);
}

ScoreResult score(const ScoreConfig& config, const Log& log) {
    if (config.images_path.empty() || config.texts_path.empty())
        throw Error(ErrorCode::usage, "both --images and --texts are required");
    const bool manifest_stdin = config.ground_truth == GroundTruthSource::manifest && config.manifest_path == "-";
    if (int(config.images_path == "-") + int(config.texts_path == "-") + int(manifest_stdin) > 1)
        throw Error(ErrorCode::usage, "only one input can be standard input ('-')");
    check_ks(config.ks);

    stream::ReadOptions image_options, text_options;
    image_options.modality = stream::Modality::image;
    text_options.modality = stream::Modality::text;
    auto image_reader = stream::open_embeddings(config.images_path, image_options);
    auto text_reader = stream::open_embeddings(config.texts_path, text_options);
    const stream::Header& ih = image_reader->header();
    const stream::Header& th = text_reader->header();
    const std::string& image_name = image_reader->name();
    const std::string& text_name = text_reader->name();
    // A swapped pair of arguments would otherwise score quietly as garbage.
    if (ih.modality == stream::Modality::text)
        throw_error(ErrorCode::mismatch, image_name, "holds text embeddings, but --images needs image embeddings");
    if (th.modality == stream::Modality::image)
        throw_error(ErrorCode::mismatch, text_name, "holds image embeddings, but --texts needs text embeddings");
    if (ih.dim != th.dim)
        throw_error(ErrorCode::mismatch, text_name, "dimension " + std::to_string(th.dim) + " does not match " + image_name +
                                                        " (dimension " + std::to_string(ih.dim) + ")");
    if (!ih.model.empty() && !th.model.empty() && ih.model != th.model)
        throw_error(ErrorCode::mismatch, text_name, "model " + th.model + " does not match " + image_name + " (model " + ih.model + ")");

    ScoreConfig resolved = config;
    const std::string fingerprint = !ih.model.empty() ? ih.model : !th.model.empty() ? th.model : "unknown";
    if (resolved.model.empty()) resolved.model = fingerprint;
    if (resolved.pretrained.empty()) resolved.pretrained = fingerprint;

    manifest::Manifest manifest;
    if (config.ground_truth == GroundTruthSource::manifest) {
        if (config.manifest_path.empty()) throw Error(ErrorCode::usage, "no manifest given");
        manifest::ReadOptions options;
        options.strict = config.manifest_strict;
        manifest = manifest::read_manifest(config.manifest_path, options, log);
    }
    stream::Batch images = stream::read_all(*image_reader);
    stream::Batch texts = stream::read_all(*text_reader);
    ScoreResult result = score_matched(std::move(images), std::move(texts), &manifest, resolved, log, image_name, text_name);
    result.manifest_skipped = manifest.skipped;
    return result;
}

}  // namespace dcar::metrics
