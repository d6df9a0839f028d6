// Checks on the file names a tool is given, made before it does any work.
#pragma once
#include <string>
#include <vector>

namespace dcar::io {

// True when both names lead to one existing file: the same device and inode after following symbolic links,
// so "a.dcs", "./a.dcs", a symbolic link to it and a hard link of it are all the same file.
bool same_file(const std::string& a, const std::string& b);

// Throws dcar::Error(usage) "PATH: is both an input and the output" when an output is one of the inputs (by
// same_file). Only outputs that are existing regular files can clash: "-", empty names, new files, devices
// and FIFOs (written in place, never replaced) are skipped. Also throws "PATH: is named by two outputs" when
// two outputs are one file (same_file, or, for files not there yet, the same name in the same directory; a
// device such as /dev/null may take several), and "two outputs go to standard output" when two are "-".
// Empty names are unused outputs.
void refuse_output_over_input(const std::vector<std::string>& inputs, const std::vector<std::string>& outputs);

}  // namespace dcar::io
