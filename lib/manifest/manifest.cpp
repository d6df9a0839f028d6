// Reading a manifest: format detection, JSON lines and TSV, and the record bookkeeping every format shares
// (id checks, duplicate ids, bad-record reports). FDRD JSON itself is in fdrd.cpp, path rules in layout.cpp.
// Detection looks at the first non-blank line: '{' means JSON (one FDRD object, or one object per line),
// anything else is a TSV header. JSON lines and TSV are read a line at a time so large manifests stream;
// only an FDRD document, a single JSON value, is held whole.
#include <unordered_set>

#include "core/error.hpp"
#include "core/text.hpp"
#include "manifest/detail.hpp"
#include "manifest/manifest.hpp"

namespace dcar::manifest {

std::string caption_id(const std::string& item_id, size_t j) { return item_id + "#" + std::to_string(j); }

std::string item_of_caption(const std::string& caption) {
    const size_t hash = caption.rfind('#');
    if (hash == std::string::npos || hash + 1 == caption.size()) return "";
    for (size_t i = hash + 1; i < caption.size(); ++i)
        if (caption[i] < '0' || caption[i] > '9') return "";
    return caption.substr(0, hash);
}

std::string resolve_image(const std::string& root, const std::string& path) {
    if (path.empty() || path[0] == '/' || root.empty()) return path;
    return root.back() == '/' ? root + path : root + "/" + path;
}

namespace detail {

void Collector::reject(const std::string& place, const std::string& problem) {
    const std::string message = place + ": " + problem;
    if (options_.strict) throw_error(ErrorCode::format, file_, message);
    log_.warn(file_ + ": " + message);
    ++manifest_.skipped;
}

bool Collector::add(Item item, const std::string& place) {
    const std::string id_problem = text::check_id(item.id);
    if (!id_problem.empty()) {
        reject(place, id_problem);
        return false;
    }
    if (!ids_.insert(item.id).second) {
        reject(place, "duplicate id '" + printable(item.id) + "'");
        return false;
    }
    manifest_.items.push_back(std::move(item));
    return true;
}

bool get_string(const Json& record, const char* field, std::string& out) {
    const auto it = record.find(field);
    if (it == record.end() || it->is_null()) return true;
    if (!it->is_string()) return false;
    out = it->get<std::string>();
    return true;
}

bool get_string_list(const Json& record, const char* field, std::vector<std::string>& out) {
    const auto it = record.find(field);
    if (it == record.end() || it->is_null()) return true;
    if (!it->is_array()) return false;
    std::vector<std::string> values;
    values.reserve(it->size());
    for (const Json& value : *it) {
        if (!value.is_string()) return false;
        values.push_back(value.get<std::string>());
    }
    out = std::move(values);
    return true;
}

std::vector<std::string> filter_negatives(const std::vector<std::string>& negatives,
                                          const std::vector<std::string>& captions) {
    // Seeding the seen-set with the positives drops negatives that equal one (the released FDRD negatives
    // sometimes do, when the class-name swap found nothing to replace) along with repeats.
    std::unordered_set<std::string> seen(captions.begin(), captions.end());
    std::vector<std::string> kept;
    for (const std::string& negative : negatives) {
        if (text::trim(negative).empty()) continue;
        if (seen.insert(negative).second) kept.push_back(negative);
    }
    return kept;
}

std::string printable(const std::string& s, size_t max_bytes) {
    size_t end = s.size();
    if (end > max_bytes) {
        end = max_bytes;
        // Cut at a UTF-8 character boundary: continuation bytes are 10xxxxxx.
        while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;
    }
    std::string out = s.substr(0, end);
    for (char& c : out) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) c = '?';
    }
    if (end < s.size()) out += "...";
    return out;
}

std::string json_error_text(const std::exception& e) {
    std::string what = e.what();
    if (what.compare(0, 16, "[json.exception.") == 0) {
        const size_t close = what.find("] ");
        if (close != std::string::npos) what = what.substr(close + 2);
    }
    // Room for the parser's "last read: '…'" excerpt, which can be long.
    return printable(what, 400);
}

}  // namespace detail

