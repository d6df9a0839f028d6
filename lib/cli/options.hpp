// Options shared by every tool, declared once, and the option-table conventions: each tool has one Boost
// table that feeds --help; a hidden --dump-options lists every long option so tests can check that the man
// page and the completions name them all.
#pragma once
#include <boost/program_options.hpp>
#include <string>
#include <vector>

#include "model/architecture.hpp"

namespace dcar::cli {

namespace po = boost::program_options;

// --help, --version, --quiet, --threads.
void add_common_options(po::options_description& options);
// -o/--output (default "-") and --force (binary output to a terminal).
void add_output_options(po::options_description& options);

// --arch, --vision-heads, --text-heads: how the model tools (embed, tune, weigh) read a checkpoint, and the
// LoadOptions they give.
void add_architecture_options(po::options_description& options);
model::LoadOptions architecture_options(const po::variables_map& args);

// Every long option name in the table, one per line, sorted.
std::vector<std::string> long_option_names(const po::options_description& options);

}  // namespace dcar::cli
