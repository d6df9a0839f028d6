// Fuzz target: arbitrary bytes through the format sniffer and whichever reader it picks (stream or .npy).
// Any outcome but a dcar::Error or a clean read is a bug.
#include <cstddef>
#include <cstdint>

#include "core/error.hpp"
#include "stream/embeddings.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        auto reader = dcar::stream::open_embeddings(dcar::io::memory_source(data, size, "fuzz"));
        dcar::stream::Batch batch;
        while (reader->read_batch(batch, 64)) {
        }
    } catch (const dcar::Error&) {
    }
    return 0;
}
