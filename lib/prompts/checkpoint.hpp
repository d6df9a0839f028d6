// dcar-tune's checkpoint directory. After every epoch it holds:
//   checkpoint.json            what was trained and how: method, backbone fingerprint and size, prompt, CAA and
//                              token-weight settings, every option that a resume must repeat, the epoch reached,
//                              the per-epoch history, and the names of the files below with their checksums
//                              (written last: the rename of this file is the commit point of an epoch);
//   state-epoch-NNNN.safetensors   the learned tensors (prompt.*, caa.*), the token weight table (dtr.*) and
//                              the optimiser state (optim.*);
//   clip-epoch-NNNN.safetensors    `full` only: the whole model in OpenAI's layout (loads as any CLIP);
//   clip.safetensors           `full` only, at the end: the final model.
// Older epoch files are removed once a newer checkpoint.json is in place.
// The reader and the writer of checkpoint.json, torch-free (the tensors are the caller's).
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "prompts/settings.hpp"

namespace dcar::train {

struct CheckpointInfo {
    std::string directory;
    std::string method;
    std::string fingerprint;    // the backbone the prompts belong to (full: the model in model_file)
    std::string initial_fingerprint, backbone_size, backbone_path;  // where the run started: the backbone, its size, -m
    bool has_prompts = false;
    PromptConfig prompts;
    CaaConfig caa;
    DtrConfig dtr;
    std::string dtr_infer = "none";  // "table" | "none": token weights dcar-embed applies to captions
    nlohmann::ordered_json options;  // every option a resume must repeat (dcar-tune's options_json)
    nlohmann::ordered_json history;  // one object per epoch
    std::string command;
    int epoch = 0;                   // epochs completed
    int64_t step = 0;
    std::string state_file;          // full paths
    std::string model_file;          // full only
    // The files' FNV-1a checksums as checkpoint.json records them ("" = none: written before there were
    // checksums). The reader fills them in; the writer computes its own.
    std::string state_checksum, model_checksum;
};

// path: the directory or its checkpoint.json. The state and model files are checked against the FNV-1a
// checksums checkpoint.json records for them (checkpoints written before there were checksums are read
// unchecked). Throws dcar::Error(io|format); a file that changed since it was written is a format error
// naming it.
CheckpointInfo read_checkpoint(const std::string& path);

// checkpoint.json's text alone, read from json_path in directory: no file is opened. Throws
// dcar::Error(format) naming json_path.
CheckpointInfo parse_checkpoint(const std::string& json_text, const std::string& json_path, const std::string& directory);

// Writes info.directory/checkpoint.json (atomically) for the state and model files already there, with their
// checksums, then removes the other epochs' files.
void write_checkpoint(const CheckpointInfo& info);

// The FNV-1a 64 checksum of a file's bytes, as 16 hex digits (what checkpoint.json records).
std::string file_checksum(const std::string& path);

}  // namespace dcar::train
