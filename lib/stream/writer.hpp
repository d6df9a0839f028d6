// Writer of dcar embedding streams: one zstd frame (with content checksum) for the header, one per batch,
// and one for the end marker, flushed frame by frame so `dcar-embed | dcar-index` flows.
#pragma once
#include <memory>

#include "stream/embeddings.hpp"

namespace dcar::stream {

// Layout constants shared by reader and writer (man/dcar-format.5).
inline constexpr char stream_magic[8] = {'D', 'C', 'A', 'R', 'S', 'T', 'R', 'M'};
inline constexpr uint32_t stream_version = 1;
inline constexpr char batch_tag[4] = {'B', 'A', 'T', 'C'};
inline constexpr char end_tag[4] = {'E', 'N', 'D', '!'};
inline constexpr uint32_t max_header_json = 16u << 20;
inline constexpr uint32_t max_text_field = 1u << 16;
inline constexpr size_t rows_per_frame = 4096;

std::unique_ptr<EmbeddingWriter> open_stream_writer(std::unique_ptr<io::Sink> sink, const Header& header, int level);

}  // namespace dcar::stream
