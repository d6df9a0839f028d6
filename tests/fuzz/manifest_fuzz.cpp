// libFuzzer target for manifest reading: any bytes, read as FDRD JSON, JSON lines or TSV, must give either a
// manifest or a dcar::Error, never a crash or another exception. The input length picks the file name the
// source pretends to have, so mutations also move between the dataset path rules that names select. Each
// input is read twice, leniently and strictly, and the two readings must agree: strict fails exactly when the
// lenient reading skipped a record (or failed itself), and otherwise yields the same items.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/error.hpp"
#include "core/text.hpp"
#include "io/source.hpp"
#include "manifest/manifest.hpp"

namespace {

const char* const names[] = {"memory",        "caltech101_test.json", "cars_train.json",    "dtd_test.json",
                             "ucf101_test.json", "pets_test.json",   "aircraft_test.json", "flower_test.json"};

struct Outcome {
    bool failed = false;
    dcar::manifest::Manifest manifest;
};

Outcome read(const uint8_t* data, size_t size, const std::string& name, bool strict) {
    dcar::manifest::ReadOptions options;
    options.strict = strict;
    options.image_root = "root";
    Outcome outcome;
    auto source = dcar::io::memory_source(data, size, name);
    try {
        outcome.manifest = dcar::manifest::read_manifest(*source, options, dcar::Log{});
    } catch (const dcar::Error&) {
        outcome.failed = true;
    }
    return outcome;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string name = names[size % (sizeof names / sizeof names[0])];
    const Outcome lenient = read(data, size, name, false);
    const Outcome strict = read(data, size, name, true);

    const bool lenient_clean = !lenient.failed && lenient.manifest.skipped == 0;
    if (strict.failed == lenient_clean) std::abort();
    if (!strict.failed) {
        if (strict.manifest.items.size() != lenient.manifest.items.size()) std::abort();
        for (size_t i = 0; i < strict.manifest.items.size(); ++i)
            if (strict.manifest.items[i].id != lenient.manifest.items[i].id) std::abort();
    }
    // What the tools rely on: ids fit TSV and sidecars, and no caption is empty.
    if (!lenient.failed) {
        for (const auto& item : lenient.manifest.items) {
            if (!dcar::text::check_id(item.id).empty()) std::abort();
            for (const auto& caption : item.captions)
                if (caption.empty()) std::abort();
        }
    }
    return 0;
}
