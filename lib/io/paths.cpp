// File identity by stat(2), which follows symbolic links.
#include "io/paths.hpp"

#include <climits>
#include <cstdlib>
#include <sys/stat.h>

#include "core/error.hpp"

namespace dcar::io {

bool same_file(const std::string& a, const std::string& b) {
    if (a.empty() || b.empty() || a == "-" || b == "-") return false;
    struct stat sa, sb;
    return ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

namespace {

// The directory's real path and the last component, so that "x", "./x" and "d/../x" compare equal whether or
// not the file exists yet; the name as given when its directory does not exist.
std::string canonical_name(const std::string& path) {
    const size_t slash = path.rfind('/');
    const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
    const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
    char resolved[PATH_MAX];
    if (base.empty() || base == "." || base == ".." || !::realpath(dir.c_str(), resolved)) return path;
    return std::string(resolved) + "/" + base;
}

}  // namespace

void refuse_output_over_input(const std::vector<std::string>& inputs, const std::vector<std::string>& outputs) {
    for (size_t i = 0; i < outputs.size(); ++i)
        for (size_t j = i + 1; j < outputs.size(); ++j) {
            const std::string &a = outputs[i], &b = outputs[j];
            if (a.empty() || b.empty()) continue;
            if (a == "-" && b == "-") throw Error(ErrorCode::usage, "two outputs go to standard output (name a file for one)");
            if (a == "-" || b == "-") continue;
            struct stat st;
            if (::stat(a.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) continue;  // /dev/null twice is fine
            if (same_file(a, b) || canonical_name(a) == canonical_name(b))
                throw_error(ErrorCode::usage, b, "is named by two outputs");
        }
    for (const auto& output : outputs) {
        struct stat st;
        if (output.empty() || output == "-" || ::stat(output.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
        for (const auto& input : inputs)
            if (same_file(input, output)) throw_error(ErrorCode::usage, output, "is both an input and the output");
    }
}

}  // namespace dcar::io
