// Format sniffing (the first bytes are read, then replayed to the chosen reader), multi-input reading, and
// writer selection.
#include "stream/embeddings.hpp"

#include <algorithm>
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

// Opens every input up front (reading only their headers), so the combined header — and any mismatch — is
// known before the first row: a converted output then gets a header that is true of all its rows.
class MultiReader : public EmbeddingReader {
public:
    MultiReader(const std::vector<std::string>& paths, const ReadOptions& options) {
        for (const auto& path : paths) {
            readers_.push_back(open_embeddings(path, options));
            const Header& h = readers_.back()->header();
            if (readers_.size() == 1) {
                header_ = h;
                continue;
            }
            const std::string why = incompatibility(header_, h);
            if (!why.empty()) throw_error(ErrorCode::mismatch, readers_.back()->name(), "does not match the inputs before it: " + why);
            adopt_known_fields(header_, h);
            if (!h.normalized) header_.normalized = false;
        }
    }
    const Header& header() const override { return header_; }
    const std::string& name() const override { return readers_[std::min(current_, readers_.size() - 1)]->name(); }

    bool read_batch(Batch& batch, size_t max_rows) override {
        for (; current_ < readers_.size(); ++current_)
            if (readers_[current_]->read_batch(batch, max_rows)) return true;
        return false;
    }

private:
    std::vector<std::unique_ptr<EmbeddingReader>> readers_;
    size_t current_ = 0;
    Header header_;
};

}  // namespace

Format parse_format(const std::string& s) {
    if (s == "dcs") return Format::dcs;
    if (s == "npy") return Format::npy;
    throw Error(ErrorCode::usage, "unknown embedding format '" + s + "' (expected dcs or npy)");
}

std::unique_ptr<EmbeddingReader> open_embeddings(std::unique_ptr<io::Source> source, const ReadOptions& options) {
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
