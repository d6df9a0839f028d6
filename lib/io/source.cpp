// File-descriptor and memory sources.
#include "io/source.hpp"

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>
#include <vector>

#include "core/error.hpp"

namespace dcar::io {

bool Source::read_exact(void* buf, size_t n, const char* what) {
    size_t got = 0;
    auto* p = static_cast<char*>(buf);
    while (got < n) {
        const size_t r = read(p + got, n - got);
        if (r == 0) break;
        got += r;
    }
    if (got == n) return true;
    if (got == 0) return false;
    throw_error(ErrorCode::format, name_,
                "byte " + std::to_string(offset_) + ": truncated input: " + what + " ends after " +
                    std::to_string(got) + " of " + std::to_string(n) + " bytes");
}

namespace {

class FdSource : public Source {
public:
    FdSource(int fd, bool owned, std::string name) : Source(std::move(name)), fd_(fd), owned_(owned) {}
    ~FdSource() override {
        if (owned_) ::close(fd_);
    }
    // Small reads are served from a buffer; large ones go straight to the file.
    size_t read(void* buf, size_t n) override {
        if (pos_ == end_) {
            if (n >= buffer_.size()) return read_fd(buf, n);
            pos_ = 0;
            end_ = read_fd(buffer_.data(), buffer_.size());
            offset_ -= end_;
        }
        const size_t take = std::min(n, end_ - pos_);
        std::memcpy(buf, buffer_.data() + pos_, take);
        pos_ += take;
        offset_ += take;
        return take;
    }

private:
    size_t read_fd(void* buf, size_t n) {
        for (;;) {
            const ssize_t r = ::read(fd_, buf, n);
            if (r >= 0) {
                offset_ += uint64_t(r);
                return size_t(r);
            }
            if (errno != EINTR) throw_errno(name_, "read error");
        }
    }

    int fd_;
    bool owned_;
    std::vector<char> buffer_ = std::vector<char>(1 << 16);
    size_t pos_ = 0, end_ = 0;
};

class MemorySource : public Source {
public:
    MemorySource(const void* data, size_t size, std::string name)
        : Source(std::move(name)), bytes_(static_cast<const char*>(data), static_cast<const char*>(data) + size) {}
    size_t read(void* buf, size_t n) override {
        const size_t left = bytes_.size() - size_t(offset_);
        const size_t take = n < left ? n : left;
        if (take) std::memcpy(buf, bytes_.data() + offset_, take);
        offset_ += take;
        return take;
    }

private:
    std::vector<char> bytes_;
};

}  // namespace

bool read_line(Source& source, std::string& line) {
    line.clear();
    char c;
    bool any = false;
    while (source.read(&c, 1) == 1) {
        any = true;
        if (c == '\n') break;
        line += c;
    }
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return any;
}

std::unique_ptr<Source> open_source(const std::string& path) {
    if (path == "-") return std::make_unique<FdSource>(0, false, "stdin");
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw_errno(path, "cannot open");
    return std::make_unique<FdSource>(fd, true, path);
}

std::unique_ptr<Source> memory_source(const void* data, size_t size, std::string name) {
    return std::make_unique<MemorySource>(data, size, std::move(name));
}

}  // namespace dcar::io
