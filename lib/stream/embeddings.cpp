// Format sniffing (the first bytes are read, then replayed to the chosen reader), multi-input reading, and
// writer selection.
#include "stream/embeddings.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <sys/stat.h>

#include "core/error.hpp"
#include "core/text.hpp"
#include "stream/npy.hpp"
#include "stream/reader.hpp"
#include "stream/writer.hpp"

namespace dcar::stream {

namespace {

constexpr unsigned char zstd_magic[4] = {0x28, 0xB5, 0x2F, 0xFD};

// Replays already-read bytes, then continues with the wrapped source.
class PrefixSource : public io::Source {
public:
    PrefixSource(std::string prefix, std::unique_ptr<io::Source> rest)
        : io::Source(rest->name()), prefix_(std::move(prefix)), rest_(std::move(rest)) {}
    size_t read(void* buf, size_t n) override {
        size_t got;
        if (pos_ < prefix_.size()) {
            got = std::min(n, prefix_.size() - pos_);
            std::memcpy(buf, prefix_.data() + pos_, got);
            pos_ += got;
        } else {
            got = rest_->read(buf, n);
        }
        offset_ += got;
        return got;
    }

private:
    std::string prefix_;
    size_t pos_ = 0;
    std::unique_ptr<io::Source> rest_;
};

bool file_exists(const std::string& path) {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string without_npy(const std::string& path) {
    return text::ends_with(path, ".npy") ? path.substr(0, path.size() - 4) : path;
}

// Refuses a record whose vector holds a NaN or an infinity, naming the input, the record and its id: such a
// vector would be indexed without a word and never come back as a hit, or score nothing as a query.
class FiniteRows : public EmbeddingReader {
public:
    explicit FiniteRows(std::unique_ptr<EmbeddingReader> inner) : inner_(std::move(inner)) {}
    const Header& header() const override { return inner_->header(); }
    const std::string& name() const override { return inner_->name(); }
    bool read_batch(Batch& batch, size_t max_rows) override {
        if (!inner_->read_batch(batch, max_rows)) return false;
        for (size_t i = 0; i < batch.size(); ++i) {
            const float* row = batch.row(i);
            if (!std::all_of(row, row + batch.dim, [](float v) { return std::isfinite(v); }))
                throw_error(ErrorCode::format, name(),
                            "record " + std::to_string(records_ + i + 1) + " ('" + batch.ids[i].substr(0, 80) +
                                "'): not a finite vector (NaN or infinity)");
        }
        records_ += batch.size();
        return true;
    }

private:
    std::unique_ptr<EmbeddingReader> inner_;
    uint64_t records_ = 0;
};

// Several inputs as one. A first pass reads every input's header and closes the input again, so the combined
// header (and any mismatch) is known before the first row; then the inputs are opened one at a time, so any
// number of them fit the open-file limit and memory. Standard input cannot be opened twice and stays open.
class MultiReader : public EmbeddingReader {
public:
    MultiReader(const std::vector<std::string>& paths, const ReadOptions& options) : paths_(paths), options_(options) {
        for (const auto& path : paths) {
            std::unique_ptr<EmbeddingReader> reader = open_embeddings(path, options);
            const Header& h = reader->header();
            if (&path == &paths.front()) {
                header_ = h;
            } else {
                const std::string why = incompatibility(header_, h);
                if (!why.empty()) throw_error(ErrorCode::mismatch, reader->name(), "does not match the inputs before it: " + why);
                adopt_known_fields(header_, h);
                if (!h.normalized) header_.normalized = false;
            }
            if (path == "-") stdin_ = std::move(reader);
        }
        name_ = paths_.front();
    }
    const Header& header() const override { return header_; }
    const std::string& name() const override { return open_ ? open_->name() : name_; }

    bool read_batch(Batch& batch, size_t max_rows) override {
        for (; current_ < paths_.size(); ++current_) {
            if (!open_) open_ = paths_[current_] == "-" ? std::move(stdin_) : open_embeddings(paths_[current_], options_);
            if (open_->read_batch(batch, max_rows)) return true;
            name_ = open_->name();
            open_.reset();  // closed before the next input is opened
        }
        return false;
    }

private:
    std::vector<std::string> paths_;
    ReadOptions options_;
    std::unique_ptr<EmbeddingReader> stdin_, open_;
    size_t current_ = 0;
    Header header_;
    std::string name_;
};

}  // namespace

Format parse_format(const std::string& s) {
    if (s == "dcs") return Format::dcs;
    if (s == "npy") return Format::npy;
    throw Error(ErrorCode::usage, "unknown embedding format '" + s + "' (expected dcs or npy)");
}

namespace {

std::unique_ptr<EmbeddingReader> open_format_reader(std::unique_ptr<io::Source> source, const ReadOptions& options) {
    char magic[6];
    size_t got = 0;
    while (got < sizeof magic) {
        const size_t r = source->read(magic + got, sizeof magic - got);
        if (r == 0) break;
        got += r;
    }
    const std::string name = source->name();
    auto replay = std::make_unique<PrefixSource>(std::string(magic, got), std::move(source));
    if (got >= 4 && std::memcmp(magic, zstd_magic, 4) == 0) return open_stream_reader(std::move(replay));
    if (got == 6 && std::memcmp(magic, npy_magic, 6) == 0) {
        std::unique_ptr<io::Source> ids;
        if (!options.ids_path.empty()) ids = io::open_source(options.ids_path);
        else if (name != "stdin" && file_exists(without_npy(name) + ".ids")) ids = io::open_source(without_npy(name) + ".ids");
        return open_npy_reader(std::move(replay), std::move(ids), options.modality);
    }
    if (got == 0) throw_error(ErrorCode::format, name, "empty input");
    throw_error(ErrorCode::format, name, "byte 0: neither a dcar embedding stream nor a .npy file");
}

}  // namespace

std::unique_ptr<EmbeddingReader> open_embeddings(std::unique_ptr<io::Source> source, const ReadOptions& options) {
    return std::make_unique<FiniteRows>(open_format_reader(std::move(source), options));
}

std::vector<std::string> files_read(const std::vector<std::string>& paths, const ReadOptions& options) {
    std::vector<std::string> files = paths;
    if (!options.ids_path.empty()) files.push_back(options.ids_path);
    else
        for (const auto& path : paths)
            if (path != "-") files.push_back(without_npy(path) + ".ids");
    return files;
}

std::unique_ptr<EmbeddingReader> open_embeddings(const std::string& path, const ReadOptions& options) {
    return open_embeddings(io::open_source(path), options);
}

std::unique_ptr<EmbeddingReader> open_embeddings(const std::vector<std::string>& paths, const ReadOptions& options) {
    if (paths.empty()) throw Error(ErrorCode::usage, "no input");
    if (paths.size() > 1 && !options.ids_path.empty())
        throw Error(ErrorCode::usage, "--ids names one sidecar, but there are several inputs (give each .npy its own <name>.ids)");
    if (std::count(paths.begin(), paths.end(), "-") > 1) throw Error(ErrorCode::usage, "stdin (-) can be read only once");
    if (paths.size() == 1) return open_embeddings(paths[0], options);
    return std::make_unique<MultiReader>(paths, options);
}

std::unique_ptr<EmbeddingWriter> open_writer(std::unique_ptr<io::Sink> sink, const Header& header, const WriteOptions& options) {
    if (options.level < 1 || options.level > 19) throw Error(ErrorCode::usage, "zstd level must be between 1 and 19");
    if (options.format == Format::dcs) return open_stream_writer(std::move(sink), header, options.level);
    std::unique_ptr<io::Sink> ids;
    if (!options.ids_path.empty()) ids = io::open_sink(options.ids_path);
    else if (sink->is_regular_file()) ids = io::open_sink(without_npy(sink->name()) + ".ids");
    return open_npy_writer(std::move(sink), std::move(ids), header);
}

Batch read_all(EmbeddingReader& reader) {
    Batch all, part;
    all.dim = reader.header().dim;
    while (reader.read_batch(part, 65536)) all.append(part);
    return all;
}

}  // namespace dcar::stream
