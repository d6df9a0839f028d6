// Private to lib/manifest: what the format readers (manifest.cpp for detection, JSON lines and TSV; fdrd.cpp
// for FDRD JSON) share. The Collector is the single place where a record is accepted or rejected, so every
// format enforces the same id rules and reports bad records in the same "FILE: PLACE: problem" form.
#pragma once
#include <string>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "manifest/manifest.hpp"

namespace dcar::manifest::detail {

class Collector {
public:
    Collector(std::string file, const ReadOptions& options, const Log& log)
        : file_(std::move(file)), options_(options), log_(log) {}

    // A bad record: warned and counted, or with options.strict thrown as dcar::Error(format).
    // place: "line 12" or "key 'x'".
    void reject(const std::string& place, const std::string& problem);
    // Accepts the item unless its id is invalid or already taken (then rejects it). Returns whether it was kept.
    bool add(Item item, const std::string& place);

    const std::string& file() const { return file_; }
    const ReadOptions& options() const { return options_; }
    Manifest take() { return std::move(manifest_); }

private:
    std::string file_;
    const ReadOptions& options_;
    const Log& log_;
    Manifest manifest_;
    std::unordered_set<std::string> ids_;
};

// Both JSON formats keep the file's key order, so FDRD items come out in the order the file lists them.
using Json = nlohmann::ordered_json;

// Optional fields of a JSON record: an absent or null field leaves `out` untouched; the wrong type returns false.
bool get_string(const Json& record, const char* field, std::string& out);
bool get_string_list(const Json& record, const char* field, std::vector<std::string>& out);

// The negatives worth keeping: not empty, not equal to a positive caption, first occurrence of duplicates.
std::vector<std::string> filter_negatives(const std::vector<std::string>& negatives,
                                          const std::vector<std::string>& captions);
// A string fit to quote in a one-line message: control bytes become '?', strings over max_bytes are cut.
std::string printable(const std::string& s, size_t max_bytes = 120);
// nlohmann's exception text without its "[json.exception.…] " prefix, made printable.
std::string json_error_text(const std::exception& e);
// Throws dcar::Error(usage) unless `layout` is one ReadOptions::layout accepts.
void check_layout_option(const std::string& layout);

// FDRD JSON (fdrd.cpp). Returns false, with `error` set, when `text` is not one JSON object; otherwise adds
// its records to `out`, applying the path rule of `layout` (already resolved: not "auto").
bool read_fdrd(const std::string& text, const std::string& layout, Collector& out, std::string& error);

}  // namespace dcar::manifest::detail
