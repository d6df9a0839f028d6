// Fuzz target: arbitrary bytes as a webdataset shard (a tar, maybe compressed), listed as dcar-embed lists it.
#include <cstddef>
#include <cstdint>

#include "core/error.hpp"
#include "manifest/webdataset.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        const dcar::webdataset::Listing listing = dcar::webdataset::list_shard_in_memory(data, size, dcar::webdataset::Keys{});
        for (const auto& sample : listing.samples)
            if (sample.key.empty()) __builtin_trap();  // a sample always has a key
    } catch (const dcar::Error&) {
    }
    return 0;
}
