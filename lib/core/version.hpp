// Version and build identity, baked in at configure time (lib/core/build_info.cpp.in).
#pragma once
#include <string>

namespace dcar {

const char* version();        // "0.1.0"
const char* commit();         // short git commit, or "unknown"
std::string version_line();   // "0.1.0 (commit abc1234)"

}  // namespace dcar
