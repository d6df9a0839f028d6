// Fuzz target: arbitrary bytes through the index reader (dcar's container, then FAISS's payload). Any outcome
// but a dcar::Error or a clean load is a bug; with the payload checksum, a corrupt payload never reaches FAISS.
#include <cstddef>
#include <cstdint>

#include "core/error.hpp"
#include "index/index_file.hpp"
#include "io/source.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        auto source = dcar::io::memory_source(data, size, "fuzz");
        dcar::index::load_index(*source);
    } catch (const dcar::Error&) {
    }
    return 0;
}
