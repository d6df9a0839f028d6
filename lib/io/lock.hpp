// Writers of one file serialise on an exclusive flock(2) of "<file>.lock" beside it. The file itself cannot
// carry the lock: it is replaced by rename, and a lock on the old inode does not cover the new one. The lock
// file stays when released (removing it would let a waiter lock a file that no longer has a name while a
// newcomer locks a new one); it is empty and is reused by the next writer.
#pragma once
#include <string>

namespace dcar::io {

class WriteLock {
public:
    // Blocks until no other process holds the lock of `target` (after following a symbolic link, as
    // open_sink does). "-" and existing non-regular files (devices, FIFOs) are not locked. Throws dcar::Error(io).
    explicit WriteLock(const std::string& target);
    ~WriteLock();  // releases the lock
    WriteLock(const WriteLock&) = delete;
    WriteLock& operator=(const WriteLock&) = delete;

private:
    int fd_ = -1;
};

}  // namespace dcar::io
