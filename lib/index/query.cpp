// Query driver: validates inputs against the index or gallery header, then streams queries through FAISS
// (index) or holds them while the gallery streams past (exact).
#include <algorithm>
#include <faiss/AutoTune.h>
#include <faiss/impl/FaissException.h>
#include <nlohmann/json.hpp>

#include "core/json.hpp"
#include "core/error.hpp"
#include "core/text.hpp"
#include "index/index_file.hpp"
#include "index/query.hpp"
#include <faiss/Index.h>

namespace dcar::index {

ResultFormat parse_result_format(const std::string& s) {
    if (s == "tsv") return ResultFormat::tsv;
    if (s == "jsonl") return ResultFormat::jsonl;
    throw Error(ErrorCode::usage, "unknown result format '" + s + "' (expected tsv or jsonl)");
}

namespace {

void write_hits(io::Sink& out, ResultFormat format, const std::string& query_id, const std::vector<Hit>& hits) {
    std::string line;
    for (size_t r = 0; r < hits.size(); ++r) {
        if (format == ResultFormat::tsv) {
            line = query_id + '\t' + std::to_string(r + 1) + '\t' + hits[r].id + '\t' + text::format_float(hits[r].score) + '\n';
        } else {
            // Written by hand for a stable key order and the shortest exact float text (as in TSV).
            line = "{\"query\":" + dump_json(nlohmann::json(query_id)) + ",\"rank\":" + std::to_string(r + 1) +
                   ",\"id\":" + dump_json(nlohmann::json(hits[r].id)) + ",\"score\":" + text::json_float(hits[r].score) + "}\n";
        }
        out.write(line);
    }
}

void check_against(const stream::Header& target, const std::string& target_name, const stream::EmbeddingReader& queries) {
    const stream::Header& q = queries.header();
    if (q.dim != target.dim)
        throw_error(ErrorCode::mismatch, queries.name(), "queries have dimension " + std::to_string(q.dim) + " but " + target_name + " has " + std::to_string(target.dim));
    if (!q.model.empty() && !target.model.empty() && q.model != target.model)
        throw_error(ErrorCode::mismatch, queries.name(), "queries come from model " + q.model + " but " + target_name + " from " + target.model);
}

void set_parameter(faiss::Index* index, const char* name, int value, const char* flag) {
    if (value <= 0) return;
    try {
        faiss::ParameterSpace().set_index_parameter(index, name, double(value));
    } catch (const faiss::FaissException&) {
        throw Error(ErrorCode::usage, std::string(flag) + " does not apply to this index type");
    }
}

// Scores and labels held for one FAISS call (12 bytes each): fewer queries per call when k is large.
constexpr size_t max_results_per_call = size_t(1) << 22;

uint64_t query_index(const QueryConfig& config, io::Sink& out, const Log& log) {
    IndexFile file = load_index(config.index);
    set_parameter(file.index.get(), "nprobe", config.nprobe, "--nprobe");
    set_parameter(file.index.get(), "efSearch", config.ef_search, "--ef");
    auto queries = stream::open_embeddings(config.queries, config.read);
    check_against(file.header, config.index, *queries);
    // No query can have more neighbours than the index has vectors.
    const size_t k = size_t(std::min<uint64_t>(config.k, file.ids.size()));
    const size_t per_call = std::max<size_t>(1, std::min(config.query_batch, max_results_per_call / std::max<size_t>(k, 1)));
    std::vector<float> scores;
    std::vector<faiss::Index::idx_t> labels;
    std::vector<Hit> hits;
    stream::Batch batch;
    uint64_t done = 0;
    while (queries->read_batch(batch, per_call)) {
        stream::normalize_rows(batch.vectors.data(), batch.size(), batch.dim);
        scores.resize(batch.size() * k);
        labels.resize(batch.size() * k);
        try {
            if (k > 0)
                file.index->search(faiss::Index::idx_t(batch.size()), batch.vectors.data(), faiss::Index::idx_t(k), scores.data(), labels.data());
        } catch (const faiss::FaissException& e) {
            throw_error(ErrorCode::internal, config.index, std::string("FAISS search failed: ") + e.what());
        }
        for (size_t q = 0; q < batch.size(); ++q) {
            hits.clear();
            for (size_t j = 0; j < k; ++j) {
                const auto label = labels[q * k + j];
                if (label < 0 || size_t(label) >= file.ids.size()) continue;  // fewer than k reachable
                hits.push_back({scores[q * k + j], uint64_t(label), file.ids[size_t(label)]});
            }
            std::stable_sort(hits.begin(), hits.end(), [](const Hit& a, const Hit& b) {
                return a.score > b.score || (a.score == b.score && a.position < b.position);
            });
            write_hits(out, config.format, batch.ids[q], hits);
        }
        out.flush();
        done += batch.size();
        log.progress("queries", done);
    }
    return done;
}

uint64_t query_gallery(const QueryConfig& config, io::Sink& out, const Log& log) {
    auto queries = stream::open_embeddings(config.queries, config.read);
    stream::Batch all = stream::read_all(*queries);
    stream::normalize_rows(all.vectors.data(), all.size(), all.dim);
    stream::ReadOptions gallery_options = config.read;
    gallery_options.ids_path.clear();
    auto gallery = stream::open_embeddings(config.gallery, gallery_options);
    check_against(gallery->header(), config.gallery, *queries);
    const auto results = exact_search(all, *gallery, config.k, config.gallery_chunk, log);
    for (size_t q = 0; q < all.size(); ++q) write_hits(out, config.format, all.ids[q], results[q]);
    return all.size();
}

}  // namespace

uint64_t query(const QueryConfig& config, io::Sink& out, const Log& log) {
    if (config.index.empty() == config.gallery.empty()) throw Error(ErrorCode::usage, "give exactly one of --index or --gallery");
    if (config.k == 0) throw Error(ErrorCode::usage, "-k must be at least 1");
    if (config.nprobe < 0) throw Error(ErrorCode::usage, "--nprobe must not be negative (0 = the index's default)");
    if (config.ef_search < 0) throw Error(ErrorCode::usage, "--ef must not be negative (0 = the index's default)");
    if (config.gallery_chunk == 0 || config.query_batch == 0) throw Error(ErrorCode::usage, "--chunk must be at least 1");
    return config.index.empty() ? query_gallery(config, out, log) : query_index(config, out, log);
}

}  // namespace dcar::index
