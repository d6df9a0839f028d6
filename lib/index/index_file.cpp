// FAISS reads and writes through its IOReader/IOWriter functors; adapting them to dcar's Source and Sink
// gives atomic writes, "-" handling and file names in error messages for free.
#include "index/index_file.hpp"

#include <cstdio>
#include <cstring>
#include <vector>
#include <faiss/Index.h>
#include <faiss/impl/FaissException.h>
#include <faiss/impl/io.h>
#include <faiss/index_io.h>
#include <faiss/IVFlib.h>
#include <faiss/IndexIVF.h>
#include <faiss/invlists/OnDiskInvertedLists.h>
#include <sys/stat.h>
#include <nlohmann/json.hpp>

#include "core/json.hpp"
#include "core/error.hpp"
#include "core/fnv.hpp"
#include "io/sink.hpp"
#include "io/source.hpp"

namespace dcar::index {

IndexFile::IndexFile() = default;
IndexFile::~IndexFile() = default;
IndexFile::IndexFile(IndexFile&&) noexcept = default;
IndexFile& IndexFile::operator=(IndexFile&&) noexcept = default;

namespace {

constexpr char index_magic[8] = {'D', 'C', 'A', 'R', 'I', 'N', 'D', 'X'};
// 1: metadata, ids, FAISS payload. 2: the metadata also carries the payload's size and FNV-1a hash, checked
// before FAISS parses a byte of it (FAISS trusts its input: a flipped byte could crash it).
constexpr uint32_t index_version = 2;

struct SinkWriter : faiss::IOWriter {
    explicit SinkWriter(io::Sink& sink) : sink(sink) { name = sink.name(); }
    size_t operator()(const void* ptr, size_t size, size_t nitems) override {
        sink.write(ptr, size * nitems);
        return nitems;
    }
    io::Sink& sink;
};

// Checksums everything FAISS writes through it (Fnv1a64).
struct HashWriter : faiss::IOWriter {
    Fnv1a64 hash;
    size_t operator()(const void* ptr, size_t size, size_t nitems) override {
        hash.add(ptr, size * nitems);
        return nitems;
    }
};

void put_u32(io::Sink& sink, uint32_t v) {
    const char b[4] = {char(v), char(v >> 8), char(v >> 16), char(v >> 24)};
    sink.write(b, 4);
}

uint32_t get_u32(io::Source& source, const char* what) {
    unsigned char b[4];
    if (!source.read_exact(b, 4, what)) throw_error(ErrorCode::format, source.name(), std::string("truncated index: no ") + what);
    return uint32_t(b[0]) | uint32_t(b[1]) << 8 | uint32_t(b[2]) << 16 | uint32_t(b[3]) << 24;
}

struct Payload {
    uint64_t bytes = 0;
    std::string fnv1a64;
};

IndexFile read_metadata(io::Source& source, Payload& payload) {
    char magic[8];
    if (!source.read_exact(magic, 8, "the index magic") || std::memcmp(magic, index_magic, 8) != 0)
        throw_error(ErrorCode::format, source.name(), "not a dcar index (bad magic)");
    const uint32_t version = get_u32(source, "index version");
    // Version 1 carried no checksum of the FAISS payload, and FAISS trusts its input: a damaged payload could
    // crash it (or leak). Such files are refused rather than parsed unchecked.
    if (version == 1)
        throw_error(ErrorCode::format, source.name(),
                    "index format version 1 has no payload checksum and is no longer read: rebuild it with dcar-index build");
    if (version != index_version)
        throw_error(ErrorCode::format, source.name(), "index format version " + std::to_string(version) + " is not supported");
    const uint32_t length = get_u32(source, "metadata length");
    if (length > (64u << 20)) throw_error(ErrorCode::format, source.name(), "index metadata too large");
    std::string json(length, '\0');
    if (!source.read_exact(json.data(), length, "the index metadata")) throw_error(ErrorCode::format, source.name(), "truncated index metadata");
    IndexFile file;
    try {
        const auto j = nlohmann::json::parse(json);
        file.header = stream::Header::from_json(dump_json(j.at("embeddings")), source.name());
        file.factory = j.at("factory").get<std::string>();
        file.trained_id = j.at("trained_id").get<std::string>();
        payload.bytes = j.at("payload").at("bytes").get<uint64_t>();
        payload.fnv1a64 = j.at("payload").at("fnv1a64").get<std::string>();
        if (j.contains("ondisk")) {
            const auto& d = j.at("ondisk");
            file.ondisk.file = d.at("file").get<std::string>();
            file.ondisk.bytes = d.at("bytes").get<uint64_t>();
            if (file.ondisk.file.empty() || file.ondisk.file.find('/') != std::string::npos || file.ondisk.file[0] == '.')
                throw_error(ErrorCode::format, source.name(), "index metadata: bad on-disk data file name");
        }
        file.payload_fnv1a64 = payload.fnv1a64;
    } catch (const nlohmann::json::exception& e) {
        throw_error(ErrorCode::format, source.name(), std::string("index metadata: ") + e.what());
    }
    const uint64_t count = uint64_t(get_u32(source, "id count")) | uint64_t(get_u32(source, "id count")) << 32;
    if (count > (1ull << 40)) throw_error(ErrorCode::format, source.name(), "implausible id count");
    file.ids.reserve(size_t(std::min<uint64_t>(count, 1u << 24)));
    for (uint64_t i = 0; i < count; ++i) {
        const uint32_t n = get_u32(source, "an id");
        if (n == 0 || n >= (1u << 16)) throw_error(ErrorCode::format, source.name(), "id " + std::to_string(i) + ": bad length");
        std::string id(n, '\0');
        if (!source.read_exact(id.data(), n, "an id")) throw_error(ErrorCode::format, source.name(), "truncated index: ids end early");
        file.ids.push_back(std::move(id));
    }
    return file;
}

// Maps the data file of an index merged on disk, read-only, after checking that it is the file the index was
// written with (its size) and that every list lies inside it.
void map_ondisk_lists(IndexFile& file, const std::string& path) {
    if (path == "-" || path.empty()) throw_error(ErrorCode::usage, path, "an index merged on disk must be read from its file, not a pipe");
    auto* ivf = faiss::ivflib::try_extract_index_ivf(file.index.get());
    auto* lists = ivf ? dynamic_cast<faiss::OnDiskInvertedLists*>(ivf->invlists) : nullptr;
    if (!lists) throw_error(ErrorCode::format, path, "the metadata names on-disk data but the FAISS index has no on-disk lists");
    const std::string data = ondisk_data_path(path, file);
    struct stat st;
    if (::stat(data.c_str(), &st) != 0) throw_errno(data, "cannot open the index's on-disk data (it must lie beside " + path + ")");
    if (uint64_t(st.st_size) != file.ondisk.bytes || lists->totsize != file.ondisk.bytes)
        throw_error(ErrorCode::format, data, "is " + std::to_string(st.st_size) + " bytes, the index expects " +
                                                 std::to_string(file.ondisk.bytes) + ": not the data this index was merged with");
    const uint64_t entry = lists->code_size + sizeof(faiss::Index::idx_t);
    for (size_t l = 0; l < lists->lists.size(); ++l) {
        const auto& list = lists->lists[l];
        if (list.size > list.capacity || list.capacity > lists->totsize / std::max<uint64_t>(1, entry) ||
            list.offset > lists->totsize - list.capacity * entry)
            throw_error(ErrorCode::format, path, "on-disk list " + std::to_string(l) + " lies outside its data file");
    }
    lists->filename = data;
    lists->read_only = true;
    try {
        if (lists->totsize > 0) lists->do_mmap();
    } catch (const faiss::FaissException& e) {
        throw_error(ErrorCode::io, data, std::string("cannot map: ") + e.what());
    }
}

}  // namespace

std::string ondisk_data_path(const std::string& index_path, const IndexFile& file) {
    const size_t slash = index_path.rfind('/');
    return (slash == std::string::npos ? std::string() : index_path.substr(0, slash + 1)) + file.ondisk.file;
}

IndexFile load_index_metadata(const std::string& path) {
    auto source = io::open_source(path);
    Payload payload;
    return read_metadata(*source, payload);
}

IndexFile load_index(io::Source& source) {
    const std::string path = source.name();
    Payload payload;
    IndexFile file = read_metadata(source, payload);
    // The payload is read whole and checked before FAISS sees it; FAISS then reads it from memory.
    if (payload.bytes > (uint64_t(1) << 40)) throw_error(ErrorCode::format, path, "implausible FAISS payload size");
    std::vector<uint8_t> bytes(size_t(payload.bytes));
    if (!source.read_exact(bytes.data(), bytes.size(), "the FAISS payload"))
        throw_error(ErrorCode::format, path, "truncated index: the FAISS payload ends early");
    Fnv1a64 hash;
    hash.add(bytes.data(), bytes.size());
    if (hash.hex() != payload.fnv1a64) throw_error(ErrorCode::format, path, "FAISS payload checksum mismatch: the index is corrupt");
    // On-disk lists: FAISS reads only their places; map_ondisk_lists maps the data file beside the index.
    const int flags = file.ondisk.file.empty() ? 0 : faiss::IO_FLAG_SKIP_IVF_DATA;
    try {
        faiss::VectorIOReader reader;
        reader.data.swap(bytes);
        file.index.reset(faiss::read_index(&reader, flags));
        if (reader.rp != reader.data.size()) throw_error(ErrorCode::format, path, "trailing bytes after the FAISS index");
    } catch (const faiss::FaissException& e) {
        throw_error(ErrorCode::format, path, std::string("FAISS index unreadable: ") + e.what());
    }
    if (!file.ondisk.file.empty()) map_ondisk_lists(file, path);
    if (file.index->ntotal != faiss::Index::idx_t(file.ids.size()))
        throw_error(ErrorCode::format, path, "index holds " + std::to_string(file.index->ntotal) + " vectors but " + std::to_string(file.ids.size()) + " ids");
    if (uint32_t(file.index->d) != file.header.dim)
        throw_error(ErrorCode::format, path, "FAISS index dimension differs from the metadata");
    char extra;
    if (source.read(&extra, 1) != 0) throw_error(ErrorCode::format, path, "trailing bytes after the FAISS index");
    return file;
}

IndexFile load_index(const std::string& path) {
    auto source = io::open_source(path);
    return load_index(*source);
}

void save_index(const IndexFile& file, const std::string& path) {
    auto sink = io::open_sink(path);
    if (sink->is_terminal()) throw Error(ErrorCode::usage, "refusing to write an index to a terminal");
    sink->write(index_magic, 8);
    put_u32(*sink, index_version);
    nlohmann::json j;
    j["embeddings"] = nlohmann::json::parse(file.header.to_json());
    j["factory"] = file.factory;
    j["trained_id"] = file.trained_id;
    j["count"] = file.ids.size();
    HashWriter payload;
    try {
        faiss::write_index(file.index.get(), &payload);  // a first pass for the size and checksum
    } catch (const faiss::FaissException& e) {
        throw_error(ErrorCode::io, path, std::string("FAISS cannot write the index: ") + e.what());
    }
    j["payload"] = {{"bytes", payload.hash.bytes()}, {"fnv1a64", payload.hash.hex()}};
    if (!file.ondisk.file.empty())
        j["ondisk"] = {{"file", file.ondisk.file}, {"bytes", file.ondisk.bytes}};
    const std::string json = dump_json(j);
    put_u32(*sink, uint32_t(json.size()));
    sink->write(json);
    const uint64_t count = file.ids.size();
    put_u32(*sink, uint32_t(count));
    put_u32(*sink, uint32_t(count >> 32));
    for (const auto& id : file.ids) {
        put_u32(*sink, uint32_t(id.size()));
        sink->write(id);
    }
    try {
        SinkWriter writer(*sink);
        faiss::write_index(file.index.get(), &writer);
    } catch (const faiss::FaissException& e) {
        throw_error(ErrorCode::io, path, std::string("FAISS cannot write the index: ") + e.what());
    }
    sink->commit();
}

std::string fingerprint_index(const faiss::Index& index) {
    HashWriter writer;
    faiss::write_index(&index, &writer);
    return writer.hash.hex();
}

}  // namespace dcar::index
