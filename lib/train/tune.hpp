// dcar-tune: learns prompts (coop, vpt, maple, dcar) on a frozen CLIP, or trains a whole CLIP (full), from a
// manifest or from dcar-mine-negatives' records, with per-epoch checkpoints that a killed run resumes from
// exactly (every random draw is a function of the seed, the epoch and the example, never of the run's history).
#pragma once
#include <cstdint>
#include <string>

#include "core/log.hpp"
#include "manifest/manifest.hpp"
#include "model/weights.hpp"
#include "train/objective.hpp"
#include "train/optimizer.hpp"
#include "prompts/prompts.hpp"

namespace dcar::train {

enum class Method { coop, vpt, maple, dcar, full };
Method parse_method(const std::string& text);  // Error(usage)
const char* method_name(Method method);

struct TuneConfig : model::RuntimeOptions {
    TuneConfig() { dtype = "auto"; }  // backbone compute type: bf16 on CUDA, fp32 on the CPU (full: fp32)
    Method method = Method::dcar;
    std::string model;        // backbone weights (full: optional start; else init_size)
    std::string init_size;    // full from scratch: model::clip_config_from_spec
    std::string input = "-";  // records of dcar-mine-negatives, or any manifest (no candidates then)
    manifest::ReadOptions read;
    std::string output;       // checkpoint directory
    bool resume = false;

    PromptConfig prompts;
    bool prompt_depth_given = false;  // else a depth beyond the towers' layers is cut to them
    CaaConfig caa;
    ObjectiveConfig objective;
    std::string dtr_infer = "none";  // recorded for dcar-embed: "table" | "none"
    double alpha = 0.5;              // candidates of the image's own class weigh 1 + alpha
    size_t candidates = 5;           // at most this many candidates per caption
    std::string weight_table;        // start the EMA table from dcar-weigh's file ("" = all ones)

    OptimizerConfig optimizer;
    double lr = 0.0035;
    double warmup_lr = 1e-5;  // constant warm-up
    Warmup warmup = Warmup::constant;
    int warmup_epochs = 1;
    int64_t warmup_steps = 0;  // > 0: the warm-up in steps, instead of warmup_epochs
    int epochs = 20;
    int64_t shots = 16;       // images per class (0 = all)
    bool hard_batches = false;  // every batch from one meta_category (a manifest's coarse category)
    double hard_batch_share = 1;  // with hard_batches: the share of each epoch's examples so batched, the rest mixed
    bool augment = true;      // RandomResizedCrop(scale = crop_min..1, ratio 3/4..4/3), no flips
    double crop_min = 0.5;
    double val_fraction = 0;  // images held out for per-epoch validation R@1
    std::string val_input;    // validation examples from this file instead (records or a manifest; "" = none)
    uint64_t seed = 1;

    int64_t max_steps = 0;    // stop after this many steps in all (benchmarks); no checkpoint for a cut epoch
    std::string step_log;     // JSON lines, one per step ("" = none)
    std::string command_line; // recorded in the checkpoint
};

// Defaults per method (docs/METHOD.md §3.4, §8): coop k=4 depth 1 text only, lr 0.002; vpt k=2 depth 9
// independent image prompts only; maple k=2 depth 9 coupled; dcar = maple + pair DTR + category loss (λ=1,
// α=0.5) + CAA + table; full: every weight, AdamW lr 5e-4 wd 0.2, 10 epochs, all shots, linear warm-up, no
// augmentation. Callers apply these first and then the user's explicit options.
TuneConfig method_defaults(Method method);

struct TuneSummary {
    int epochs_done = 0;
    int64_t steps = 0;
    double last_loss = 0;
    double val_r1_i2t = -1, val_r1_t2i = -1;
    std::string checkpoint;
};

// Throws dcar::Error.
TuneSummary run_tune(const TuneConfig& config, const Log& log);

// One epoch's batches of examples 0..count-1 (indices), in an order that depends only on the seed and the
// epoch; a last batch of one is dropped (the contrastive loss needs two). With `groups` (one per example:
// --hard-batches' meta_category), the first `grouped_share` of the shuffled examples are grouped, each group
// cut into batches (its last may be smaller), the rest cut into mixed batches, and all batches shuffled again,
// so that no batch of the grouped share mixes groups; empty `groups` = no grouping.
std::vector<std::vector<size_t>> batch_order(size_t count, const std::vector<std::string>& groups, size_t batch,
                                              uint64_t seed, int epoch, double grouped_share = 1);

}  // namespace dcar::train
