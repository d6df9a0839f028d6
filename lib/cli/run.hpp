// run_tool: the shell every dcar tool's main() is. It parses the options, answers --help, --version and
// --dump-options, sets threads, wires the library's Log to stderr (progress only on a terminal, never with
// --quiet), calls the tool's body, and maps the outcome to an exit status:
//   0 success · 1 error (one line on stderr) · 2 usage error · 3 finished, but some inputs were skipped.
// A closed pipe on stdout (`dcar-query … | head`) ends the tool quietly with status 0.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "cli/options.hpp"
#include "core/log.hpp"
#include "stream/header.hpp"

namespace dcar::io {
class Sink;
}

namespace dcar::cli {

enum ExitStatus { exit_ok = 0, exit_error = 1, exit_usage = 2, exit_partial = 3 };

struct ToolSpec {
    ToolSpec(std::string name, std::string usage, std::string summary)
        : name(std::move(name)), usage(std::move(usage)), summary(std::move(summary)), options("options") {}
    std::string name;     // "dcar-query" or "dcar-index build"
    std::string usage;    // "dcar-query [options] -i INDEX QUERIES..."
    std::string summary;  // one line
    po::options_description options;            // visible options (common ones are added by run_tool)
    po::options_description hidden;             // accepted but not listed (positional-only arguments)
    po::positional_options_description positional;
    std::string positional_name = "input";      // option that collects positional arguments, if any
};

struct Context {
    po::variables_map args;
    Log log;
    stream::Provenance provenance;  // this invocation, for headers the tool writes
    bool quiet = false;
    int threads = 1;
    // Throws dcar::Error(usage) unless --force when binary output would reach a terminal.
    void refuse_terminal(const io::Sink& sink) const;
    // The positional inputs ("-" when none were given and `default_stdin`).
    std::vector<std::string> inputs(bool default_stdin = true) const;
    // The value of the output option `name` ("output", "plot"); an empty file name is a dcar::Error(usage)
    // naming the option. Pair with io::refuse_output_over_input before any work.
    std::string output_path(const std::string& name) const;
};

using ToolBody = std::function<int(Context&)>;

int run_tool(ToolSpec spec, int argc, char** argv, const ToolBody& body);

// For tools with subcommands (dcar-index build|add|merge|info): dispatches argv[1] to the matching entry.
struct Subcommand {
    std::string name;
    std::string summary;
    std::function<int(int, char**)> main;
};
int run_subcommand(const std::string& tool, int argc, char** argv, const std::vector<Subcommand>& subcommands);

}  // namespace dcar::cli
