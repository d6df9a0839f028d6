// The live progress line and the plain progress log lines.
#include "cli/progress.hpp"

#include <cstdio>

#include "core/error.hpp"

namespace dcar::cli {

ProgressMode progress_mode(const std::string& when, bool quiet, bool stderr_is_terminal) {
    ProgressMode m;
    double interval = 0;
    if (when == "auto" || when == "never") {
    } else if (when == "always") {
        interval = default_log_interval;
    } else {
        try {
            size_t used = 0;
            interval = std::stod(when, &used);
            if (used != when.size() || !(interval >= 1 && interval <= 86400)) throw std::invalid_argument("range");
        } catch (const std::exception&) {
            throw Error(ErrorCode::usage, "--progress is auto, always, never or a number of seconds (1 to 86400), not '" + when + "'");
        }
    }
    if (quiet || when == "never") return m;
    m.live = stderr_is_terminal;
    if (!stderr_is_terminal) m.log_interval = interval;
    return m;
}

std::string ProgressPrinter::line(const std::string& what, uint64_t done, uint64_t total,
                                  std::chrono::steady_clock::time_point now) const {
    const double seconds = std::chrono::duration<double>(now - start_).count();
    const double rate = seconds > 0 ? double(done) / seconds : 0;
    char text[256];
    if (total > 0) {
        const double eta = rate > 0 ? double(total - std::min(done, total)) / rate : 0;
        std::snprintf(text, sizeof text, "%s: %llu/%llu (%.0f/s, ETA %.0fs)", what.c_str(), (unsigned long long)done,
                      (unsigned long long)total, rate, eta);
    } else {
        std::snprintf(text, sizeof text, "%s: %llu (%.0f/s)", what.c_str(), (unsigned long long)done, rate);
    }
    return text;
}

void ProgressPrinter::update(const std::string& what, uint64_t done, uint64_t total) {
    const auto now = std::chrono::steady_clock::now();
    if (mode_.live) {
        if (shown_ && now - last_ < std::chrono::milliseconds(160) && done != total) return;
        last_ = now;
        shown_ = true;
        std::fprintf(stderr, "\r\033[K%s", line(what, done, total, now).c_str());
        std::fflush(stderr);
    } else if (mode_.log_interval > 0) {
        if (std::chrono::duration<double>(now - last_).count() < mode_.log_interval) return;
        last_ = now;
        std::fprintf(stderr, "%s: %s\n", tool_.c_str(), line(what, done, total, now).c_str());
        std::fflush(stderr);
    }
}

void ProgressPrinter::finish() {
    if (shown_) std::fprintf(stderr, "\r\033[K");
    shown_ = false;
}

}  // namespace dcar::cli
