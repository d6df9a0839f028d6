// FNV-1a, 64 bits: the one checksum dcar uses to tell content apart (index training ids and payloads, the
// inputs of a resumable embedding run). Detects accidents, not attacks.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

namespace dcar {

class Fnv1a64 {
public:
    void add(const void* data, size_t n) {
        const auto* p = static_cast<const unsigned char*>(data);
        for (size_t i = 0; i < n; ++i) hash_ = (hash_ ^ p[i]) * 1099511628211ull;
        bytes_ += n;
    }
    void add(const std::string& s) { add(s.data(), s.size()); }
    uint64_t value() const { return hash_; }
    uint64_t bytes() const { return bytes_; }
    // 16 lower-case hexadecimal digits.
    std::string hex() const {
        char out[17];
        std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(hash_));
        return out;
    }

private:
    uint64_t hash_ = 1469598103934665603ull;
    uint64_t bytes_ = 0;
};

}  // namespace dcar
