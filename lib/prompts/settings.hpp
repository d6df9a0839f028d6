// The settings of learned prompts, the CAA head and token weights that a checkpoint records: torch-free, so
// that the checkpoint reader (prompts/checkpoint.hpp) needs no LibTorch.
#pragma once
#include <cstdint>
#include <string>

namespace dcar::train {

enum class VisualMode { none, coupled, independent };
VisualMode parse_visual_mode(const std::string& text);  // "none" | "coupled" | "independent"; Error(usage)
const char* visual_mode_name(VisualMode mode);

struct PromptConfig {
    int64_t length = 2;                // k, tokens per layer (per side)
    int64_t depth = 9;                 // J: layers 0..J-1 carry prompts
    bool text = true;                  // learnable text context (false: VPT, image prompts only)
    VisualMode visual = VisualMode::coupled;
    std::string init = "a photo of a"; // layer-0 text prompts start as these words' token embeddings ("" = random)
    bool visual_xavier = false;        // independent visual prompts: Xavier-uniform (VPT) instead of N(0, 0.02²)
};

struct CaaConfig {
    bool identity = false;
    int64_t hidden = 128;
    double ratio = 0.2;
};

// Token weights (prompts/dtr.hpp): the clamp of a weight and the momentum of the table's EMA.
struct DtrConfig {
    double w_min = 0.5, w_max = 2.0;
    double momentum = 0.99;  // m of the table's EMA
};

}  // namespace dcar::train
