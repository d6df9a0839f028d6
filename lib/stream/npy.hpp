// NumPy .npy arrays as embeddings, for interoperability with clip-retrieval and autofaiss: float16 or float32,
// little-endian, C order, shape (n, d). Ids travel in a sidecar text file, one per line ("id" or "id<TAB>label"),
// matched to rows by position; without one, ids are row numbers ("0", "1", …).
#pragma once
#include <memory>

#include "stream/embeddings.hpp"

namespace dcar::stream {

inline constexpr char npy_magic[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};

// `ids` may be null (row numbers). Throws dcar::Error(format) on a malformed array or sidecar.
std::unique_ptr<EmbeddingReader> open_npy_reader(std::unique_ptr<io::Source> source, std::unique_ptr<io::Source> ids,
                                                 Modality modality);
// `ids` may be null (no sidecar). Without a sink that can rewrite its start, rows are held in memory until finish().
std::unique_ptr<EmbeddingWriter> open_npy_writer(std::unique_ptr<io::Sink> sink, std::unique_ptr<io::Sink> ids,
                                                 const Header& header);

}  // namespace dcar::stream
