// dcar-query: k nearest neighbours of query embeddings, against a dcar index (approximate, with FAISS search
// parameters) or exactly against a gallery of embeddings streamed in chunks (memory bounded by the chunk, the
// queries and k). Results are written as they are found: TSV "query_id<TAB>rank<TAB>gallery_id<TAB>score"
// (rank from 1) or JSON lines. Equal scores are ordered by gallery position (earlier first).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/log.hpp"
#include "io/sink.hpp"
#include "stream/embeddings.hpp"

namespace dcar::index {

enum class ResultFormat { tsv, jsonl };
ResultFormat parse_result_format(const std::string& s);  // "tsv" | "jsonl"; throws dcar::Error(usage)

struct QueryConfig {
    std::vector<std::string> queries;  // embedding inputs ("-" = stdin)
    std::string index;                 // a dcar index, or
    std::string gallery;               // embeddings to search exactly (exactly one of index/gallery)
    uint64_t k = 10;                   // capped at the index or gallery size
    int nprobe = 0;                    // IVF lists to visit (0 = the index's setting)
    int ef_search = 0;                 // HNSW search breadth (0 = the index's setting)
    size_t gallery_chunk = 65536;      // exact search: gallery rows held at once
    size_t query_batch = 4096;         // index search: queries per FAISS call (fewer when k is large)
    ResultFormat format = ResultFormat::tsv;
    stream::ReadOptions read;
};

struct Hit {
    float score;
    uint64_t position;  // gallery row
    std::string id;
};

// Runs the search and writes results to `out` (not committed: the caller does). Returns the number of queries.
uint64_t query(const QueryConfig& config, io::Sink& out, const Log& log);

// Exact top-k by inner product of normalised rows: for each query row, the k best gallery rows, best first,
// ties by gallery position. The gallery is read in chunks of `chunk` rows.
std::vector<std::vector<Hit>> exact_search(const stream::Batch& queries, stream::EmbeddingReader& gallery, uint64_t k,
                                           size_t chunk, const Log& log);

}  // namespace dcar::index
