// The safetensors format, read and written by hand (Debian has no safetensors library): a u64 little-endian
// header length N, N bytes of JSON {"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__":
// {string: string}}, then the raw little-endian tensor bytes, offsets relative to the start of that data
// section. Reading is strict, since a checkpoint that parses "mostly" is worse than one that fails: every
// tensor must lie inside the data section, its byte count must match dtype × shape, no two may overlap, and
// (as the format's specification demands) together they must cover the data section without holes. Every
// failure is a dcar::Error(format) that names the file. Tensors come back on the CPU, contiguous, owning their
// memory (bytes are copied in with read/memcpy, so alignment never matters).
#pragma once
#include <ATen/core/Tensor.h>

#include <map>
#include <string>

namespace dcar::io {
class Sink;
}

namespace dcar::model {

using TensorMap = std::map<std::string, at::Tensor>;
using SafetensorsMetadata = std::map<std::string, std::string>;

// Reads a whole file. Throws dcar::Error(io) when it cannot be opened or read, dcar::Error(format) when it is
// not valid safetensors. Metadata, when asked for, receives the "__metadata__" object.
TensorMap read_safetensors(const std::string& path, SafetensorsMetadata* metadata = nullptr);

// The same from bytes in memory; place names the source in messages.
TensorMap parse_safetensors(const std::string& bytes, const std::string& place,
                            SafetensorsMetadata* metadata = nullptr);

// Writes tensors (any device; F64/F32/F16/BF16/I64/I32/I16/I8/U8/BOOL) in name order, the header padded with
// spaces to a multiple of 8 bytes so every tensor starts 8-byte aligned. Throws dcar::Error(usage) for an
// unsupported dtype, dcar::Error(io) from the sink. The path form replaces the file atomically.
void write_safetensors(io::Sink& sink, const TensorMap& tensors, const SafetensorsMetadata& metadata = {});
void write_safetensors(const std::string& path, const TensorMap& tensors, const SafetensorsMetadata& metadata = {});

}  // namespace dcar::model
