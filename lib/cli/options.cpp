// Shared option groups.
#include "cli/options.hpp"

#include <algorithm>

namespace dcar::cli {

void add_common_options(po::options_description& options) {
    options.add_options()
        ("help,h", "print this help and exit")
        ("version,V", "print the version and exit")
        ("quiet,q", "no progress or informational messages (errors and warnings still go to stderr)")
        ("threads,t", po::value<int>()->default_value(0), "worker threads (0 = all cores)");
}

void add_output_options(po::options_description& options) {
    options.add_options()
        ("output,o", po::value<std::string>()->default_value("-"), "output file (- = stdout); written atomically")
        ("force", "write binary output even to a terminal");
}

std::vector<std::string> long_option_names(const po::options_description& options) {
    std::vector<std::string> names;
    for (const auto& option : options.options()) {
        const std::string name = option->long_name();
        if (!name.empty() && name != "dump-options" && name != "input") names.push_back("--" + name);
    }
    std::sort(names.begin(), names.end());
    return names;
}

}  // namespace dcar::cli
