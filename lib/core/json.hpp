// Every JSON text dcar writes goes through dump_json: bytes that are not UTF-8 (file names, ids and command
// lines from any file system) become U+FFFD, where nlohmann's default would throw and lose the whole output.
#pragma once
#include <string>

namespace dcar {

template <class Json>
std::string dump_json(const Json& value, int indent = -1) {
    return value.dump(indent, ' ', false, Json::error_handler_t::replace);
}

}  // namespace dcar
