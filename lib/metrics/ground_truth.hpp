// Which captions belong to which images. Three sources: the caption-id convention ("X#j" is a caption of image
// "X"), equal non-empty labels, or a manifest. The result lists the images and captions that can be evaluated
// (each has at least one correct partner present) and what was left out, so the caller can report it; the
// evaluation runs on the kept rows only, both as queries and as gallery.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "manifest/manifest.hpp"
#include "metrics/recall.hpp"

namespace dcar::metrics {

enum class GroundTruthSource { ids, labels, manifest };

struct GroundTruth {
    std::vector<size_t> image_rows;  // kept rows of the image input, in input order
    std::vector<size_t> text_rows;   // kept rows of the text input, in input order
    Positives image_positives;       // per kept image: positions in text_rows of its captions
    Positives text_positives;        // per kept caption: positions in image_rows of its images
    std::vector<std::string> image_classes;  // per kept image; "" = unknown

    size_t images_excluded = 0, texts_excluded = 0;
    std::vector<std::string> excluded_image_examples, excluded_text_examples;  // the first few ids

    size_t pairs() const;
};

// How many excluded ids are kept as examples.
inline constexpr size_t excluded_examples = 5;

// Caption "X#j" belongs to image "X" (manifest::item_of_caption); classes are the images' labels.
// `image_name` names the image input in errors: a repeated image id is a dcar::Error(format).
GroundTruth match_by_ids(const std::vector<std::string>& image_ids, const std::vector<std::string>& image_labels,
                         const std::vector<std::string>& text_ids, const std::string& image_name);

// An image and a caption match when their labels are equal and not empty; classes are the labels.
GroundTruth match_by_labels(const std::vector<std::string>& image_ids, const std::vector<std::string>& image_labels,
                            const std::vector<std::string>& text_ids, const std::vector<std::string>& text_labels);

// Image ids are item ids; caption j of an item is caption_id(item.id, j); classes come from the manifest.
// Images or captions the manifest does not name are excluded. A repeated image id is a dcar::Error(format).
GroundTruth match_by_manifest(const manifest::Manifest& manifest, const std::vector<std::string>& image_ids,
                              const std::vector<std::string>& text_ids, const std::string& image_name);

}  // namespace dcar::metrics
