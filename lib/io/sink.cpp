// Buffered sinks over stdout, atomic files and strings.
#include "io/sink.hpp"

#include <cerrno>
#include <cstring>
#include <climits>
#include <cstdlib>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.hpp"
#include "io/atomic_file.hpp"

namespace dcar::io {

Sink::Sink(std::string name) : name_(std::move(name)), buffer_(new char[buffer_size]) {}

void Sink::write(const void* data, size_t n) {
    if (n == 0) return;  // FAISS writes empty arrays with a null pointer
    const auto* p = static_cast<const char*>(data);
    if (used_ + n > buffer_size) {
        flush();
        if (n >= buffer_size) {
            write_through(p, n);
            return;
        }
    }
    std::memcpy(buffer_.get() + used_, p, n);
    used_ += n;
}

void Sink::flush() {
    if (used_ == 0) return;
    const size_t n = used_;
    used_ = 0;
    write_through(buffer_.get(), n);
}

void Sink::rewrite_start(const std::string&) { throw_error(ErrorCode::internal, name_, "this output cannot be rewritten"); }

namespace {

void write_fd(int fd, const char* data, size_t n, const std::string& name) {
    while (n > 0) {
        const ssize_t w = ::write(fd, data, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EPIPE) throw BrokenPipe();
            throw_errno(name, "write error");
        }
        data += w;
        n -= size_t(w);
    }
}

class StdoutSink : public Sink {
public:
    StdoutSink() : Sink("stdout") {}
    void commit() override { flush(); }
    bool is_terminal() const override { return ::isatty(1) == 1; }

protected:
    void write_through(const char* data, size_t n) override { write_fd(1, data, n, name_); }
};

class FileSink : public Sink {
public:
    explicit FileSink(const std::string& path) : Sink(path), file_(path) {}
    void commit() override {
        flush();
        file_.commit();
    }
    bool is_terminal() const override { return false; }
    bool is_regular_file() const override { return true; }
    bool can_rewrite_start() const override { return true; }
    void rewrite_start(const std::string& data) override {
        if (::pwrite(file_.fd(), data.data(), data.size(), 0) != ssize_t(data.size())) throw_errno(name_, "write error");
    }

protected:
    void write_through(const char* data, size_t n) override { write_fd(file_.fd(), data, n, name_); }

private:
    AtomicFile file_;
};

// Devices, FIFOs and sockets (/dev/null, /dev/stdout, a named pipe) are written in place: replacing them
// with a regular file would be wrong, and they cannot hold a half-written file anyway.
class DeviceSink : public Sink {
public:
    explicit DeviceSink(const std::string& path) : Sink(path) {
        fd_ = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
        if (fd_ < 0) throw_errno(path, "cannot open for writing");
    }
    ~DeviceSink() override { ::close(fd_); }
    void commit() override { flush(); }
    bool is_terminal() const override { return ::isatty(fd_) == 1; }

protected:
    void write_through(const char* data, size_t n) override { write_fd(fd_, data, n, name_); }

private:
    int fd_;
};

class StringSink : public Sink {
public:
    explicit StringSink(std::string& target) : Sink("string"), target_(target) {}
    void commit() override { flush(); }
    bool is_terminal() const override { return false; }

protected:
    void write_through(const char* data, size_t n) override { target_.append(data, n); }

private:
    std::string& target_;
};

}  // namespace

std::unique_ptr<Sink> open_sink(const std::string& path) {
    if (path == "-") return std::make_unique<StdoutSink>();
    struct stat st;
    if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
        if (S_ISDIR(st.st_mode)) throw_error(ErrorCode::io, path, "is a directory");
        return std::make_unique<DeviceSink>(path);
    }
    // A symbolic link to a regular file: replace the file it points to, and keep the link.
    char resolved[PATH_MAX];
    struct stat lst;
    if (::lstat(path.c_str(), &lst) == 0 && S_ISLNK(lst.st_mode) && ::realpath(path.c_str(), resolved))
        return std::make_unique<FileSink>(resolved);
    return std::make_unique<FileSink>(path);
}

std::unique_ptr<Sink> string_sink(std::string& target) { return std::make_unique<StringSink>(target); }

}  // namespace dcar::io
