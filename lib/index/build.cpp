// Building and updating indexes. Training wants a sample of the whole collection: when every input is a
// regular file we make one pass to draw a uniform reservoir sample, then a second pass to add; from stdin we
// can read only once, so the first rows are the sample (documented in dcar-index(1)).
#include "index/index.hpp"

#include <algorithm>
#include <faiss/IVFlib.h>
#include <faiss/IndexIVF.h>
#include <faiss/impl/FaissException.h>
#include <faiss/index_factory.h>
#include <nlohmann/json.hpp>
#include <random>
#include <sys/stat.h>
#include <unordered_set>

#include "core/json.hpp"
#include "core/error.hpp"
#include "io/lock.hpp"

namespace dcar::index {

namespace {

constexpr size_t batch_rows = 8192;

std::unique_ptr<faiss::Index> make_index(const std::string& factory, uint32_t dim) {
    try {
        return std::unique_ptr<faiss::Index>(faiss::index_factory(int(dim), factory.c_str(), faiss::METRIC_INNER_PRODUCT));
    } catch (const faiss::FaissException& e) {
        throw Error(ErrorCode::usage, "bad FAISS factory string '" + factory + "': " + e.what());
    }
}

bool all_regular_files(const std::vector<std::string>& paths) {
    for (const auto& p : paths) {
        struct stat st;
        if (p == "-" || ::stat(p.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
    }
    return true;
}


void check_compatible(const IndexFile& file, const stream::EmbeddingReader& reader) {
    const std::string why = stream::incompatibility(file.header, reader.header());
    if (!why.empty()) throw_error(ErrorCode::mismatch, reader.name(), "does not match the index: " + why);
}

// Adds a batch, skipping ids already present; rows are normalised first.
void add_batch(IndexFile& file, std::unordered_set<std::string>& present, stream::Batch& batch, bool strict,
               const std::string& source, IngestSummary& summary, const Log& log) {
    stream::Batch fresh;
    fresh.dim = batch.dim;
    for (size_t i = 0; i < batch.size(); ++i) {
        if (!present.insert(batch.ids[i]).second) {
            if (strict) throw_error(ErrorCode::format, source, "id '" + batch.ids[i] + "' is already in the index");
            if (summary.duplicates < 5) log.warn(source + ": id '" + batch.ids[i] + "' is already in the index; skipped");
            ++summary.duplicates;
            continue;
        }
        fresh.add(batch.ids[i], "", batch.row(i));
    }
    if (fresh.empty()) return;
    stream::normalize_rows(fresh.vectors.data(), fresh.size(), fresh.dim);
    try {
        file.index->add(faiss::Index::idx_t(fresh.size()), fresh.vectors.data());
    } catch (const faiss::FaissException& e) {
        throw_error(ErrorCode::internal, source, std::string("FAISS add failed: ") + e.what());
    }
    file.ids.insert(file.ids.end(), fresh.ids.begin(), fresh.ids.end());
    summary.added += fresh.size();
    log.progress("indexed", file.ids.size());
}

void add_stream(IndexFile& file, std::unordered_set<std::string>& present, stream::EmbeddingReader& reader, bool strict,
                IngestSummary& summary, const Log& log) {
    stream::Batch batch;
    while (reader.read_batch(batch, batch_rows)) add_batch(file, present, batch, strict, reader.name(), summary, log);
}

void report_duplicates(const IngestSummary& summary, const Log& log) {
    if (summary.duplicates > 0)
        log.warn(std::to_string(summary.duplicates) + " record(s) skipped: their ids were already in the index");
}

void train(IndexFile& file, stream::Batch& sample, uint64_t seed, const Log& log) {
    stream::normalize_rows(sample.vectors.data(), sample.size(), sample.dim);
    log.info("training " + file.factory + " on " + std::to_string(sample.size()) + " vectors");
    try {
        if (auto* ivf = faiss::ivflib::try_extract_index_ivf(file.index.get())) {
            ivf->cp.seed = int(seed);
            // FAISS would print its own warning for a thin sample; say it once, our way, and keep it quiet.
            const size_t advised = 39 * ivf->nlist;
            if (sample.size() < advised)
                log.warn("training " + std::to_string(ivf->nlist) + " IVF lists on " + std::to_string(sample.size()) +
                         " vectors; at least " + std::to_string(advised) + " are advised");
            ivf->cp.min_points_per_centroid = 1;
            ivf->nprobe = default_nprobe(ivf->nlist);
        }
        file.index->train(faiss::Index::idx_t(sample.size()), sample.vectors.data());
    } catch (const faiss::FaissException& e) {
        throw Error(ErrorCode::format, "training " + file.factory + " on " + std::to_string(sample.size()) + " vectors failed: " + e.what());
    }
}

}  // namespace

uint64_t train_sample_size(const std::string& factory, uint32_t dim, uint64_t available) {
    uint64_t want = 0;
    auto probe = make_index(factory, dim);
    if (!probe->is_trained) {
        want = 65536;  // PQ and scalar quantisers: 256 centroids per codebook, well covered
        if (const auto* ivf = faiss::ivflib::try_extract_index_ivf(probe.get())) want = std::max<uint64_t>(want, 64 * ivf->nlist);
    }
    return std::min(want, available);
}

IngestSummary build(const BuildConfig& config, const Log& log) {
    IngestSummary summary;
    auto reader = stream::open_embeddings(config.inputs, config.read);
    IndexFile file;
    file.header = reader->header();
    file.header.provenance.push_back(config.provenance);
    file.factory = config.factory;
    file.index = make_index(config.factory, file.header.dim);
    std::unordered_set<std::string> present;

    if (!file.index->is_trained) {
        const uint64_t wanted = config.train_sample ? config.train_sample : train_sample_size(config.factory, file.header.dim, UINT64_MAX);
        stream::Batch sample;
        sample.dim = file.header.dim;
        stream::Batch batch;
        if (all_regular_files(config.inputs)) {
            // Reservoir sample over everything, then reopen for the adding pass.
            std::mt19937_64 rng(config.seed);
            uint64_t seen = 0;
            while (reader->read_batch(batch, batch_rows)) {
                for (size_t i = 0; i < batch.size(); ++i, ++seen) {
                    if (sample.size() < wanted) {
                        sample.add(batch.ids[i], "", batch.row(i));
                    } else {
                        const uint64_t slot = std::uniform_int_distribution<uint64_t>(0, seen)(rng);
                        if (slot < wanted) std::copy(batch.row(i), batch.row(i) + sample.dim, sample.vectors.begin() + long(slot * sample.dim));
                    }
                }
                log.progress("sampled", seen);
            }
            train(file, sample, config.seed, log);
            summary.trained_on = sample.size();
            file.trained_id = fingerprint_index(*file.index);
            reader = stream::open_embeddings(config.inputs, config.read);
        } else {
            // One pass only: the first rows train, and are then added like the rest.
            while (sample.size() < wanted && reader->read_batch(batch, std::min<uint64_t>(batch_rows, wanted - sample.size())))
                sample.append(batch);
            stream::Batch held = sample;
            train(file, sample, config.seed, log);
            summary.trained_on = sample.size();
            file.trained_id = fingerprint_index(*file.index);
            if (!config.train_only) add_batch(file, present, held, config.strict, reader->name(), summary, log);
        }
    } else {
        file.trained_id = fingerprint_index(*file.index);
    }
    if (!config.train_only) add_stream(file, present, *reader, config.strict, summary, log);
    report_duplicates(summary, log);
    io::WriteLock lock(config.output);
    save_index(file, config.output);
    return summary;
}

IngestSummary add(const AddConfig& config, const Log& log) {
    IngestSummary summary;
    // Held from reading to renaming, so a concurrent add waits and then extends this one's result.
    const std::string output = config.output.empty() ? config.index : config.output;
    io::WriteLock lock(output);
    IndexFile file = load_index(config.index);
    std::unordered_set<std::string> present(file.ids.begin(), file.ids.end());
    // All inputs as one reader: their headers are checked against each other before any row is added. No
    // input at all (a shard of fewer inputs than shards) leaves the index as it was.
    if (!config.inputs.empty()) {
        auto reader = stream::open_embeddings(config.inputs, config.read);
        check_compatible(file, *reader);
        stream::adopt_known_fields(file.header, reader->header());
        add_stream(file, present, *reader, config.strict, summary, log);
    }
    file.header.provenance.push_back(config.provenance);
    report_duplicates(summary, log);
    save_index(file, output);
    return summary;
}

IngestSummary merge(const MergeConfig& config, const Log& log) {
    if (config.shards.size() < 2) throw Error(ErrorCode::usage, "merge needs at least two indexes");
    IngestSummary summary;
    io::WriteLock lock(config.output);  // before reading: the output may be one of the shards
    IndexFile merged = load_index(config.shards[0]);
    std::unordered_set<std::string> present(merged.ids.begin(), merged.ids.end());
    for (size_t s = 1; s < config.shards.size(); ++s) {
        const std::string& path = config.shards[s];
        IndexFile shard = load_index(path);
        // The header first: another dimension, modality or model is the clearer reason.
        const std::string why = stream::incompatibility(merged.header, shard.header);
        if (!why.empty()) throw_error(ErrorCode::mismatch, path, "does not match " + config.shards[0] + ": " + why);
        if (shard.trained_id != merged.trained_id || shard.factory != merged.factory)
            throw_error(ErrorCode::mismatch, path, "was not built from the same trained index as " + config.shards[0] +
                                                        " (build shards with 'dcar-index add' on one 'build --train-only' template)");
        for (const auto& id : shard.ids)
            if (present.count(id)) throw_error(ErrorCode::mismatch, path, "id '" + id + "' is also in an earlier shard; shards must be disjoint");
        present.insert(shard.ids.begin(), shard.ids.end());
        stream::adopt_known_fields(merged.header, shard.header);
        try {
            // IVF lists take the other shard's entries with their ids shifted past ours; flat codes append.
            const bool ivf = faiss::ivflib::try_extract_index_ivf(merged.index.get()) != nullptr;
            merged.index->merge_from(*shard.index, ivf ? merged.index->ntotal : 0);
        } catch (const faiss::FaissException& e) {
            throw_error(ErrorCode::mismatch, path, std::string("FAISS cannot merge this index type (") + merged.factory + "): " + e.what());
        }
        merged.ids.insert(merged.ids.end(), shard.ids.begin(), shard.ids.end());
        log.progress("merged", s + 1, config.shards.size());
    }
    summary.added = merged.ids.size();
    merged.header.provenance.push_back(config.provenance);
    save_index(merged, config.output);
    return summary;
}

size_t default_nprobe(size_t nlist) { return std::min<size_t>(256, std::max<size_t>(1, nlist / 16)); }

std::string describe(const std::string& path, const IndexFile& file, bool json) {
    const std::string model = file.header.model.empty() ? "unknown" : file.header.model;
    if (json) {
        nlohmann::json j = nlohmann::json::parse(file.header.to_json());
        j.erase("dtype");
        j.erase("normalized");
        j["file"] = path;
        j["factory"] = file.factory;
        j["count"] = file.ids.size();
        j["trained_id"] = file.trained_id;
        return dump_json(j) + "\n";
    }
    std::string out = "file\t" + path + "\n";
    out += "factory\t" + file.factory + "\n";
    out += "count\t" + std::to_string(file.ids.size()) + "\n";
    out += "dim\t" + std::to_string(file.header.dim) + "\n";
    out += std::string("modality\t") + stream::to_string(file.header.modality) + "\n";
    out += "model\t" + model + "\n";
    out += "trained_id\t" + file.trained_id + "\n";
    for (const auto& p : file.header.provenance) out += "provenance\t" + p.tool + "\t" + p.version + "\t" + p.args + "\n";
    return out;
}

}  // namespace dcar::index
