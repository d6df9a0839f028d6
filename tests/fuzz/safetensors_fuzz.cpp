// Fuzz target: arbitrary bytes as a safetensors file (its layout: header length, JSON header, every tensor's
// dtype, shape and byte range), the part of the reader that a corrupt or hostile checkpoint reaches first.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "core/error.hpp"
#include "model/safetensors_layout.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        const auto layout = dcar::model::parse_safetensors_layout(
            size, [data](uint64_t offset, void* dst, uint64_t n) { std::memcpy(dst, data + offset, n); }, "fuzz.safetensors");
        uint64_t total = 0;
        for (const auto& e : layout.entries) total += e.end - e.begin;
        if (layout.data_start + total > size) __builtin_trap();  // the layout promises every range lies in the file
    } catch (const dcar::Error&) {
    }
    return 0;
}
