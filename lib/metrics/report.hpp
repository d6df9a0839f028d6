// Renderings of a ScoreResult: an aligned text table for people and one JSON record for scripts. The JSON
// follows CLIP_benchmark's retrieval output ("dataset", "model", "task": "zeroshot_retrieval", and
// "metrics" with image_retrieval_recall@K = text→image and text_retrieval_recall@K = image→text, as fractions),
// so existing result collectors read it, and adds dcar's own keys beside them.
#pragma once
#include <string>

#include "io/sink.hpp"
#include "metrics/score.hpp"

namespace dcar::metrics {

// The summary table: one row per direction (and its pessimistic variant) with R@K in percent, mean and median
// rank and the query count; with `per_class`, a second table with one row per class. Ends with a newline.
std::string format_table(const ScoreResult& result, bool per_class);

// One JSON object on one line, with a trailing newline. Keys (K for each cut-off):
//   dataset, model, task, metrics{image_retrieval_recall@K, text_retrieval_recall@K, i2t_recall@K,
//   i2t_recall_pessimistic@K, t2i_recall@K, t2i_recall_pessimistic@K, {i2t,t2i}_{mean,median}_rank[_pessimistic]},
//   counts{images, texts, pairs, images_excluded, texts_excluded, manifest_skipped},
//   per_class{NAME: {images, texts, i2t_recall@K, t2i_recall@K}}.
std::string format_json(const ScoreResult& result);

// Writes format_json or format_table to `sink` (not committed: the caller decides when the output is done).
void write_report(const ScoreResult& result, bool json, bool per_class, io::Sink& sink);

}  // namespace dcar::metrics
