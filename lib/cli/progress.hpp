// Progress on stderr. On a terminal, a live line for humans: at most ~6 updates a second, rate and ETA,
// cleared by finish() so the summary that follows stands alone. For batch jobs and cron (--progress always or
// a number of seconds), plain log lines at that interval instead when stderr is not a terminal, which a log
// file keeps. Nothing with --progress never or --quiet.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace dcar::cli {

// How --progress was given: auto (a live line on a terminal, nothing elsewhere), always (plain lines every
// default_log_interval seconds where stderr is not a terminal), never, or a number of seconds (always, at that
// interval). Throws dcar::Error(usage).
struct ProgressMode {
    bool live = false;         // the \r line (stderr is a terminal)
    double log_interval = 0;   // > 0: plain lines at this interval
};
constexpr double default_log_interval = 60;
ProgressMode progress_mode(const std::string& when, bool quiet, bool stderr_is_terminal);

class ProgressPrinter {
public:
    ProgressPrinter(ProgressMode mode, std::string tool) : mode_(mode), tool_(std::move(tool)) {}
    void update(const std::string& what, uint64_t done, uint64_t total);
    void finish();

private:
    std::string line(const std::string& what, uint64_t done, uint64_t total,
                     std::chrono::steady_clock::time_point now) const;
    ProgressMode mode_;
    std::string tool_;
    bool shown_ = false;
    std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
    std::chrono::steady_clock::time_point last_ = start_;
};

}  // namespace dcar::cli
