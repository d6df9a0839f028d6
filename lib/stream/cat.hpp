// dcar-cat: the `zstdcat` / `samtools view` of dcar. Reads one or more embedding inputs (stream or .npy, as one
// if compatible) and prints the header, the record count, or the rows as TSV / JSON lines, or converts them to
// a stream or .npy.
#pragma once
#include <string>
#include <vector>

#include "core/log.hpp"
#include "io/sink.hpp"
#include "stream/embeddings.hpp"

namespace dcar::stream {

enum class CatOutput { header, count, tsv, jsonl, dcs, npy };
CatOutput parse_cat_output(const std::string& s);  // tsv|jsonl|dcs|npy; throws dcar::Error(usage)

struct CatConfig {
    std::vector<std::string> inputs;
    CatOutput output = CatOutput::tsv;
    bool ids_only = false;          // tsv/jsonl: no vectors
    std::string dtype;              // dcs/npy: "f32"|"f16"; "" = as the input
    bool normalize = false;         // L2-normalise rows on the way through
    ReadOptions read;
    WriteOptions write;             // format and ids path for npy
    Provenance provenance;
};

// Text outputs go to `out` (not committed); dcs/npy outputs take ownership of `binary_out` and commit it.
// Returns the number of records.
uint64_t cat(const CatConfig& config, io::Sink& out, std::unique_ptr<io::Sink> binary_out, const Log& log);

}  // namespace dcar::stream
