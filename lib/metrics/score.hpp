// dcar-score's library half: read image and caption embeddings, match them to their ground truth, and compute
// image→text and text→image recall@K (docs/METHOD.md §9), overall and per class. Nothing here prints: results
// come back as a ScoreResult, warnings and progress go to the Log, and lib/metrics/report.hpp renders the
// result.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "core/log.hpp"
#include "metrics/ground_truth.hpp"
#include "metrics/recall.hpp"
#include "stream/header.hpp"

namespace dcar::metrics {

struct ScoreConfig {
    std::string images_path;    // image embeddings, any format stream::open_embeddings reads ("-" = stdin)
    std::string texts_path;     // caption embeddings (at most one of the two may be "-")
    GroundTruthSource ground_truth = GroundTruthSource::ids;
    std::string manifest_path;  // with GroundTruthSource::manifest
    bool manifest_strict = false;  // a bad manifest record is fatal instead of reported and skipped
    std::vector<int> ks = {1, 5, 10};  // recall cut-offs, each > 0
    std::string dataset;        // a name for reports ("" = none)
    std::string model;          // "" = the images' model fingerprint, else the captions', else "unknown"
    std::string pretrained;     // CLIP_benchmark's weights tag ("" = the inputs' model fingerprint, else "unknown")
    std::string language = "en";  // CLIP_benchmark's caption language
    size_t chunk_rows = 1024;   // queries scored per sgemm block (memory: chunk_rows × gallery floats)
    int curve_max = 50;         // the recall curve runs to max(curve_max, largest K)
};

// One class's numbers: its images as i2t queries, the captions of its images as t2i queries.
struct ClassMetrics {
    std::string name;
    size_t images = 0, texts = 0;
    std::vector<double> i2t_recall, t2i_recall;  // one per K, fractions
};

struct ScoreResult {
    std::string dataset, model, pretrained, language;
    std::vector<int> ks;
    DirectionMetrics i2t, t2i;
    std::vector<ClassMetrics> per_class;  // sorted by name; empty when no image has a class
    Ranks i2t_ranks, t2i_ranks;           // per kept image / caption, in input order
    std::vector<std::string> image_ids, text_ids;  // the kept ones, matching the ranks
    size_t images = 0, texts = 0, pairs = 0;  // evaluated
    size_t images_excluded = 0, texts_excluded = 0;
    size_t manifest_skipped = 0;  // bad manifest records skipped while reading

    // True when some input was left out (exclusions or skipped manifest records): the tool exits 3.
    bool partial() const { return images_excluded || texts_excluded || manifest_skipped; }
};

// Sorted, de-duplicated cut-offs; throws dcar::Error(usage) when empty or when one is not positive.
std::vector<int> check_ks(std::vector<int> ks);
// Parses "1,5,10" (several such values may be given). Throws dcar::Error(usage) naming the bad item.
std::vector<int> parse_ks(const std::vector<std::string>& values);

// Scores in-memory embeddings against ground truth already matched (rows as in gt). Rows are L2-normalised
// here. Throws dcar::Error(mismatch) when the dimensions differ, dcar::Error(format) when nothing is
// evaluable.
ScoreResult score_batches(stream::Batch images, stream::Batch texts, const GroundTruth& gt, const ScoreConfig& config,
                          const Log& log);

// Matches in-memory embeddings to their ground truth as config.ground_truth says (manifest passed in, may be
// null unless the source is a manifest), logs the exclusions, and scores them.
ScoreResult score_matched(stream::Batch images, stream::Batch texts, const manifest::Manifest* manifest,
                          const ScoreConfig& config, const Log& log, const std::string& image_name = "images",
                          const std::string& text_name = "texts");

// The whole of dcar-score: reads config.images_path and config.texts_path (and the manifest), checks that
// they can be compared (dimension, model fingerprint, modality), and scores. Throws dcar::Error.
ScoreResult score(const ScoreConfig& config, const Log& log);

}  // namespace dcar::metrics
