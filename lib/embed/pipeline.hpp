// dcar-embed: images or captions → an embedding stream. Inputs are enumerated (a list of image paths, a
// folder, a manifest's images or captions, or caption lines), split into shards (item i belongs to shard
// i mod N), decoded on worker threads that run ahead of the model by a bounded window, embedded in batches
// in input order, L2-normalised, and written. Bad images are skipped and reported (stderr and --rejects),
// or fatal with on_error_fail. With `resume`, the output is a directory of parts, each written atomically
// and marked done, so a killed run restarts where it stopped; `cat DIR/part-*.dcs` is the whole stream.
// Webdataset tar shards are read as they are: the shards, not their items, are split among shards of the run
// (shard file t belongs to run shard t mod N), and with `resume` each shard file is one part.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "manifest/webdataset.hpp"
#include "model/architecture.hpp"

#include "core/log.hpp"
#include "stream/embeddings.hpp"

namespace dcar::embed {

enum class InputKind { image_list, folder, manifest_images, manifest_captions, caption_lines, webdataset_images, webdataset_captions };

struct EmbedConfig : model::RuntimeOptions {
    std::string model;                 // CLIP weights (OpenAI .pt, torch.save zip, safetensors)
    InputKind kind = InputKind::image_list;
    std::string input = "-";           // list file, folder, manifest, or caption file ("-" = stdin)
    std::string image_root;            // manifests and lists: prefix for relative image paths
    std::string layout = "auto";       // manifests: FDRD path rule
    std::vector<std::string> extensions = {".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp", ".gif"};
    std::vector<std::string> shards;  // webdataset: the tar files, in order (`input` is unused)
    webdataset::Keys keys;             // webdataset: which member extensions hold the image, caption and label

    std::string output = "-";          // stream file or "-"; with resume, a directory of parts
    stream::WriteOptions write;        // format (dcs|npy), ids sidecar
    stream::ElementType store = stream::ElementType::f32;
    bool normalize = true;

    std::string prompts;               // dcar-tune checkpoint: encode with its learned prompts ("" = zero-shot)
    std::string token_weights = "auto"; // captions with prompts: table | none | auto (the checkpoint's choice)
    bool truncate = true;              // captions longer than the context: cut (OpenAI's truncate=True) or reject
    uint64_t max_pixels = 2ull * 89478485ull;
    bool shrink_on_load = true;

    std::string rejects;               // "" = none; else TSV id, source, reason (written atomically)
    std::string stats;                 // "" = none; else the run's statistics as JSON (written atomically)
    bool on_error_fail = false;
    uint32_t shard_index = 0, shard_count = 1;
    bool resume = false;
    uint64_t part_size = 10000;        // items per part with resume (webdataset: one part per shard file)

    stream::Provenance provenance;
};

struct EmbedSummary {
    uint64_t embedded = 0;
    uint64_t rejected = 0;
    uint64_t resumed = 0;              // items in parts already done
    uint64_t skipped_records = 0;      // input records reported and skipped before embedding (bad manifest or
                                       // caption lines, manifest records without an image)
    double seconds = 0;
};

// Throws dcar::Error; per-item problems are rejects unless on_error_fail.
EmbedSummary run(const EmbedConfig& config, const Log& log);


}  // namespace dcar::embed
