#include "train/dataset.hpp"

#include "core/error.hpp"
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
                                std::move(r.negatives)});
    } else {
        const auto m = manifest::read_manifest(*memory, read, log);
        for (const auto& item : m.items)
            for (size_t j = 0; j < item.captions.size(); ++j)
                examples.push_back({item.id, manifest::caption_id(item.id, j), item.image, item.captions[j], item.class_name, {}});
    }
    if (examples.empty()) throw_error(ErrorCode::format, path, "no captions");
    return examples;
}

}  // namespace dcar::train
