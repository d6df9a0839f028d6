// FDRD caption JSON: one object keyed by image id, in the three schemas of docs/METHOD.md §2.1
// (flowers test; pets and aircraft test without a class field; the "inter_" files with a placeholder path
// and no negatives). The schemas differ only in which fields are present, so one reader driven by the fields
// handles all three. The document is parsed whole; repeated keys are caught during the parse, because the
// JSON value itself could only keep one of them.
#include <algorithm>
#include <string_view>
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
    // The coarse category only groups batches (dcar-tune --hard-batches); a record is not refused over it.
    const auto meta = record.find("meta_category");
    if (meta != record.end() && meta->is_string()) item.meta_category = meta->get<std::string>();
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

namespace {

// Where the first top-level JSON value of `text` ends (one past its closing brace), or npos when its braces
// do not balance. Strings and their escapes are skipped, so braces inside captions do not count.
size_t first_value_end(const std::string& text) {
    int depth = 0;
    bool in_string = false, escaped = false;
    for (size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (in_string) {
            if (escaped) escaped = false;
            else if (c == '\\') escaped = true;
            else if (c == '"') in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            ++depth;
        } else if ((c == '}' || c == ']') && --depth == 0) {
            return i + 1;
        }
    }
    return std::string::npos;
}

// Builds the document as nlohmann's own DOM parser does, in map objects, keeping the first value of each
// repeated top-level key (an id) and the ids' order. Linear: an ordered object's insert scans the object, and
// nlohmann's callback parser scans the parent object at every object's end, so with 158k records either took
// minutes.
class FirstRecordPerId {
public:
    using Json = nlohmann::json;
    explicit FirstRecordPerId(Json& document) : dom_(document) {}

    std::vector<std::string> order, repeated;  // ids in file order; ids seen again (their values dropped)

    bool null() { return skip_value() || dom_.null(); }
    bool boolean(bool v) { return skip_value() || dom_.boolean(v); }
    bool number_integer(Json::number_integer_t v) { return skip_value() || dom_.number_integer(v); }
    bool number_unsigned(Json::number_unsigned_t v) { return skip_value() || dom_.number_unsigned(v); }
    bool number_float(Json::number_float_t v, const Json::string_t& s) { return skip_value() || dom_.number_float(v, s); }
    bool string(Json::string_t& v) { return skip_value() || dom_.string(v); }
    bool binary(Json::binary_t& v) { return skip_value() || dom_.binary(v); }
    bool start_object(std::size_t n) { return open() || dom_.start_object(n); }
    bool start_array(std::size_t n) { return open() || dom_.start_array(n); }
    bool end_object() { return close() || dom_.end_object(); }
    bool end_array() { return close() || dom_.end_array(); }
    bool key(Json::string_t& k) {
        if (skipping_) return true;
        if (depth_ == 1) {
            if (!seen_.insert(k).second) {
                repeated.push_back(k);
                skipping_ = true;  // the value that follows
                return true;
            }
            order.push_back(k);
        }
        return dom_.key(k);
    }
    bool parse_error(std::size_t position, const std::string& token, const nlohmann::detail::exception& e) {
        return dom_.parse_error(position, token, e);
    }

private:
    // Each returns true when the event belongs to a value being dropped (and so is consumed here).
    bool skip_value() {
        if (!skipping_) return false;
        if (skip_depth_ == 0) skipping_ = false;  // a scalar was the whole dropped value
        return true;
    }
    bool open() {
        if (skipping_) {
            ++skip_depth_;
            return true;
        }
        ++depth_;
        return false;
    }
    bool close() {
        if (skipping_) {
            if (--skip_depth_ == 0) skipping_ = false;
            return true;
        }
        --depth_;
        return false;
    }

    nlohmann::detail::json_sax_dom_parser<Json> dom_;
    std::unordered_set<std::string> seen_;
    int depth_ = 0;
    bool skipping_ = false;
    int skip_depth_ = 0;
};

}  // namespace

bool read_fdrd(const std::string& text, const std::string& layout, Collector& out, std::string& error) {
    // A document followed by more (a stray line, a second document) keeps its records; what follows is
    // reported once, as one bad record, instead of turning the whole file into bogus JSON lines. Repeated ids
    // keep their first record, as the other formats do.
    const size_t end = first_value_end(text);
    const size_t junk = end == std::string::npos ? end : text.find_first_not_of(" \t\r\n", end);
    const bool trailing = junk != std::string::npos;
    const std::string_view document_text(text.data(), trailing ? end : text.size());

    nlohmann::json document;
    FirstRecordPerId reader(document);
    try {
        nlohmann::json::sax_parse(document_text, &reader);
    } catch (const nlohmann::json::exception& e) {
        error = json_error_text(e);
        return false;
    }
    if (!document.is_object()) {
        error = "not a JSON object";
        return false;
    }

    const std::string& image_root = out.options().image_root;
    for (const std::string& key : reader.order) {
        const std::string place = "key '" + printable(key) + "'";
        const Json record = document.at(key);
        Item item;
        const std::string problem = make_item(key, record, layout, image_root, item);
        if (problem.empty())
            out.add(std::move(item), place);
        else
            out.reject(place, problem);
    }
    for (const std::string& key : reader.repeated) out.reject("key '" + printable(key) + "'", "duplicate id");
    if (trailing) {
        const size_t line = 1 + static_cast<size_t>(std::count(text.begin(), text.begin() + static_cast<long>(junk), '\n'));
        out.reject("line " + std::to_string(line), "unexpected data after the FDRD object");
    }
    return true;
}

}  // namespace dcar::manifest::detail
