// Exact search keeps a running top-k per query and folds each gallery chunk's own top-k into it, so the
// gallery is read once and never held whole. FAISS's flat inner-product search (BLAS) scores each chunk.
#include <algorithm>
#include <faiss/IndexFlat.h>

#include "core/error.hpp"
#include "index/query.hpp"

namespace dcar::index {

namespace {
bool better(const Hit& a, const Hit& b) { return a.score > b.score || (a.score == b.score && a.position < b.position); }
}  // namespace

std::vector<std::vector<Hit>> exact_search(const stream::Batch& queries, stream::EmbeddingReader& gallery, uint64_t k,
                                           size_t chunk, const Log& log) {
    const size_t nq = queries.size();
    std::vector<std::vector<Hit>> best(nq);
    stream::Batch rows;
    uint64_t base = 0;
    std::vector<float> scores;
    std::vector<faiss::Index::idx_t> labels;
    while (gallery.read_batch(rows, chunk)) {
        stream::normalize_rows(rows.vectors.data(), rows.size(), rows.dim);
        faiss::IndexFlatIP flat(int(rows.dim));
        flat.add(faiss::Index::idx_t(rows.size()), rows.vectors.data());
        const size_t kk = std::min<size_t>(k, rows.size());
        scores.resize(nq * kk);
        labels.resize(nq * kk);
        flat.search(faiss::Index::idx_t(nq), queries.vectors.data(), faiss::Index::idx_t(kk), scores.data(), labels.data());
        for (size_t q = 0; q < nq; ++q) {
            auto& list = best[q];
            for (size_t j = 0; j < kk; ++j) {
                const auto label = labels[q * kk + j];
                if (label < 0) continue;
                list.push_back({scores[q * kk + j], base + uint64_t(label), rows.ids[size_t(label)]});
            }
            std::sort(list.begin(), list.end(), better);
            if (list.size() > k) list.resize(k);
        }
        base += rows.size();
        log.progress("gallery rows", base);
    }
    return best;
}

}  // namespace dcar::index
