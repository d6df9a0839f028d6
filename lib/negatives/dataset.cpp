#include "negatives/dataset.hpp"

#include <algorithm>
#include <cmath>

#include "core/error.hpp"
#include "core/random.hpp"
#include "core/text.hpp"
#include "io/source.hpp"

namespace dcar::train {

std::vector<Example> read_examples(const std::string& path, const manifest::ReadOptions& read, const Log& log) {
    auto source = io::open_source(path);
    std::string bytes, line, first;
    while (io::read_line(*source, line)) {
        if (first.empty() && !text::trim(line).empty()) first = line;
        bytes += line;
        bytes += '\n';
    }
    std::vector<Example> examples;
    auto memory = io::memory_source(bytes.data(), bytes.size(), path);
    if (!first.empty() && is_record_line(first)) {
        for (auto& r : read_records(*memory))
            examples.push_back({r.id, r.caption_id, manifest::resolve_image(read.image_root, r.image), r.caption, r.class_name,
                                std::move(r.negatives), ""});
    } else {
        const auto m = manifest::read_manifest(*memory, read, log);
        for (const auto& item : m.items)
            for (size_t j = 0; j < item.captions.size(); ++j)
                examples.push_back({item.id, manifest::caption_id(item.id, j), item.image, item.captions[j], item.class_name, {}, item.meta_category});
    }
    if (examples.empty()) throw_error(ErrorCode::format, path, "no captions");
    return examples;
}

ShotSplit split_shots(const std::map<std::string, std::string>& class_of_item, int64_t shots, double val_fraction,
                      uint64_t seed) {
    std::vector<std::string> items;
    for (const auto& entry : class_of_item) items.push_back(entry.first);  // sorted: the map's order
    Rng rng(stream_seed(seed, 0x7661));  // "va"
    for (size_t i = items.size(); i > 1; --i) std::swap(items[i - 1], items[rng.below(i)]);
    const size_t held = std::min(items.size(), static_cast<size_t>(std::llround(val_fraction * static_cast<double>(items.size()))));
    ShotSplit split;
    split.val.insert(items.begin(), items.begin() + static_cast<long>(held));
    std::map<std::string, std::vector<std::string>> by_class;
    for (size_t i = held; i < items.size(); ++i) {
        const std::string& class_name = class_of_item.at(items[i]);
        if (class_name.empty()) split.train.insert(items[i]);
        else by_class[class_name].push_back(items[i]);
    }
    uint64_t class_index = 0;
    for (auto& [name, list] : by_class) {
        std::sort(list.begin(), list.end());
        Rng pick(stream_seed(seed, 0x73686f74, class_index++));  // "shot"
        for (size_t i = list.size(); i > 1; --i) std::swap(list[i - 1], list[pick.below(i)]);
        const size_t take = shots > 0 ? std::min(list.size(), static_cast<size_t>(shots)) : list.size();
        split.train.insert(list.begin(), list.begin() + static_cast<long>(take));
    }
    return split;
}

}  // namespace dcar::train
