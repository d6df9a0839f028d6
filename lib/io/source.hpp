// Byte sources. "-" is standard input, handled here once so every reader accepts it. Sources never seek, so
// pipes work; each has a name and a running byte offset that error messages quote ("shard3.dcs: byte 40960: …").
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace dcar::io {

class Source {
public:
    virtual ~Source() = default;
    // Reads up to n bytes; returns 0 only at end of input. Throws dcar::Error(io) on a read error.
    virtual size_t read(void* buf, size_t n) = 0;
    const std::string& name() const { return name_; }
    // Bytes handed out so far.
    uint64_t offset() const { return offset_; }
    // Fills buf completely or returns false at a clean end of input (0 bytes read); a short read throws
    // dcar::Error(format) naming what was being read.
    bool read_exact(void* buf, size_t n, const char* what);

protected:
    explicit Source(std::string name) : name_(std::move(name)) {}
    std::string name_;
    uint64_t offset_ = 0;
};

// Reads one line without its "\n" (or "\r\n"); false at end of input.
bool read_line(Source& source, std::string& line);

// "-" → stdin (named "stdin"); otherwise the file, opened for reading. Throws dcar::Error(io).
std::unique_ptr<Source> open_source(const std::string& path);
// A source over bytes in memory (tests, fuzzers). The bytes are copied.
std::unique_ptr<Source> memory_source(const void* data, size_t size, std::string name = "memory");

}  // namespace dcar::io
