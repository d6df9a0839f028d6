// Shared option groups.
#include "cli/options.hpp"

#include "core/error.hpp"

#include <algorithm>

namespace dcar::cli {

void add_common_options(po::options_description& options) {
    options.add_options()
        ("help,h", "print this help and exit")
        ("version,V", "print the version and exit")
        ("quiet,q", "no progress or informational messages (errors and warnings still go to stderr)")
        ("progress", po::value<std::string>()->value_name("WHEN")->default_value("auto"),
         "auto (a live line on a terminal), always (also plain lines every 60 s where stderr is a file), never, or SECONDS (always, that often)")
        ("threads,t", po::value<int>()->default_value(0), "worker threads (0 = all cores)");
}

void add_output_options(po::options_description& options) {
    options.add_options()
        ("output,o", po::value<std::string>()->default_value("-"), "output file (- = stdout); written atomically")
        ("force", "write binary output even to a terminal");
}

void add_architecture_options(po::options_description& options) {
    options.add_options()
        ("arch", po::value<std::string>()->value_name("NAME"),
         "what the weights do not show (activation, heads): ViT-B-32, ViT-B-32-quickgelu, ..., openai, open_clip, or "
         "key=value pairs (default: from the file or a config beside it)")
        ("vision-heads", po::value<int64_t>()->value_name("N")->default_value(0), "attention heads of the image tower (0 = from --arch or the checkpoint)")
        ("text-heads", po::value<int64_t>()->value_name("N")->default_value(0), "attention heads of the text tower (0 = from --arch or the checkpoint)");
}

model::LoadOptions architecture_options(const po::variables_map& args) {
    model::LoadOptions o;
    if (args.count("arch")) {
        o.arch = args["arch"].as<std::string>();
        model::parse_architecture(o.arch);  // a misspelt name is a usage error before any file is read
    }
    o.vision_heads = args["vision-heads"].as<int64_t>();
    o.text_heads = args["text-heads"].as<int64_t>();
    if (o.vision_heads < 0 || o.text_heads < 0) throw Error(ErrorCode::usage, "--vision-heads and --text-heads must not be negative");
    return o;
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
