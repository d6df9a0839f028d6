// Fuzz target: arbitrary bytes as a .npy array plus an ids sidecar (the input split at its first 0xff byte).
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "core/error.hpp"
#include "stream/npy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const auto* split = static_cast<const uint8_t*>(std::memchr(data, 0xff, size));
    const size_t array_size = split ? size_t(split - data) : size;
    try {
        auto ids = split ? dcar::io::memory_source(split + 1, size - array_size - 1, "fuzz.ids") : nullptr;
        auto reader = dcar::stream::open_npy_reader(dcar::io::memory_source(data, array_size, "fuzz.npy"), std::move(ids),
                                                    dcar::stream::Modality::unknown);
        dcar::stream::Batch batch;
        while (reader->read_batch(batch, 16)) {
        }
    } catch (const dcar::Error&) {
    }
    return 0;
}
