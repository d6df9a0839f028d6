// The temporary lives beside the target so rename() stays within one file system and is atomic.
#include "io/atomic_file.hpp"

#include <atomic>
#include <climits>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.hpp"

namespace dcar::io {

namespace {
std::atomic<unsigned> temp_counter{0};

// Live temporaries, in a fixed table a signal handler can read without allocating or locking.
constexpr int max_live = 64;
char live_paths[max_live][PATH_MAX];
std::atomic<bool> live_used[max_live];

int register_temporary(const std::string& path) {
    if (path.size() >= PATH_MAX) return -1;
    for (int i = 0; i < max_live; ++i) {
        bool expected = false;
        if (live_used[i].compare_exchange_strong(expected, true)) {
            std::memcpy(live_paths[i], path.c_str(), path.size() + 1);
            return i;
        }
    }
    return -1;
}

void forget_temporary(int slot) {
    if (slot >= 0) live_used[slot] = false;
}

extern "C" void remove_and_reraise(int sig) {
    for (int i = 0; i < max_live; ++i)
        if (live_used[i]) ::unlink(live_paths[i]);
    std::signal(sig, SIG_DFL);
    std::raise(sig);
}

std::string directory_of(const std::string& path) {
    const size_t slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    if (slash == 0) return "/";
    return path.substr(0, slash);
}
}  // namespace

AtomicFile::AtomicFile(std::string target) : target_(std::move(target)) {
    const size_t slash = target_.rfind('/');
    const std::string base = slash == std::string::npos ? target_ : target_.substr(slash + 1);
    temp_ = directory_of(target_) + "/." + base + ".tmp." + std::to_string(::getpid()) + "." +
            std::to_string(temp_counter++);
    slot_ = register_temporary(temp_);
    fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd_ < 0) {
        forget_temporary(slot_);
        throw_errno(target_, "cannot create a temporary file beside it");
    }
}

AtomicFile::~AtomicFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(temp_.c_str());
    forget_temporary(slot_);
}

void remove_temporaries_on_signals() {
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) std::signal(sig, remove_and_reraise);
}

void AtomicFile::commit() {
    if (committed_) return;
    if (::fsync(fd_) != 0) throw_errno(target_, "fsync failed");
    if (::close(fd_) != 0) {
        fd_ = -1;
        throw_errno(target_, "close failed");
    }
    fd_ = -1;
    if (::rename(temp_.c_str(), target_.c_str()) != 0) throw_errno(target_, "cannot rename the temporary into place");
    committed_ = true;
    forget_temporary(slot_);
    slot_ = -1;
    const int dir = ::open(directory_of(target_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir >= 0) {
        ::fsync(dir);  // best effort: makes the rename itself durable
        ::close(dir);
    }
}

}  // namespace dcar::io
