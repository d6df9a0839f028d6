// Atomic replacement of a file: write a temporary in the same directory, fsync it, rename it over the
// target, fsync the directory. The temporary is removed if the object is destroyed before commit(), and on
// SIGINT, SIGTERM or SIGHUP (remove_temporaries_on_signals); only SIGKILL can leave one behind.
#pragma once
#include <string>

namespace dcar::io {

// Installs handlers that remove every live temporary, then die by the same signal. Called by run_tool.
void remove_temporaries_on_signals();

class AtomicFile {
public:
    explicit AtomicFile(std::string target);  // creates "<dir>/.<name>.tmp.<pid>.<n>"; throws dcar::Error(io)
    ~AtomicFile();                             // removes the temporary unless committed
    AtomicFile(const AtomicFile&) = delete;
    AtomicFile& operator=(const AtomicFile&) = delete;

    int fd() const { return fd_; }
    const std::string& target() const { return target_; }
    const std::string& temp_path() const { return temp_; }
    void commit();  // fsync + rename + directory fsync; throws dcar::Error(io)

private:
    std::string target_;
    std::string temp_;
    int fd_ = -1;
    int slot_ = -1;  // entry in the table the signal handler cleans
    bool committed_ = false;
};

}  // namespace dcar::io
