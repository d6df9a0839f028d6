// Reader of dcar embedding streams (format: man/dcar-format.5). Streams concatenated with `cat` read as one,
// provided the headers are compatible. A stream that stops before its end marker, a bad checksum, or bytes
// that are not a stream are errors naming the input and the byte offset of the frame at fault.
#pragma once
#include <memory>

#include "stream/embeddings.hpp"

namespace dcar::stream {

std::unique_ptr<EmbeddingReader> open_stream_reader(std::unique_ptr<io::Source> source);

}  // namespace dcar::stream
