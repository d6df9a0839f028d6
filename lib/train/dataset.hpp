// Image-caption pairs for training and weighing: read from dcar-mine-negatives' records (with their candidate
// negatives) or from any manifest dcar reads (FDRD JSON, JSON lines, TSV; no candidates), told apart by the
// first line. Torch-free.
#pragma once
#include <string>
#include <vector>

#include "core/log.hpp"
#include "manifest/manifest.hpp"
#include "train/negatives.hpp"

namespace dcar::train {

struct Example {
    std::string item, caption_id, image, caption, class_name;
    std::vector<Candidate> candidates;
};

// One example per caption. Relative image paths of records are joined to read.image_root (manifests resolve
// their own). Throws dcar::Error(io|format); an input without captions is an error.
std::vector<Example> read_examples(const std::string& path, const manifest::ReadOptions& read, const Log& log);

}  // namespace dcar::train