namespace {

using detail::Collector;
using detail::Json;

const char* const white_space = " \t\r\n\f\v";

bool is_blank(const std::string& line) { return line.find_first_not_of(white_space) == std::string::npos; }

bool present(const Json& record, const char* field) {
    const auto it = record.find(field);
    return it != record.end() && !it->is_null();
}

std::string line_place(size_t line_number) { return "line " + std::to_string(line_number); }

[[noreturn]] void not_a_manifest(const std::string& file, const std::string& why) {
    throw_error(ErrorCode::format, file, "not an FDRD JSON object, JSON lines or TSV: " + why);
}

// Hands out the non-blank lines of a source with their 1-based line numbers; a UTF-8 byte order mark at the
// very start is dropped, so editors that write one do not turn '{' into an unknown format.
class LineReader {
public:
    explicit LineReader(io::Source& source) : source_(source) {}

    bool next_nonblank(std::string& line) {
        while (io::read_line(source_, line)) {
            ++number_;
            if (number_ == 1 && line.compare(0, 3, "\xEF\xBB\xBF") == 0) line.erase(0, 3);
            if (!is_blank(line)) return true;
        }
        return false;
    }
    size_t number() const { return number_; }

private:
    io::Source& source_;
    size_t number_ = 0;
};

bool parse_json(const std::string& text, Json& value, std::string* error = nullptr) {
    try {
        value = Json::parse(text);
        return true;
    } catch (const Json::exception& e) {
        if (error) *error = detail::json_error_text(e);
        return false;
    }
}

// One JSON-lines record: {"id", "image"?, "caption"? | "captions"?, "class"?, "negatives"?}.
void add_json_record(const Json& record, size_t line_number, Collector& out) {
    const std::string place = line_place(line_number);
    if (!record.is_object()) return out.reject(place, "not a JSON object");

    Item item;
    if (!present(record, "id")) return out.reject(place, "no \"id\"");
    const auto id = record.find("id");
    if (!id->is_string()) return out.reject(place, "\"id\" is not a string");
    item.id = id->get<std::string>();

    std::string image;
    if (!detail::get_string(record, "image", image)) return out.reject(place, "\"image\" is not a string");
    item.image = resolve_image(out.options().image_root, image);

    const bool has_caption = present(record, "caption");
    if (has_caption && present(record, "captions")) return out.reject(place, "both \"caption\" and \"captions\"");
    if (has_caption) {
        std::string caption;
        if (!detail::get_string(record, "caption", caption)) return out.reject(place, "\"caption\" is not a string");
        item.captions.push_back(std::move(caption));
    } else if (!detail::get_string_list(record, "captions", item.captions)) {
        return out.reject(place, "\"captions\" is not a list of strings");
    }
    for (const std::string& caption : item.captions)
        if (text::trim(caption).empty()) return out.reject(place, "empty caption");

    if (!detail::get_string(record, "class", item.class_name)) return out.reject(place, "\"class\" is not a string");

    std::vector<std::string> negatives;
    if (!detail::get_string_list(record, "negatives", negatives))
        return out.reject(place, "\"negatives\" is not a list of strings");
    item.negatives = detail::filter_negatives(negatives, item.captions);

    out.add(std::move(item), place);
}

void add_json_line(const std::string& line, size_t line_number, Collector& out) {
    Json record;
    std::string error;
    if (!parse_json(line, record, &error)) {
        // The parser saw one line, so its "line 1" would contradict the file's line number in the message.
        const std::string own_line = "at line 1, column ";
        const size_t at = error.find(own_line);
        if (at != std::string::npos) error.replace(at, own_line.size(), "at column ");
        return out.reject(line_place(line_number), "invalid JSON: " + error);
    }
    add_json_record(record, line_number, out);
}

// A whole input of one line is a compact FDRD document unless it is one JSON-lines record (an object with a
// string "id"). Decided on the whole line, so one bad record cannot turn a compact FDRD file into JSON lines.
bool is_compact_fdrd(const std::string& line) {
    const nlohmann::json value = nlohmann::json::parse(line, nullptr, false);  // map objects: no quadratic insert
    if (value.is_discarded() || !value.is_object()) return false;
    const auto id = value.find("id");
    return id == value.end() || !id->is_string();
}

void read_json(LineReader& lines, const std::string& first_line, const std::string& layout, Collector& out) {
    const size_t first_number = lines.number();
    std::string line;
    const bool more = lines.next_nonblank(line);
    if (!more) {
        std::string error;
        if (is_compact_fdrd(first_line) && detail::read_fdrd(first_line, layout, out, error)) return;
        add_json_line(first_line, first_number, out);
        return;
    }
    Json first;
    if (parse_json(first_line, first)) {
        // A complete value on the first line and more lines: JSON lines.
        add_json_record(first, first_number, out);
        do add_json_line(line, lines.number(), out);
        while (lines.next_nonblank(line));
        return;
    }
    const size_t second_number = lines.number();

    // The first line is not a value by itself: a pretty-printed FDRD document (the released files are), or
    // JSON lines whose first line is broken. Only here is the whole input held in memory.
    // Blank lines, which the reader skips, are put back so that line n of the file is line n of `text`, and
    // the parser's "line N" in an error message is the file's.
    std::string text(first_number - 1, '\n');
    text += first_line;
    text += '\n';
    size_t text_lines = first_number;
    auto append = [&](size_t number) {
        text.append(number - 1 - text_lines, '\n');
        text += line;
        text += '\n';
        text_lines = number;
    };
    append(second_number);
    while (lines.next_nonblank(line)) append(lines.number());
    std::string document_error;
    if (detail::read_fdrd(text, layout, out, document_error)) return;

    // all[i] is line i + 1.
    const std::vector<std::string> all = text::split(text, '\n');
    bool later_record = false;
    for (size_t i = first_number; i < all.size() && !later_record; ++i) {
        Json value;
        later_record = !is_blank(all[i]) && parse_json(all[i], value) && value.is_object();
    }
    if (!later_record) not_a_manifest(out.file(), "invalid JSON: " + document_error);
    for (size_t i = first_number - 1; i < all.size(); ++i)
        if (!is_blank(all[i])) add_json_line(all[i], i + 1, out);
}

void read_tsv(LineReader& lines, const std::string& header, Collector& out) {
    const std::vector<std::string> columns = text::split(header, '\t');
    const size_t none = size_t(-1);
    size_t id_column = none, image_column = none, caption_column = none, class_column = none;
    for (size_t c = 0; c < columns.size(); ++c) {
        const std::string name = text::trim(columns[c]);
        size_t* slot = name == "id"        ? &id_column
                       : name == "image"   ? &image_column
                       : name == "caption" ? &caption_column
                       : name == "class"   ? &class_column
                                           : nullptr;
        if (!slot) continue;  // other columns are allowed and ignored
        if (*slot != none)
            throw_error(ErrorCode::format, out.file(),
                        line_place(lines.number()) + ": TSV header names column '" + name + "' twice");
        *slot = c;
    }
    if (id_column == none)
        not_a_manifest(out.file(), "the first line is neither JSON nor a TSV header with an 'id' column");

    std::string line;
    while (lines.next_nonblank(line)) {
        const std::string place = line_place(lines.number());
        std::vector<std::string> fields = text::split(line, '\t');
        if (fields.size() != columns.size()) {
            out.reject(place, "expected " + std::to_string(columns.size()) + " tab-separated fields, found " +
                                  std::to_string(fields.size()));
            continue;
        }
        Item item;
        item.id = std::move(fields[id_column]);
        if (image_column != none) item.image = resolve_image(out.options().image_root, fields[image_column]);
        // An empty caption cell means no caption: TSV cannot tell "" from absent.
        if (caption_column != none && !text::trim(fields[caption_column]).empty())
            item.captions.push_back(std::move(fields[caption_column]));
        if (class_column != none) item.class_name = std::move(fields[class_column]);
        out.add(std::move(item), place);
    }
}

}  // namespace

Manifest read_manifest(io::Source& source, const ReadOptions& options, const Log& log) {
    detail::check_layout_option(options.layout);
    const std::string layout = options.layout == "auto" ? guess_layout(source.name()) : options.layout;
    Collector out(source.name(), options, log);
    LineReader lines(source);
    std::string first_line;
    if (!lines.next_nonblank(first_line)) not_a_manifest(source.name(), "empty input");
    if (first_line[first_line.find_first_not_of(white_space)] == '{')
        read_json(lines, first_line, layout, out);
    else
        read_tsv(lines, first_line, out);
    return out.take();
}

Manifest read_manifest(const std::string& path, const ReadOptions& options, const Log& log) {
    const std::unique_ptr<io::Source> source = io::open_source(path);
    return read_manifest(*source, options, log);
}

}  // namespace dcar::manifest
