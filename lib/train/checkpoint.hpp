// dcar-tune's checkpoint directory. After every epoch it holds:
//   checkpoint.json            what was trained and how: method, backbone fingerprint and size, prompt, CAA and
//                              token-weight settings, every option that a resume must repeat, the epoch reached,
//                              the per-epoch history, and the names of the files below (written last: the
//                              rename of this file is the commit point of an epoch);
//   state-epoch-NNNN.safetensors   the learned tensors (prompt.*, caa.*), the token weight table (dtr.*) and
//                              the optimiser state (optim.*);
//   clip-epoch-NNNN.safetensors    `full` only: the whole model in OpenAI's layout (loads as any CLIP);
//   clip.safetensors           `full` only, at the end: the final model.
// Older epoch files are removed once a newer checkpoint.json is in place.
#pragma once
#include <optional>
#include <string>

#include "model/clip.hpp"
#include "train/dtr.hpp"
#include "train/prompts.hpp"

namespace dcar::train {

struct CheckpointInfo {
    std::string directory;
    std::string json_text;      // checkpoint.json as written
    std::string method;
    std::string fingerprint;    // the backbone the prompts belong to (full: the model in model_file)
    bool has_prompts = false;
    PromptConfig prompts;
    CaaConfig caa;
    DtrConfig dtr;
    std::string dtr_infer = "none";  // "table" | "none": token weights dcar-embed applies to captions
    int epoch = 0;                   // epochs completed
    int64_t step = 0;
    std::string state_file;          // full paths
    std::string model_file;          // full only
};

// path: the directory or its checkpoint.json. The state and model files are checked against the FNV-1a
// checksums checkpoint.json records for them (checkpoints written before there were checksums are read
// unchecked). Throws dcar::Error(io|format); a file that changed since it was written is a format error
// naming it.
CheckpointInfo read_checkpoint(const std::string& path);

// The FNV-1a 64 checksum of a file's bytes, as 16 hex digits (what checkpoint.json records).
std::string file_checksum(const std::string& path);

// What dcar-embed needs to encode with learned prompts.
struct InferencePrompts {
    PromptSet prompts;
    std::optional<WeightTable> table;  // when the checkpoint's dtr_infer is "table"
    DtrConfig dtr;
    std::string source;
};
// Loads the prompts of a checkpoint for `model`, refusing (dcar::Error(mismatch)) a checkpoint trained on a
// different backbone and one without prompts (`full`: use its clip.safetensors as the model instead).
InferencePrompts load_inference_prompts(const std::string& path, const model::Clip& model);

}  // namespace dcar::train
