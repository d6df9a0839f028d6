// The dcar index file: a FAISS index plus what FAISS does not keep — the id of every vector (FAISS labels are
// row positions into `ids`), the dimension, modality and model fingerprint of the embeddings it holds, the
// factory string, an identity of its training (shards merge only when trained together), and provenance.
// Layout (man/dcar-format.5): "DCARINDX", u32 version, u32 JSON length, JSON metadata, u64 id count,
// ids (u32 length + bytes each), then the FAISS index as faiss::write_index writes it. Writes are atomic.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "stream/header.hpp"

namespace faiss {
struct Index;
}

namespace dcar::io {
class Source;
}

namespace dcar::index {

struct IndexFile {
    stream::Header header;   // dim, modality, model, provenance (dtype and normalized are not meaningful here)
    std::string factory;     // FAISS factory string, as given
    std::string trained_id;  // hex hash of the trained, empty index: equal for shards of one training
    std::vector<std::string> ids;
    std::unique_ptr<faiss::Index> index;
    // An index merged on disk (dcar-index merge --ondisk) keeps its inverted lists in a data file beside it,
    // memory-mapped read-only when loaded; the FAISS payload then holds only the quantizer and the lists' places.
    struct OnDisk {
        std::string file;      // the data file's name, in the index file's directory ("" = lists in the payload)
        uint64_t bytes = 0;    // its size
    } ondisk;
    std::string payload_fnv1a64;  // the FAISS payload's checksum, as read ("" = a version-1 file or a new index)

    IndexFile();
    ~IndexFile();
    IndexFile(IndexFile&&) noexcept;
    IndexFile& operator=(IndexFile&&) noexcept;
};

// Throws dcar::Error(io|format) naming the file. A version-2 file's FAISS payload is checked against the
// checksum in its metadata before FAISS parses it (and so held in memory once more while loading).
IndexFile load_index(const std::string& path);
IndexFile load_index(io::Source& source);
// Reads only the metadata and ids (no FAISS payload): for `info` and checks. Throws like load_index.
IndexFile load_index_metadata(const std::string& path);
// The on-disk data file of `file`, loaded from `index_path`: its path beside the index.
std::string ondisk_data_path(const std::string& index_path, const IndexFile& file);
// Writes atomically (temporary + rename). Throws dcar::Error(io).
void save_index(const IndexFile& file, const std::string& path);

// 64-bit FNV-1a of the serialised index, as 16 hex digits.
std::string fingerprint_index(const faiss::Index& index);

}  // namespace dcar::index
