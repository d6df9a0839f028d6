// FDRD caption JSON: one object keyed by image id, in the three schemas of ../shared/method/DCAR.md §1.3
// (flowers test; pets and aircraft test without a class field; the "inter_" files with a placeholder path
// and no negatives). The schemas differ only in which fields are present, so one reader driven by the fields
// handles all three. The document is parsed whole; repeated keys are caught during the parse, because the
// JSON value itself could only keep one of them.
#include <unordered_set>

#include "core/error.hpp"
#include "core/text.hpp"
#include "manifest/detail.hpp"
#include "manifest/manifest.hpp"

namespace dcar::manifest::detail {

namespace {

// The "inter_" files put this where a path belongs.
const char* const path_placeholder = "YOUR_IMAGE_PATH";

// Builds the item of one record, or returns why the record is bad.
std::string make_item(const std::string& key, const Json& record, const std::string& layout,
                      const std::string& image_root, Item& item) {
    if (!record.is_object()) return "record is not a JSON object";
    const auto positive = record.find("positive");
    if (positive == record.end() || positive->is_null()) return "no \"positive\" caption";
    if (!positive->is_string()) return "\"positive\" is not a string";
    if (text::trim(positive->get_ref<const std::string&>()).empty()) return "empty \"positive\" caption";

    std::string file_name, file_path, class_field;
    if (!get_string(record, "file_name", file_name)) return "\"file_name\" is not a string";
    if (!get_string(record, "file_path", file_path)) return "\"file_path\" is not a string";
    if (!get_string(record, "class_name", class_field)) return "\"class_name\" is not a string";
    std::vector<std::string> negatives;
    if (!get_string_list(record, "negative", negatives)) return "\"negative\" is not a list of strings";

    item.id = key;
    item.captions.push_back(positive->get<std::string>());
    item.negatives = filter_negatives(negatives, item.captions);
    const auto class_name = record.find("class_name");
    if (class_name != record.end() && !class_name->is_null()) {
        item.class_name = class_field;
    } else {
        // Pets and aircraft records carry no class: it is the key without its last "_<number>" part
        // ("Sphynx_43" → "Sphynx", "707-320_1514522" → "707-320"). A key without '_' has no class to give.
        const size_t cut = key.rfind('_');
        if (cut != std::string::npos) item.class_name = key.substr(0, cut);
    }

    if (layout == "as-is") {
        if (file_path != path_placeholder) item.image = resolve_image(image_root, file_path);
        return "";
    }
    try {
        item.image = resolve_image(image_root, fdrd_image_path(layout, key, file_name, class_field));
    } catch (const Error& e) {
        if (e.code() != ErrorCode::format) throw;
        return e.what();
    }
    return "";
}

}  // namespace

bool read_fdrd(const std::string& text, const std::string& layout, Collector& out, std::string& error) {
    // Depth 1 keys are the image ids. Returning false for a repeat makes the parser drop that key's value,
    // so the first record under an id is the one kept, as for the other formats.
    std::unordered_set<std::string> seen_keys;
    std::vector<std::string> repeated_keys;
    const Json::parser_callback_t drop_repeats = [&](int depth, Json::parse_event_t event, Json& parsed) {
        if (depth != 1 || event != Json::parse_event_t::key || !parsed.is_string()) return true;
        const std::string& key = parsed.get_ref<const std::string&>();
        if (seen_keys.insert(key).second) return true;
        repeated_keys.push_back(key);
        return false;
    };
    Json document;
    try {
        document = Json::parse(text, drop_repeats);
    } catch (const Json::exception& e) {
        error = json_error_text(e);
        return false;
    }
    if (!document.is_object()) {
        error = "not a JSON object";
        return false;
    }

    const std::string& image_root = out.options().image_root;
    for (auto entry = document.begin(); entry != document.end(); ++entry) {
        const std::string& key = entry.key();
        const std::string place = "key '" + printable(key) + "'";
        Item item;
        const std::string problem = make_item(key, entry.value(), layout, image_root, item);
        if (problem.empty())
            out.add(std::move(item), place);
        else
            out.reject(place, problem);
    }
    for (const std::string& key : repeated_keys) out.reject("key '" + printable(key) + "'", "duplicate id");
    return true;
}

}  // namespace dcar::manifest::detail
