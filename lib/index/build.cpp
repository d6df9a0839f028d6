// Building and updating indexes. Training wants a sample of the whole collection: when every input is a
// regular file we make one pass to draw a uniform reservoir sample, then a second pass to add; from stdin we
// can read only once, so the first rows are the sample (documented in dcar-index(1)).
#include "index/index.hpp"

#include <algorithm>
#include <faiss/IVFlib.h>
#include <faiss/IndexIVF.h>
#include <faiss/impl/FaissException.h>
#include <faiss/index_factory.h>
#include <faiss/invlists/OnDiskInvertedLists.h>
#include <unistd.h>
#include <nlohmann/json.hpp>
#include <random>
#include <sys/stat.h>
#include <unordered_set>

#include "core/json.hpp"
#include "core/error.hpp"
#include "core/fnv.hpp"
#include "io/atomic_file.hpp"
#include "io/lock.hpp"

namespace dcar::index {

namespace {

constexpr size_t batch_rows = 8192;

bool is_ondisk(const IndexFile& file) { return !file.ondisk.file.empty(); }

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
    if (is_ondisk(file))
        throw_error(ErrorCode::usage, config.index, "was merged on disk and is read-only: add to a shard and merge again");
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

namespace {

// A shard joins the merge only when it was built from the same trained index as the first, and shares no id
// with the shards before it.
void check_mergeable(const IndexFile& first, const IndexFile& shard, const std::string& first_path, const std::string& path,
                     std::unordered_set<std::string>& present) {
    // The header first: another dimension, modality or model is the clearer reason.
    const std::string why = stream::incompatibility(first.header, shard.header);
    if (!why.empty()) throw_error(ErrorCode::mismatch, path, "does not match " + first_path + ": " + why);
    if (shard.trained_id != first.trained_id || shard.factory != first.factory)
        throw_error(ErrorCode::mismatch, path, "was not built from the same trained index as " + first_path +
                                                    " (build shards with 'dcar-index add' on one 'build --train-only' template)");
    for (const auto& id : shard.ids)
        if (!present.insert(id).second) throw_error(ErrorCode::mismatch, path, "id '" + id + "' is also in an earlier shard; shards must be disjoint");
}

void write_at(const io::AtomicFile& file, const void* data, size_t size, uint64_t offset) {
    const char* p = static_cast<const char*>(data);
    while (size > 0) {
        const ssize_t n = ::pwrite(file.fd(), p, size, off_t(offset));
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno(file.target(), "cannot write");
        }
        p += n;
        size -= size_t(n);
        offset += uint64_t(n);
    }
}

faiss::IndexIVF& ivf_of(IndexFile& file, const std::string& path) {
    auto* ivf = faiss::ivflib::try_extract_index_ivf(file.index.get());
    if (!ivf) throw_error(ErrorCode::usage, path, "--ondisk merges IVF indexes only, not " + file.factory);
    return *ivf;
}

// The on-disk merge: a first pass reads each shard's list sizes, a second writes each shard's entries to their
// places in the data file (codes, then ids shifted past the shards before it, list by list, in FAISS's
// OnDiskInvertedLists layout). One shard is in memory at a time, plus every id and the quantizer.
IngestSummary merge_ondisk(const MergeConfig& config, const Log& log) {
    io::WriteLock lock(config.output);
    IndexFile merged;
    std::unordered_set<std::string> present;
    std::vector<std::vector<size_t>> sizes(config.shards.size());  // [shard][list]
    Fnv1a64 inputs;  // names the data file after what it is made of
    for (size_t s = 0; s < config.shards.size(); ++s) {
        const std::string& path = config.shards[s];
        IndexFile shard = load_index(path);
        if (s == 0) {
            merged.header = shard.header;
            merged.factory = shard.factory;
            merged.trained_id = shard.trained_id;
            inputs.add(shard.trained_id);
        }
        check_mergeable(merged, shard, config.shards[0], path, present);
        faiss::IndexIVF& ivf = ivf_of(shard, path);
        for (size_t l = 0; l < ivf.nlist; ++l) sizes[s].push_back(ivf.invlists->list_size(l));
        stream::adopt_known_fields(merged.header, shard.header);
        merged.ids.insert(merged.ids.end(), shard.ids.begin(), shard.ids.end());
        inputs.add(shard.payload_fnv1a64.empty() ? fingerprint_index(*shard.index) : shard.payload_fnv1a64);
        log.progress("read", s + 1, 2 * config.shards.size());
    }
    present.clear();
    const size_t nlist = sizes[0].size();
    std::vector<size_t> total(nlist, 0), offset(nlist, 0), filled(nlist, 0);
    for (const auto& shard : sizes)
        for (size_t l = 0; l < nlist; ++l) total[l] += shard[l];
    size_t code_size = 0;
    const std::string slash_name = config.output.substr(config.output.rfind('/') + 1);
    const std::string data_name = slash_name + "." + inputs.hex() + ".ivfdata";
    const std::string dir = config.output.substr(0, config.output.size() - slash_name.size());
    io::AtomicFile data(dir + data_name);
    uint64_t totsize = 0;
    int64_t base = 0;  // the first row number of the current shard
    for (size_t s = 0; s < config.shards.size(); ++s) {
        IndexFile shard = load_index(config.shards[s]);
        faiss::IndexIVF& ivf = ivf_of(shard, config.shards[s]);
        if (s == 0) {
            code_size = ivf.code_size;
            const uint64_t entry = code_size + sizeof(faiss::Index::idx_t);
            for (size_t l = 0; l < nlist; ++l) {
                offset[l] = totsize;
                totsize += total[l] * entry;
            }
            if (::ftruncate(data.fd(), off_t(totsize)) != 0) throw_errno(data.target(), "cannot size");
        }
        std::vector<faiss::Index::idx_t> shifted;
        for (size_t l = 0; l < nlist; ++l) {
            const size_t n = ivf.invlists->list_size(l);
            if (n == 0) continue;
            faiss::InvertedLists::ScopedCodes codes(ivf.invlists, l);
            faiss::InvertedLists::ScopedIds ids(ivf.invlists, l);
            shifted.assign(ids.get(), ids.get() + n);
            for (auto& id : shifted) id += base;
            write_at(data, codes.get(), n * code_size, offset[l] + filled[l] * code_size);
            write_at(data, shifted.data(), n * sizeof(shifted[0]), offset[l] + total[l] * code_size + filled[l] * sizeof(shifted[0]));
            filled[l] += n;
        }
        base += int64_t(shard.ids.size());
        if (s == 0) merged.index = std::move(shard.index);  // its quantizer and parameters; its lists are replaced below
        log.progress("written", config.shards.size() + s + 1, 2 * config.shards.size());
    }
    data.commit();
    auto* lists = new faiss::OnDiskInvertedLists(nlist, code_size, (dir + data_name).c_str());
    for (size_t l = 0; l < nlist; ++l) {
        lists->lists[l].size = total[l];
        lists->lists[l].capacity = total[l];
        lists->lists[l].offset = offset[l];
    }
    lists->totsize = totsize;
    faiss::IndexIVF& ivf = ivf_of(merged, config.shards[0]);
    ivf.replace_invlists(lists, true);
    ivf.ntotal = int64_t(merged.ids.size());
    merged.index->ntotal = int64_t(merged.ids.size());
    merged.ondisk.file = data_name;
    merged.ondisk.bytes = totsize;
    merged.header.provenance.push_back(config.provenance);
    // The data of the index this one replaces, if it had other data: removed once the new index is in place.
    std::string replaced_data;
    struct stat st;
    if (::stat(config.output.c_str(), &st) == 0) {
        try {
            const IndexFile old = load_index_metadata(config.output);
            if (!old.ondisk.file.empty() && old.ondisk.file != data_name) replaced_data = ondisk_data_path(config.output, old);
        } catch (const Error&) {
        }
    }
    save_index(merged, config.output);
    if (!replaced_data.empty()) ::unlink(replaced_data.c_str());
    IngestSummary summary;
    summary.added = merged.ids.size();
    return summary;
}

}  // namespace

IngestSummary merge(const MergeConfig& config, const Log& log) {
    if (config.shards.size() < 2) throw Error(ErrorCode::usage, "merge needs at least two indexes");
    if (config.ondisk) return merge_ondisk(config, log);
    IngestSummary summary;
    io::WriteLock lock(config.output);  // before reading: the output may be one of the shards
    IndexFile merged = load_index(config.shards[0]);
    if (is_ondisk(merged)) throw_error(ErrorCode::usage, config.shards[0], "was merged on disk: merge it again with --ondisk");
    std::unordered_set<std::string> present(merged.ids.begin(), merged.ids.end());
    for (size_t s = 1; s < config.shards.size(); ++s) {
        const std::string& path = config.shards[s];
        IndexFile shard = load_index(path);
        if (is_ondisk(shard)) throw_error(ErrorCode::usage, path, "was merged on disk: merge with --ondisk");
        check_mergeable(merged, shard, config.shards[0], path, present);
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
        if (!file.ondisk.file.empty()) j["ondisk"] = {{"file", file.ondisk.file}, {"bytes", file.ondisk.bytes}};
        return dump_json(j) + "\n";
    }
    std::string out = "file\t" + path + "\n";
    out += "factory\t" + file.factory + "\n";
    out += "count\t" + std::to_string(file.ids.size()) + "\n";
    out += "dim\t" + std::to_string(file.header.dim) + "\n";
    out += std::string("modality\t") + stream::to_string(file.header.modality) + "\n";
    out += "model\t" + model + "\n";
    out += "trained_id\t" + file.trained_id + "\n";
    if (!file.ondisk.file.empty()) out += "ondisk\t" + file.ondisk.file + "\t" + std::to_string(file.ondisk.bytes) + "\n";
    for (const auto& p : file.header.provenance) out += "provenance\t" + p.tool + "\t" + p.version + "\t" + p.args + "\n";
    return out;
}

}  // namespace dcar::index
