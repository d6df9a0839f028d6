// Manifests: which images and captions make up a collection, and their classes. One Item type for every
// source format: FDRD caption JSON (all three schemas of docs/METHOD.md §2.1), JSON lines, and TSV.
// The format is detected from the content. Bad records are reported (file and key) and skipped, or fatal
// with `strict`.
#pragma once
#include <string>
#include <vector>

#include "core/log.hpp"
#include "io/source.hpp"

namespace dcar::manifest {

struct Item {
    std::string id;                      // image id (FDRD: the JSON key)
    std::string image;                   // image path, resolved against ReadOptions::image_root ("" = none)
    std::vector<std::string> captions;   // positive captions; caption j is named caption_id(id, j)
    std::string class_name;              // "" = unknown
    std::string meta_category;           // FDRD's coarse category ("" = none)
    std::vector<std::string> negatives;  // negative captions (may be empty)
};

// The id a caption gets in embedding streams: "<item id>#<j>".
std::string caption_id(const std::string& item_id, size_t j);
// Inverse of caption_id: the item id, or "" when `caption` has no "#<digits>" suffix.
std::string item_of_caption(const std::string& caption);

struct ReadOptions {
    std::string image_root;      // prefix for relative or rebuilt image paths ("" = as written)
    std::string layout = "auto"; // FDRD path rule: auto|caltech101|cars|dtd|ucf101|pets|aircraft|flowers|as-is
    bool strict = false;         // a bad record is fatal (dcar::Error(format)) instead of skipped
};

struct Manifest {
    std::vector<Item> items;
    size_t skipped = 0;  // bad records reported and skipped
};

// Reads a manifest ("-" = stdin). Throws dcar::Error(io|format); warnings go to `log`.
Manifest read_manifest(const std::string& path, const ReadOptions& options, const Log& log);
Manifest read_manifest(io::Source& source, const ReadOptions& options, const Log& log);

// The FDRD path rule for a dataset layout (docs/METHOD.md §2.2), e.g. caltech101: "Faces_image_0426.jpg" →
// "101_ObjectCategories/Faces/image_0426.jpg". `layout` "auto" guesses from the file name of the manifest.
std::string fdrd_image_path(const std::string& layout, const std::string& key, const std::string& file_name,
                            const std::string& class_name);
std::string guess_layout(const std::string& manifest_path);

// A relative image path joined to image_root ("" root, empty or absolute paths are returned as they are).
std::string resolve_image(const std::string& image_root, const std::string& path);

}  // namespace dcar::manifest
