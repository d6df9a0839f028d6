// Fuzz target: arbitrary bytes as a model config beside the weights (open_clip's or Hugging Face's JSON), and
// as an --arch spelling (the safetensors metadata dcar reads back).
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/error.hpp"
#include "model/architecture.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        const dcar::model::Architecture a = dcar::model::config_architecture(text, "fuzz.json");
        (void)a.heads_for_vision(a.vision_width);
        (void)a.heads_for_text(a.text_width);
    } catch (const dcar::Error&) {
    }
    try {
        const dcar::model::Architecture a = dcar::model::parse_architecture(text);
        (void)a.heads_for_vision(768);
    } catch (const dcar::Error&) {
    }
    return 0;
}
