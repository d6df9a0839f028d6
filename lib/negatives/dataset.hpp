// Image-caption pairs for training and weighing: read from dcar-mine-negatives' records (with their candidate
// negatives) or from any manifest dcar reads (FDRD JSON, JSON lines, TSV; no candidates), told apart by the
// first line. Torch-free.
#pragma once
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/log.hpp"
#include "manifest/manifest.hpp"
#include "negatives/negatives.hpp"

namespace dcar::train {

struct Example {
    std::string item, caption_id, image, caption, class_name;
    std::vector<Candidate> candidates;
    std::string meta_category;  // FDRD's coarse category, from a manifest ("" = none; mined records carry none)
};

// One example per caption. Relative image paths of records are joined to read.image_root (manifests resolve
// their own). Throws dcar::Error(io|format); an input without captions is an error.
std::vector<Example> read_examples(const std::string& path, const manifest::ReadOptions& read, const Log& log);

// The shots of a seed, drawn from a pool of items (images) given as item id → class ("" = none): first
// round(val_fraction × items) items are held out at random for validation, then up to `shots` of the remaining
// items of each class (0 = all) are kept for training, each with all of its captions; items without a class
// are all kept. The draw depends only on the pool, the two numbers and the seed, so dcar-mine-negatives,
// dcar-weigh's input and dcar-tune given the same seed agree on the shots, and a pool that already is the
// shots (`shots` items per class) keeps every item.
struct ShotSplit {
    std::set<std::string> train, val;  // item ids
};
ShotSplit split_shots(const std::map<std::string, std::string>& class_of_item, int64_t shots, double val_fraction,
                      uint64_t seed);

}  // namespace dcar::train
