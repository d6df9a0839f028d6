// dcar-weigh: the DTR token weight table (docs/METHOD.md §4.4) bootstrapped from a model over image-caption
// pairs — zero-shot, or with a checkpoint's prompts — and explanations of a caption's token weights.
#pragma once
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "core/log.hpp"
#include "manifest/manifest.hpp"
#include "model/weights.hpp"
#include "prompts/dtr.hpp"

namespace dcar::train {

struct WeighConfig : model::RuntimeOptions {
    std::string model;
    std::string prompts;       // dcar-tune checkpoint ("" = zero-shot)
    std::string input;         // manifest or records (bootstrap)
    manifest::ReadOptions read;
    std::string output;        // table file (bootstrap)
    DtrConfig dtr;
    Blank blank = Blank::mean;
};

struct WeighSummary {
    uint64_t pairs = 0, skipped = 0;
    int64_t ids = 0;  // distinct BPE ids updated
};

// One pass over every image-caption pair: pair weights against each caption's own image, EMA-updated into a
// table that starts at 1, written to config.output. Unreadable images are reported and skipped.
WeighSummary run_weigh(const WeighConfig& config, const Log& log);

// TSV lines "position, token, id, weight" (plus "delta" against an image) for one caption: with table weights
// (table_path: a dcar-weigh table or a dcar-tune checkpoint, clamped as that table was made), or, when image is given, the pair weights of
// the caption against that image under config.model (and config.prompts).
void explain(const WeighConfig& config, const std::string& table_path, const std::string& image, const std::string& caption,
             std::ostream& out);

}  // namespace dcar::train
