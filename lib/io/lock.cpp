// The lock file is named after the resolved target, so "x.dci", "./x.dci" and a symbolic link to it share one.
#include "io/lock.hpp"

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.hpp"

namespace dcar::io {

WriteLock::WriteLock(const std::string& target) {
    if (target == "-") return;
    struct stat st;
    if (::stat(target.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) return;
    char resolved[PATH_MAX];
    const std::string path = (::realpath(target.c_str(), resolved) ? std::string(resolved) : target) + ".lock";
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd_ < 0) throw_errno(target, "cannot create its lock file " + path);
    while (::flock(fd_, LOCK_EX) != 0) {
        if (errno == EINTR) continue;
        ::close(fd_);
        throw_errno(target, "cannot lock " + path);
    }
}

WriteLock::~WriteLock() {
    if (fd_ >= 0) ::close(fd_);  // closing releases the lock
}

}  // namespace dcar::io
