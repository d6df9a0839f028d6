// Byte sinks. "-" is standard output. A file sink writes to a temporary file beside the target and renames it
// into place on commit(), so a killed or failed run never leaves a half-written output (or a half-replaced
// index); without commit() the temporary file is removed. Writes are buffered.
#pragma once
#include <cstddef>
#include <memory>
#include <string>

namespace dcar::io {

class Sink {
public:
    virtual ~Sink() = default;
    // Throws dcar::Error(io), or dcar::BrokenPipe when the reader of a pipe has gone.
    void write(const void* data, size_t n);
    void write(const std::string& s) { write(s.data(), s.size()); }
    // Hands buffered bytes to the operating system (a pipe's reader sees them now).
    void flush();
    // Finishes the output: flushes, and for files fsyncs and renames the temporary into place.
    virtual void commit() = 0;
    const std::string& name() const { return name_; }
    // True when the output is a terminal (binary output there is refused unless forced).
    virtual bool is_terminal() const = 0;
    // True for an (atomically replaced) regular file; false for stdout, devices, pipes, strings.
    virtual bool is_regular_file() const { return false; }
    // Files can overwrite their first bytes after the fact (the .npy shape); pipes cannot.
    virtual bool can_rewrite_start() const { return false; }
    // Overwrites the first data.size() bytes; call flush() first. Throws dcar::Error(io).
    virtual void rewrite_start(const std::string& data);

protected:
    explicit Sink(std::string name);
    virtual void write_through(const char* data, size_t n) = 0;
    std::string name_;

private:
    std::unique_ptr<char[]> buffer_;
    size_t used_ = 0;
    static constexpr size_t buffer_size = 1 << 20;
};

// "-" → stdout; otherwise an atomically replaced file. Throws dcar::Error(io).
std::unique_ptr<Sink> open_sink(const std::string& path);
// A sink that appends to a string (tests).
std::unique_ptr<Sink> string_sink(std::string& target);

}  // namespace dcar::io
