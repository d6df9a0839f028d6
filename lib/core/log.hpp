// How the library reports without printing: it calls a Log, whose sinks the tool sets up (lib/cli). A
// default-constructed Log discards everything, which is what tests and library users get unless they ask.
#pragma once
#include <cstdint>
#include <functional>
#include <string>

namespace dcar {

enum class LogLevel { info, warn };

class Log {
public:
    using MessageSink = std::function<void(LogLevel, const std::string&)>;
    // what: a short label ("indexed"); done and total in the same unit (total 0 = unknown).
    using ProgressSink = std::function<void(const std::string& what, uint64_t done, uint64_t total)>;

    void set_message_sink(MessageSink sink) { message_ = std::move(sink); }
    void set_progress_sink(ProgressSink sink) { progress_ = std::move(sink); }

    void info(const std::string& message) const {
        if (message_) message_(LogLevel::info, message);
    }
    void warn(const std::string& message) const {
        if (message_) message_(LogLevel::warn, message);
    }
    void progress(const std::string& what, uint64_t done, uint64_t total = 0) const {
        if (progress_) progress_(what, done, total);
    }

private:
    MessageSink message_;
    ProgressSink progress_;
};

}  // namespace dcar
