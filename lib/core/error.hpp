// The one error type of the dcar libraries. Every failure that reaches a tool is a dcar::Error with a stable
// code (which the tool maps to an exit status) and a one-line message that already names the place: a file,
// a byte offset, a record id or a flag. Foreign exceptions (FAISS, zstd, JSON) are translated where they arise.
#pragma once
#include <stdexcept>
#include <string>

namespace dcar {

enum class ErrorCode {
    usage,     // bad option or argument                          → exit 2
    io,        // cannot open, read or write a file                 → exit 1
    format,    // corrupt, truncated or malformed input             → exit 1
    mismatch,  // inputs that cannot be mixed (dimension, model)    → exit 1
    model,     // model weights or configuration                    → exit 1
    internal,  // a broken invariant                                → exit 1
};

class Error : public std::runtime_error {
public:
    Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
    ErrorCode code() const { return code_; }

private:
    ErrorCode code_;
};

// Thrown by sinks when the reader of a pipe went away (EPIPE); tools treat it as a quiet success.
class BrokenPipe : public std::runtime_error {
public:
    BrokenPipe() : std::runtime_error("broken pipe") {}
};

// "name: message", the form every message takes when it concerns one file.
[[noreturn]] void throw_error(ErrorCode code, const std::string& place, const std::string& message);
// As throw_error, with ": strerror(errno)" appended.
[[noreturn]] void throw_errno(const std::string& place, const std::string& message);

}  // namespace dcar
