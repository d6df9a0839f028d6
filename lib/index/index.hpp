// dcar-index operations: build (train on a sample, then add, streaming), add (append atomically, skipping ids
// already present), merge (shards of one training into one index), and info. Every write goes through
// save_index, which replaces the file atomically, under the output's io::WriteLock: add and merge hold it from
// before they read until the rename, so concurrent writers of one index serialise and none loses rows.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/log.hpp"
#include "index/index_file.hpp"
#include "stream/embeddings.hpp"

namespace dcar::index {

struct IngestSummary {
    uint64_t added = 0;
    uint64_t duplicates = 0;  // ids already in the index (or earlier in the input), reported and skipped
    uint64_t trained_on = 0;  // rows the training used (build only)
};

struct BuildConfig {
    std::vector<std::string> inputs;   // embedding files ("-" = stdin)
    std::string output;                // the index file
    std::string factory = "Flat";      // any FAISS factory string; inner product on L2-normalised rows
    uint64_t train_sample = 0;         // rows to train on; 0 = automatic (see train_sample_size)
    bool train_only = false;           // write the trained, empty index (the template for shard builds)
    uint64_t seed = 1;                 // sampling and k-means seed
    bool strict = false;               // a duplicate id is an error instead of a warning
    stream::ReadOptions read;
    stream::Provenance provenance;
};

struct AddConfig {
    std::string index;                 // existing index
    std::vector<std::string> inputs;
    std::string output;                // "" = replace `index` in place (atomically)
    bool strict = false;
    stream::ReadOptions read;
    stream::Provenance provenance;
};

struct MergeConfig {
    std::vector<std::string> shards;   // indexes built from one trained template
    std::string output;
    // IVF only: write the merged inverted lists to a data file beside the output ("<output name>.<16 hex>.ivfdata")
    // instead of into it, holding one shard in memory at a time; readers memory-map the data.
    bool ondisk = false;
    stream::Provenance provenance;
};

IngestSummary build(const BuildConfig& config, const Log& log);
IngestSummary add(const AddConfig& config, const Log& log);
IngestSummary merge(const MergeConfig& config, const Log& log);

// Rows to train `factory` on when the user gives none: enough for k-means on every IVF list (64 per list)
// and for PQ codebooks, capped by what is available.
uint64_t train_sample_size(const std::string& factory, uint32_t dim, uint64_t available);

// Human-readable (key<TAB>value lines, starting with "file<TAB>path") or one-line JSON description.
std::string describe(const std::string& path, const IndexFile& file, bool json);

// The nprobe a new IVF index searches with unless --nprobe says otherwise: nlist/16, between 1 and 256.
// (FAISS's own default of 1 visits one list and gives poor recall.)
size_t default_nprobe(size_t nlist);

}  // namespace dcar::index
