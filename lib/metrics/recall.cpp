// Rank counting and recall summaries. The score matrix is never held whole: a chunk of queries is scored
// against the full gallery with one sgemm (BLAS runs single-threaded here, see core/threads.hpp), then the
// chunk's rows are ranked in parallel with OpenMP, each row independently, so results do not depend on the
// chunk size or the thread count.
#include "metrics/recall.hpp"

#include <algorithm>
#include <climits>
#include <string>

#include "core/error.hpp"

// Fortran BLAS (OpenBLAS, linked through FAISS). Column-major; every argument by pointer.
extern "C" void sgemm_(const char* transa, const char* transb, const int* m, const int* n, const int* k,
                       const float* alpha, const float* a, const int* lda, const float* b, const int* ldb,
                       const float* beta, float* c, const int* ldc);

namespace dcar::metrics {

void rank_row(const float* scores, size_t gallery, const std::vector<uint32_t>& positives, uint64_t& optimistic,
              uint64_t& pessimistic) {
    float best = scores[positives[0]];
    for (uint32_t p : positives) best = std::max(best, scores[p]);
    uint64_t greater = 0, at_least = 0;
    for (size_t j = 0; j < gallery; ++j) {
        greater += scores[j] > best;
        at_least += scores[j] >= best;
    }
    // No positive can score above `best`, so `greater` already counts only wrong items; the positives that
    // tie with `best` are taken out of `at_least`, since any of them would count as the hit.
    uint64_t tied_positives = 0;
    for (uint32_t p : positives) tied_positives += scores[p] >= best;
    optimistic = greater;
    pessimistic = at_least - tied_positives;
}

namespace {

// Ranks rows [0, rows) of `scores` into out[first + row]; positives[row] belongs to row `row`.
void rank_rows(const float* scores, size_t rows, size_t gallery, const std::vector<uint32_t>* positives, Ranks& out,
               size_t first) {
    for (size_t q = 0; q < rows; ++q) {
        if (positives[q].empty())
            throw Error(ErrorCode::internal, "ranks: query " + std::to_string(first + q) + " has no positives");
        for (uint32_t p : positives[q])
            if (p >= gallery) throw Error(ErrorCode::internal, "ranks: positive " + std::to_string(p) + " outside the gallery");
    }
    const long long n = static_cast<long long>(rows);
#pragma omp parallel for schedule(static)
    for (long long q = 0; q < n; ++q)
        rank_row(scores + size_t(q) * gallery, gallery, positives[q], out.optimistic[first + size_t(q)],
                 out.pessimistic[first + size_t(q)]);
}

}  // namespace

Ranks ranks_from_scores(const float* scores, size_t queries, size_t gallery, const Positives& positives) {
    if (positives.size() != queries)
        throw Error(ErrorCode::internal, "ranks_from_scores: " + std::to_string(positives.size()) +
                                             " positive lists for " + std::to_string(queries) + " queries");
    Ranks ranks;
    ranks.optimistic.resize(queries);
    ranks.pessimistic.resize(queries);
    rank_rows(scores, queries, gallery, positives.data(), ranks, 0);
    return ranks;
}

void score_block(const float* query_rows, size_t rows, const float* gallery_rows, size_t gallery, uint32_t dim,
                 float* out) {
    if (rows == 0 || gallery == 0) return;
    if (rows > size_t(INT_MAX) || gallery > size_t(INT_MAX) || dim > uint32_t(INT_MAX))
        throw Error(ErrorCode::internal, "score_block: matrix too large for BLAS");
    // Row-major out (rows × gallery) is column-major outᵀ (gallery × rows) = G · Qᵀ, where the row-major
    // gallery seen column-major is Gᵀ (dim × gallery), hence "T", and the queries seen column-major are Qᵀ.
    const int m = int(gallery), n = int(rows), k = int(dim);
    const float one = 1.0f, zero = 0.0f;
    sgemm_("T", "N", &m, &n, &k, &one, gallery_rows, &k, query_rows, &k, &zero, out, &m);
}

Ranks ranks_chunked(const float* queries, size_t n_queries, const float* gallery, size_t n_gallery, uint32_t dim,
                    const Positives& positives, size_t chunk_rows, const std::function<void(size_t)>& progress) {
    if (positives.size() != n_queries)
        throw Error(ErrorCode::internal, "ranks_chunked: positives do not match the queries");
    chunk_rows = std::max<size_t>(1, std::min(chunk_rows, std::max<size_t>(1, n_queries)));
    Ranks ranks;
    ranks.optimistic.resize(n_queries);
    ranks.pessimistic.resize(n_queries);
    std::vector<float> block(chunk_rows * n_gallery);
    for (size_t start = 0; start < n_queries; start += chunk_rows) {
        const size_t rows = std::min(chunk_rows, n_queries - start);
        score_block(queries + start * dim, rows, gallery, n_gallery, dim, block.data());
        rank_rows(block.data(), rows, n_gallery, positives.data() + start, ranks, start);
        if (progress) progress(start + rows);
    }
    return ranks;
}

std::vector<double> recall_at(const std::vector<uint64_t>& ranks, const std::vector<int>& ks) {
    std::vector<double> out;
    for (int k : ks) {
        size_t hits = 0;
        for (uint64_t r : ranks) hits += r < uint64_t(k);
        out.push_back(ranks.empty() ? 0.0 : double(hits) / double(ranks.size()));
    }
    return out;
}

std::vector<double> recall_curve(const std::vector<uint64_t>& ranks, int max_k) {
    // One histogram pass instead of max_k passes: hits below K accumulate.
    std::vector<size_t> at(size_t(std::max(max_k, 0)), 0);
    for (uint64_t r : ranks)
        if (r < at.size()) ++at[r];
    std::vector<double> curve;
    size_t hits = 0;
    for (size_t k = 0; k < at.size(); ++k) {
        hits += at[k];
        curve.push_back(ranks.empty() ? 0.0 : double(hits) / double(ranks.size()));
    }
    return curve;
}

double mean_rank(const std::vector<uint64_t>& ranks) {
    if (ranks.empty()) return 0;
    double sum = 0;
    for (uint64_t r : ranks) sum += double(r) + 1;
    return sum / double(ranks.size());
}

double median_rank(std::vector<uint64_t> ranks) {
    if (ranks.empty()) return 0;
    const size_t mid = ranks.size() / 2;
    std::nth_element(ranks.begin(), ranks.begin() + long(mid), ranks.end());
    const double upper = double(ranks[mid]) + 1;
    if (ranks.size() % 2) return upper;
    const double lower = double(*std::max_element(ranks.begin(), ranks.begin() + long(mid))) + 1;
    return (lower + upper) / 2;
}

DirectionMetrics summarize(const Ranks& ranks, const std::vector<int>& ks, int curve_max) {
    DirectionMetrics m;
    m.count = ranks.optimistic.size();
    m.recall = recall_at(ranks.optimistic, ks);
    m.recall_pessimistic = recall_at(ranks.pessimistic, ks);
    m.mean_rank = mean_rank(ranks.optimistic);
    m.median_rank = median_rank(ranks.optimistic);
    m.mean_rank_pessimistic = mean_rank(ranks.pessimistic);
    m.median_rank_pessimistic = median_rank(ranks.pessimistic);
    m.curve = recall_curve(ranks.optimistic, curve_max);
    return m;
}

}  // namespace dcar::metrics
