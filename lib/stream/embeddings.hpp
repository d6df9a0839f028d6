// The one entry point for reading and writing embeddings in any supported format. Readers sniff the input's
// magic bytes: a dcar stream (zstd frames) or a .npy array (float16/float32, shape (n, d), ids from a sidecar
// text file or row numbers). Several inputs read as one, provided their headers are compatible.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "io/sink.hpp"
#include "io/source.hpp"
#include "stream/header.hpp"

namespace dcar::stream {

class EmbeddingReader {
public:
    virtual ~EmbeddingReader() = default;
    // The header of the (first) input. For .npy inputs it is synthesised: model unknown, not normalised.
    virtual const Header& header() const = 0;
    // Replaces `batch` with up to max_rows records; returns false (and an empty batch) at the end.
    // Throws dcar::Error(format) on corrupt or truncated input, naming the input and byte offset.
    virtual bool read_batch(Batch& batch, size_t max_rows) = 0;
    // The name used in messages.
    virtual const std::string& name() const = 0;
};

class EmbeddingWriter {
public:
    virtual ~EmbeddingWriter() = default;
    // Writes the rows of `batch` (float32; converted to the header's element type). Throws dcar::Error.
    virtual void write(const Batch& batch) = 0;
    // Ends the output (end marker, .npy shape, sidecar) and commits the sink. Must be called once.
    virtual void finish() = 0;
};

enum class Format { dcs, npy };
Format parse_format(const std::string& s);  // "dcs" | "npy"; throws dcar::Error(usage)

struct ReadOptions {
    std::string ids_path;  // .npy: ids sidecar; "" = "<input without .npy>.ids" if it exists, else row numbers
    Modality modality = Modality::unknown;  // .npy: modality to record in the synthesised header
};

// The inputs and every ids sidecar reading them may open (options.ids_path, or each input's default
// sidecar): the files a tool reads, for io::refuse_output_over_input.
std::vector<std::string> files_read(const std::vector<std::string>& paths, const ReadOptions& options);

// Opens one input ("-" = stdin) of either format. Throws dcar::Error.
std::unique_ptr<EmbeddingReader> open_embeddings(const std::string& path, const ReadOptions& options = {});
std::unique_ptr<EmbeddingReader> open_embeddings(std::unique_ptr<io::Source> source, const ReadOptions& options = {});
// Opens inputs one after another as a single reader; an input whose header is incompatible with the first
// (incompatibility()) is a dcar::Error(mismatch) naming that input.
std::unique_ptr<EmbeddingReader> open_embeddings(const std::vector<std::string>& paths, const ReadOptions& options = {});

struct WriteOptions {
    Format format = Format::dcs;
    int level = 1;              // zstd level: float embeddings barely compress, so 1 (0.5 % larger than 3 and
                                // about 1.6× faster to write; docs/BENCHMARKS.md)
    std::string ids_path;       // .npy: where the ids go; "" = "<output without .npy>.ids" for a regular file
                                // output (stdout, devices and pipes get no sidecar unless named here)
};

// Writes to `sink`; the writer owns it and commits it in finish(). Throws dcar::Error.
std::unique_ptr<EmbeddingWriter> open_writer(std::unique_ptr<io::Sink> sink, const Header& header, const WriteOptions& options = {});

// Reads everything. For inputs of known modest size (queries, score inputs).
Batch read_all(EmbeddingReader& reader);

}  // namespace dcar::stream
