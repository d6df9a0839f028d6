// Fuzz target: arbitrary bytes as dcar-tune's checkpoint.json (the reader dcar-embed --prompts, dcar-weigh and
// dcar-tune --resume share), and what parses written back and read again.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/error.hpp"
#include "prompts/checkpoint.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        const dcar::train::CheckpointInfo info = dcar::train::parse_checkpoint(text, "fuzz/checkpoint.json", "fuzz");
        // Whatever is accepted names its files inside the directory.
        if (info.state_file.rfind("fuzz/", 0) != 0 || info.state_file.find('/', 5) != std::string::npos) std::abort();
        (void)dcar::train::visual_mode_name(info.prompts.visual);
    } catch (const dcar::Error&) {
    }
    return 0;
}
