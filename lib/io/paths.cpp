// File identity by stat(2), which follows symbolic links.
#include "io/paths.hpp"

#include <sys/stat.h>

#include "core/error.hpp"

namespace dcar::io {

bool same_file(const std::string& a, const std::string& b) {
    if (a.empty() || b.empty() || a == "-" || b == "-") return false;
    struct stat sa, sb;
    return ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

void refuse_output_over_input(const std::vector<std::string>& inputs, const std::vector<std::string>& outputs) {
    for (const auto& output : outputs) {
        struct stat st;
        if (output.empty() || output == "-" || ::stat(output.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
        for (const auto& input : inputs)
            if (same_file(input, output)) throw_error(ErrorCode::usage, output, "is both an input and the output");
    }
}

}  // namespace dcar::io
