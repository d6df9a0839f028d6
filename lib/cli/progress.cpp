// Rate-limited carriage-return progress line.
#include "cli/progress.hpp"

#include <cstdio>

namespace dcar::cli {

void ProgressPrinter::update(const std::string& what, uint64_t done, uint64_t total) {
    if (!enabled_) return;
    const auto now = std::chrono::steady_clock::now();
    if (shown_ && now - last_ < std::chrono::milliseconds(160) && done != total) return;
    last_ = now;
    shown_ = true;
    const double seconds = std::chrono::duration<double>(now - start_).count();
    const double rate = seconds > 0 ? double(done) / seconds : 0;
    if (total > 0) {
        const double eta = rate > 0 ? double(total - std::min(done, total)) / rate : 0;
        std::fprintf(stderr, "\r\033[K%s: %llu/%llu (%.0f/s, ETA %.0fs)", what.c_str(), (unsigned long long)done,
                     (unsigned long long)total, rate, eta);
    } else {
        std::fprintf(stderr, "\r\033[K%s: %llu (%.0f/s)", what.c_str(), (unsigned long long)done, rate);
    }
    std::fflush(stderr);
}

void ProgressPrinter::finish() {
    if (shown_) std::fprintf(stderr, "\r\033[K");
    shown_ = false;
}

}  // namespace dcar::cli
