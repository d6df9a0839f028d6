// The safetensors layout, without LibTorch: the u64 little-endian header length, the JSON header, and every
// tensor's dtype, shape and byte range, checked strictly (inside the data section, the byte count that dtype
// × shape needs, no overlaps, no holes). safetensors.hpp reads the tensors on top of it; the fuzz build
// exercises it alone.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace dcar::model {

struct SafetensorsEntry {
    std::string name;
    std::string dtype;          // "F32", "BF16", ...: one of safetensors_dtype_size's codes
    uint64_t element_size = 0;  // bytes
    std::vector<int64_t> shape;
    uint64_t begin = 0, end = 0;  // relative to data_start
};

struct SafetensorsLayout {
    uint64_t data_start = 0;  // 8 + the header's length
    std::vector<SafetensorsEntry> entries;  // in the header's order
    std::map<std::string, std::string> metadata;
};

// Bytes of an element of a dtype code (F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL), 0 for another code.
uint64_t safetensors_dtype_size(const std::string& code);

// `read(offset, dst, n)` copies n bytes at an absolute offset of a source of `size` bytes. Throws
// dcar::Error(format) naming `place` for anything that is not valid safetensors.
SafetensorsLayout parse_safetensors_layout(uint64_t size, const std::function<void(uint64_t, void*, uint64_t)>& read,
                                           const std::string& place);

}  // namespace dcar::model
