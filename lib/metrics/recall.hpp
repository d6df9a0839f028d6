// Ranks and recall for retrieval (docs/METHOD.md §9). A query's rank is the number of gallery items that score
// strictly higher than its best-scoring ground-truth item, so ties favour the ground truth; the pessimistic
// rank counts the non-ground-truth items that score at least as high, i.e. the worst place the first correct
// item could take under any tie-breaking. R@K is the share of queries whose rank is < K. Everything here is
// pure: small matrices in, numbers out, so tests can check it by hand.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

namespace dcar::metrics {

// For each query, the gallery positions that are correct (indices into the gallery, any order, no duplicates).
using Positives = std::vector<std::vector<uint32_t>>;

// Ranks are 0-based: 0 means the ground truth came first.
struct Ranks {
    std::vector<uint64_t> optimistic;
    std::vector<uint64_t> pessimistic;
};

// The two ranks of one query from its row of scores (`gallery` floats). `positives` must not be empty.
void rank_row(const float* scores, size_t gallery, const std::vector<uint32_t>& positives, uint64_t& optimistic,
              uint64_t& pessimistic);

// Ranks of every query of a queries × gallery score matrix (row-major float32). positives.size() == queries.
// Throws dcar::Error(internal) on a shape mismatch or a query without positives.
Ranks ranks_from_scores(const float* scores, size_t queries, size_t gallery, const Positives& positives);

// Scores of a block of queries against the whole gallery: out (rows × gallery, row-major) = query_rows ·
// galleryᵀ, both inputs row-major with `dim` columns. One BLAS sgemm call.
void score_block(const float* query_rows, size_t rows, const float* gallery_rows, size_t gallery, uint32_t dim,
                 float* out);

// Ranks of every query against the gallery (both row-major float32, `dim` columns), computing the scores
// `chunk_rows` queries at a time, so memory stays at chunk_rows × gallery floats. `progress` (may be empty)
// is called after each chunk with the number of queries done.
Ranks ranks_chunked(const float* queries, size_t n_queries, const float* gallery, size_t n_gallery, uint32_t dim,
                    const Positives& positives, size_t chunk_rows,
                    const std::function<void(size_t done)>& progress = {});

// Summary of one direction's ranks. Recalls are fractions in [0, 1]; mean and median ranks are 1-based
// (median of an even count is the mean of the middle two, as numpy's).
struct DirectionMetrics {
    size_t count = 0;
    std::vector<double> recall;              // one per K, optimistic
    std::vector<double> recall_pessimistic;  // one per K
    double mean_rank = 0, median_rank = 0;
    double mean_rank_pessimistic = 0, median_rank_pessimistic = 0;
    std::vector<double> curve;  // optimistic R@1 … R@curve.size()
};

// R@K for each K (> 0) of `ks`: the share of ranks < K. Empty ranks give 0.
std::vector<double> recall_at(const std::vector<uint64_t>& ranks, const std::vector<int>& ks);
// R@1 … R@max_k.
std::vector<double> recall_curve(const std::vector<uint64_t>& ranks, int max_k);
double mean_rank(const std::vector<uint64_t>& ranks);
double median_rank(std::vector<uint64_t> ranks);
DirectionMetrics summarize(const Ranks& ranks, const std::vector<int>& ks, int curve_max);

}  // namespace dcar::metrics
