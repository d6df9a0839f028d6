// Message formatting shared by every thrower.
#include "core/error.hpp"

#include <cerrno>
#include <cstring>

namespace dcar {

void throw_error(ErrorCode code, const std::string& place, const std::string& message) {
    throw Error(code, place.empty() ? message : place + ": " + message);
}

void throw_errno(const std::string& place, const std::string& message) {
    const int saved = errno;
    throw_error(ErrorCode::io, place, message + ": " + std::strerror(saved));
}

}  // namespace dcar
