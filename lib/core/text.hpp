// Small string helpers shared by the readers, writers and reports.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dcar::text {

// Splits on one character; keeps empty fields.
std::vector<std::string> split(const std::string& s, char sep);
std::string trim(const std::string& s);
std::string join(const std::vector<std::string>& parts, const std::string& sep);
bool starts_with(const std::string& s, const std::string& prefix);
bool ends_with(const std::string& s, const std::string& suffix);
// A tensor shape as "[2, 3]".
std::string shape_text(const std::vector<int64_t>& shape);
// v in decimal, left-padded with zeros to at least `width` digits (file names that sort: part-000012).
std::string zero_padded(uint64_t v, int width);
// The shortest decimal form that reads back as the same float ("0.1", not "0.100000001").
std::string format_float(float v);
// The whole of s as a number, or nothing (no trailing characters, no blanks; doubles must be finite).
std::optional<double> to_double(const std::string& s);
std::optional<int64_t> to_int64(const std::string& s);
std::optional<uint64_t> to_uint64(const std::string& s);  // digits only: "-1" is refused, not wrapped
// format_float for JSON: non-finite values become null.
std::string json_float(float v);
// argv as one line a shell would read back: arguments with spaces or quotes are single-quoted.
std::string quote_argv(const std::vector<std::string>& args);
// Ids travel through TSV and one-per-line sidecars: no tab, newline or carriage return, not empty.
// Returns an empty string when valid, else the reason.
std::string check_id(const std::string& id);

}  // namespace dcar::text
