// A progress line on stderr for humans: at most ~6 updates a second, rate and ETA, only when stderr is a
// terminal and --quiet is off. finish() clears the line so the summary that follows stands alone.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace dcar::cli {

class ProgressPrinter {
public:
    explicit ProgressPrinter(bool enabled) : enabled_(enabled) {}
    void update(const std::string& what, uint64_t done, uint64_t total);
    void finish();

private:
    bool enabled_;
    bool shown_ = false;
    std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
    std::chrono::steady_clock::time_point last_{};
};

}  // namespace dcar::cli
