// Where an FDRD image lives. The released FDRD files carry the authors' absolute paths or the placeholder
// "YOUR_IMAGE_PATH", so the path is rebuilt from the file name in the CoOp directory layout of each dataset
// (docs/METHOD.md §2.2). The layout is named by the user or guessed from the manifest's file name.
#include <cctype>

#include "core/error.hpp"
#include "core/text.hpp"
#include "manifest/detail.hpp"
#include "manifest/manifest.hpp"

namespace dcar::manifest {

namespace {

[[noreturn]] void rule_mismatch(const std::string& layout, const std::string& name, const std::string& expected) {
    throw Error(ErrorCode::format, "file name '" + detail::printable(name) + "' does not fit the " + layout +
                                       " layout (" + expected + ")");
}

using text::starts_with;

bool all_digits(const std::string& s) {
    if (s.empty()) return false;
    for (unsigned char c : s)
        if (!std::isdigit(c)) return false;
    return true;
}

std::string with_jpg(const std::string& name) { return text::ends_with(name, ".jpg") ? name : name + ".jpg"; }

// CoOp names the UCF101 mid-frame folders by splitting the CamelCase action into words joined with '_'
// ("ApplyEyeMakeup" → "Apply_Eye_Makeup"); like its regex [A-Z][^A-Z]*, text before the first capital is dropped.
std::string split_camel_case(const std::string& action) {
    std::string out;
    bool started = false;
    for (char c : action) {
        const bool upper = std::isupper(static_cast<unsigned char>(c));
        if (upper) {
            if (started) out += '_';
            started = true;
        }
        if (started) out += c;
    }
    return out;
}

std::string caltech_path(const std::string& name) {
    const size_t cut = name.rfind("_image_");
    if (cut == std::string::npos || cut == 0 || cut + 7 == name.size())
        rule_mismatch("caltech101", name, "CLASS_image_NNNN.jpg");
    return "101_ObjectCategories/" + name.substr(0, cut) + "/" + name.substr(cut + 1);
}

std::string cars_path(const std::string& name) {
    for (const char* split : {"cars_train_", "cars_test_"}) {
        const std::string prefix = split;
        if (starts_with(name, prefix) && name.size() > prefix.size())
            return prefix.substr(0, prefix.size() - 1) + "/" + name.substr(prefix.size());
    }
    rule_mismatch("cars", name, "cars_train_NNNNN.jpg or cars_test_NNNNN.jpg");
}

std::string dtd_path(const std::string& name, const std::string& class_name) {
    std::string folder = class_name;
    if (folder.empty()) {
        // DTD file names are "<class>_NNNN.jpg", so the class is recoverable when the record lacks it.
        const size_t cut = name.rfind('_');
        if (cut == std::string::npos || cut == 0) rule_mismatch("dtd", name, "CLASS_NNNN.jpg");
        folder = name.substr(0, cut);
    }
    return "images/" + folder + "/" + name;
}

std::string ucf101_path(const std::string& name, const std::string& class_name) {
    // v_<Action>_gNN_cNN.jpg
    const size_t group = name.rfind("_g");
    if (!starts_with(name, "v_") || group == std::string::npos || group <= 2)
        rule_mismatch("ucf101", name, "v_Action_gNN_cNN.jpg");
    // The record's class_name is CoOp's folder name verbatim; it differs from the file name's action in one
    // class (folder Handstand_Pushups, files v_HandStandPushups_…), so it wins when present.
    std::string folder = class_name.empty() ? split_camel_case(name.substr(2, group - 2)) : class_name;
    if (folder.empty()) rule_mismatch("ucf101", name, "v_Action_gNN_cNN.jpg with a capitalised Action");
    return "UCF-101-midframes/" + folder + "/" + name;
}

std::string flowers_path(const std::string& name) {
    // "monkshood_image_06422" → image number "06422" (the record's `number` field holds the same digits).
    std::string stem = name;
    if (text::ends_with(stem, ".jpg")) stem.resize(stem.size() - 4);
    const size_t cut = stem.rfind('_');
    const std::string number = cut == std::string::npos ? stem : stem.substr(cut + 1);
    if (!all_digits(number)) rule_mismatch("flowers", name, "CLASS_image_NNNNN");
    return "oxford_flowers/jpg/image_" + number + ".jpg";
}

}  // namespace

std::string fdrd_image_path(const std::string& layout, const std::string& key, const std::string& file_name,
                            const std::string& class_name) {
    if (layout == "aircraft") {
        // Aircraft keys are "<variant>_<image number>" and file_name is the number alone.
        std::string image = file_name;
        if (image.empty()) {
            const size_t cut = key.rfind('_');
            image = cut == std::string::npos ? key : key.substr(cut + 1);
        }
        if (image.empty()) rule_mismatch("aircraft", key, "VARIANT_NNNNNNN");
        return "fgvc_aircraft/images/" + with_jpg(image);
    }
    // Every schema has a file_name; the key is a fallback that equals it in the other released files.
    const std::string name = file_name.empty() ? key : file_name;
    const bool has_rule = layout == "caltech101" || layout == "cars" || layout == "dtd" || layout == "ucf101" ||
                          layout == "pets" || layout == "flowers";
    if (has_rule && name.empty()) throw Error(ErrorCode::format, "no file name to build the image path from");
    if (layout == "caltech101") return caltech_path(name);
    if (layout == "cars") return cars_path(name);
    if (layout == "dtd") return dtd_path(name, class_name);
    if (layout == "ucf101") return ucf101_path(name, class_name);
    if (layout == "pets") return "oxford_pets/images/" + with_jpg(name);
    if (layout == "flowers") return flowers_path(name);
    detail::check_layout_option(layout);  // throws for names that are no layout at all
    throw Error(ErrorCode::usage, "layout '" + layout + "' has no path rule");
}

std::string guess_layout(const std::string& manifest_path) {
    const size_t slash = manifest_path.rfind('/');
    std::string name = slash == std::string::npos ? manifest_path : manifest_path.substr(slash + 1);
    for (char& c : name) c = char(std::tolower(static_cast<unsigned char>(c)));
    // The authors' training files are "inter_<dataset>_<split>.json".
    if (starts_with(name, "inter_")) name = name.substr(6);

    struct Rule {
        const char* prefix;
        const char* layout;
    };
    static const Rule rules[] = {
        {"caltech", "caltech101"}, {"cars", "cars"},         {"car_", "cars"},         {"stanford_cars", "cars"},
        {"dtd", "dtd"},            {"ucf", "ucf101"},        {"pets", "pets"},         {"pet_", "pets"},
        {"oxford_pets", "pets"},   {"aircraft", "aircraft"}, {"plane", "aircraft"},    {"fgvc", "aircraft"},
        {"flower", "flowers"},     {"oxford_flowers", "flowers"},
    };
    for (const Rule& rule : rules)
        if (starts_with(name, rule.prefix)) return rule.layout;
    return "as-is";
}

namespace detail {

void check_layout_option(const std::string& layout) {
    static const char* const known[] = {"auto", "caltech101", "cars",     "dtd",     "ucf101",
                                        "pets", "aircraft",   "flowers", "as-is"};
    for (const char* k : known)
        if (layout == k) return;
    throw Error(ErrorCode::usage, "unknown layout '" + printable(layout) +
                                      "' (expected auto, caltech101, cars, dtd, ucf101, pets, aircraft, flowers "
                                      "or as-is)");
}

}  // namespace detail

}  // namespace dcar::manifest
