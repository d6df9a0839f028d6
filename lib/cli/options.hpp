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

// The model tools' (embed, tune, weigh) runtime options, declared and checked here once: where and in what type
// the model runs (--device, --dtype), how many items a call takes (--batch), how images are decoded and found
// (--decode-threads, --image-root, --layout), the vocabulary (--vocab), and what the weights do not show
// (--arch, --vision-heads, --text-heads). The tools differ only in the defaults and words below.
struct ModelOptionWords {
    const char* dtype_default;  // "fp32", or "auto" (bf16 on CUDA, fp32 on CPU) where the tool allows it
    const char* dtype_help;
    const char* batch_help;     // what one --batch is: "items per model call", "images per step", ...
};
void add_model_options(po::options_description& options, const ModelOptionWords& words);
struct ModelOptions {
    model::RuntimeOptions runtime;  // what each tool's config takes as it is
    std::string image_root;         // prefix for relative image paths
    std::string layout = "auto";
};
// Throws dcar::Error(usage) naming the option that is out of range.
ModelOptions model_options(const po::variables_map& args, const ModelOptionWords& words);

// --w-min, --w-max, --ema, --blank: the token-weight options dcar-weigh and dcar-tune share.
void add_token_weight_options(po::options_description& options);
struct TokenWeightOptions {
    double w_min = 0.5, w_max = 2.0, ema = 0.99;
    std::string blank = "mean";  // mean | white | black | noise
};
TokenWeightOptions token_weight_options(const po::variables_map& args);

// Every long option name in the table, one per line, sorted.
std::vector<std::string> long_option_names(const po::options_description& options);

}  // namespace dcar::cli
