// Ground-truth matching. Ids and manifests yield one image per caption, so they go through a list of
// (image row, caption row) pairs; labels can match every caption of a class to every image of it, so they are
// grouped per label instead, to avoid materialising classes² pairs.
#include "metrics/ground_truth.hpp"

#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "core/error.hpp"

namespace dcar::metrics {

size_t GroundTruth::pairs() const {
    size_t n = 0;
    for (const auto& p : image_positives) n += p.size();
    return n;
}

namespace {

constexpr size_t none = size_t(-1);

void note_excluded(size_t& count, std::vector<std::string>& examples, const std::string& id) {
    ++count;
    if (examples.size() < excluded_examples) examples.push_back(id);
}

std::unordered_map<std::string, size_t> index_image_ids(const std::vector<std::string>& image_ids,
                                                        const std::string& image_name) {
    std::unordered_map<std::string, size_t> rows;
    rows.reserve(image_ids.size());
    for (size_t i = 0; i < image_ids.size(); ++i)
        if (!rows.emplace(image_ids[i], i).second)
            throw_error(ErrorCode::format, image_name, "image id '" + image_ids[i] + "' appears more than once");
    return rows;
}

// text_image[t] = the image row of caption t, or `none`.
GroundTruth from_caption_owners(const std::vector<size_t>& text_image, const std::vector<std::string>& image_ids,
                                const std::vector<std::string>& text_ids, const std::vector<std::string>& classes) {
    GroundTruth gt;
    std::vector<bool> has_caption(image_ids.size(), false);
    for (size_t owner : text_image)
        if (owner != none) has_caption[owner] = true;
    std::vector<uint32_t> image_pos(image_ids.size(), 0);
    for (size_t i = 0; i < image_ids.size(); ++i) {
        if (!has_caption[i]) {
            note_excluded(gt.images_excluded, gt.excluded_image_examples, image_ids[i]);
            continue;
        }
        image_pos[i] = uint32_t(gt.image_rows.size());
        gt.image_rows.push_back(i);
        gt.image_classes.push_back(classes[i]);
    }
    gt.image_positives.resize(gt.image_rows.size());
    for (size_t t = 0; t < text_ids.size(); ++t) {
        if (text_image[t] == none) {
            note_excluded(gt.texts_excluded, gt.excluded_text_examples, text_ids[t]);
            continue;
        }
        const uint32_t image = image_pos[text_image[t]];
        gt.image_positives[image].push_back(uint32_t(gt.text_rows.size()));
        gt.text_positives.push_back({image});
        gt.text_rows.push_back(t);
    }
    return gt;
}

}  // namespace

GroundTruth match_by_ids(const std::vector<std::string>& image_ids, const std::vector<std::string>& image_labels,
                         const std::vector<std::string>& text_ids, const std::string& image_name) {
    const auto rows = index_image_ids(image_ids, image_name);
    std::vector<size_t> owner(text_ids.size(), none);
    for (size_t t = 0; t < text_ids.size(); ++t) {
        const std::string item = manifest::item_of_caption(text_ids[t]);
        if (item.empty()) continue;
        const auto it = rows.find(item);
        if (it != rows.end()) owner[t] = it->second;
    }
    return from_caption_owners(owner, image_ids, text_ids, image_labels);
}

GroundTruth match_by_manifest(const manifest::Manifest& manifest, const std::vector<std::string>& image_ids,
                              const std::vector<std::string>& text_ids, const std::string& image_name) {
    const auto rows = index_image_ids(image_ids, image_name);
    // Only images the manifest names take part; their classes come from it.
    std::vector<std::string> classes(image_ids.size());
    std::vector<bool> listed(image_ids.size(), false);
    std::unordered_map<std::string, size_t> caption_owner;
    for (const auto& item : manifest.items) {
        const auto it = rows.find(item.id);
        if (it == rows.end()) continue;
        listed[it->second] = true;
        classes[it->second] = item.class_name;
        for (size_t j = 0; j < item.captions.size(); ++j) caption_owner[manifest::caption_id(item.id, j)] = it->second;
    }
    std::vector<size_t> owner(text_ids.size(), none);
    for (size_t t = 0; t < text_ids.size(); ++t) {
        const auto it = caption_owner.find(text_ids[t]);
        if (it != caption_owner.end() && listed[it->second]) owner[t] = it->second;
    }
    return from_caption_owners(owner, image_ids, text_ids, classes);
}

GroundTruth match_by_labels(const std::vector<std::string>& image_ids, const std::vector<std::string>& image_labels,
                            const std::vector<std::string>& text_ids, const std::vector<std::string>& text_labels) {
    std::unordered_set<std::string> image_label_set, text_label_set;
    for (const auto& l : image_labels)
        if (!l.empty()) image_label_set.insert(l);
    for (const auto& l : text_labels)
        if (!l.empty()) text_label_set.insert(l);

    GroundTruth gt;
    std::unordered_map<std::string, std::vector<uint32_t>> images_of, texts_of;  // label → kept positions
    for (size_t i = 0; i < image_ids.size(); ++i) {
        const std::string& label = image_labels[i];
        if (label.empty() || !text_label_set.count(label)) {
            note_excluded(gt.images_excluded, gt.excluded_image_examples, image_ids[i]);
            continue;
        }
        images_of[label].push_back(uint32_t(gt.image_rows.size()));
        gt.image_rows.push_back(i);
        gt.image_classes.push_back(label);
    }
    for (size_t t = 0; t < text_ids.size(); ++t) {
        const std::string& label = text_labels[t];
        if (label.empty() || !image_label_set.count(label)) {
            note_excluded(gt.texts_excluded, gt.excluded_text_examples, text_ids[t]);
            continue;
        }
        texts_of[label].push_back(uint32_t(gt.text_rows.size()));
        gt.text_rows.push_back(t);
        gt.text_positives.push_back(images_of[label]);
    }
    gt.image_positives.resize(gt.image_rows.size());
    for (size_t i = 0; i < gt.image_rows.size(); ++i) gt.image_positives[i] = texts_of[gt.image_classes[i]];
    return gt;
}

}  // namespace dcar::metrics
