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

void add_model_options(po::options_description& options, const ModelOptionWords& words) {
    options.add_options()
        ("device", po::value<std::string>()->value_name("DEV")->default_value("auto"), "cpu | cuda[:N] | auto (CUDA when LibTorch has it)")
        ("dtype", po::value<std::string>()->value_name("TYPE")->default_value(words.dtype_default), words.dtype_help)
        ("batch,b", po::value<int>()->value_name("N")->default_value(32), words.batch_help)
        ("decode-threads", po::value<int>()->value_name("N")->default_value(1), "image decoding threads (they run ahead of the model)")
        ("vocab", po::value<std::string>()->value_name("FILE"), "CLIP BPE vocabulary file (default: $DCAR_VOCAB, else the one installed with dcar)")
        ("image-root", po::value<std::string>()->value_name("DIR")->default_value(""), "prefix for relative image paths")
        ("layout", po::value<std::string>()->value_name("NAME")->default_value("auto"), "FDRD path rule: auto|caltech101|cars|dtd|ucf101|pets|aircraft|flowers|as-is")
        ("arch", po::value<std::string>()->value_name("NAME"),
         "what the weights do not show (activation, heads): ViT-B-32, ViT-B-32-quickgelu, ..., openai, open_clip, or "
         "key=value pairs (default: from the file or a config beside it)")
        ("vision-heads", po::value<int64_t>()->value_name("N")->default_value(0), "attention heads of the image tower (0 = from --arch or the checkpoint)")
        ("text-heads", po::value<int64_t>()->value_name("N")->default_value(0), "attention heads of the text tower (0 = from --arch or the checkpoint)");
}

ModelOptions model_options(const po::variables_map& args, const ModelOptionWords& words) {
    constexpr int max_batch = 1 << 16, max_decode_threads = 256;
    ModelOptions options;
    model::RuntimeOptions& o = options.runtime;
    o.device = args["device"].as<std::string>();
    const bool cuda = o.device == "cuda" ||
                      (o.device.rfind("cuda:", 0) == 0 && o.device.size() > 5 && o.device.size() < 9 &&
                       std::all_of(o.device.begin() + 5, o.device.end(), [](char c) { return c >= '0' && c <= '9'; }));
    if (o.device != "auto" && o.device != "cpu" && !cuda) throw Error(ErrorCode::usage, "--device is cpu, cuda, cuda:N or auto, not '" + o.device + "'");
    o.dtype = args["dtype"].as<std::string>();
    const bool tool_has_auto = std::string(words.dtype_default) == "auto";
    if (o.dtype != "fp32" && o.dtype != "bf16" && o.dtype != "fp16" && !(o.dtype == "auto" && tool_has_auto))
        throw Error(ErrorCode::usage, "--dtype is fp32, bf16 or fp16" + std::string(tool_has_auto ? " (or auto)" : "") + ", not '" + o.dtype + "'");
    o.batch = args["batch"].as<int>();
    if (o.batch < 1 || o.batch > max_batch) throw Error(ErrorCode::usage, "--batch must be between 1 and " + std::to_string(max_batch));
    o.decode_threads = args["decode-threads"].as<int>();
    if (o.decode_threads < 1 || o.decode_threads > max_decode_threads)
        throw Error(ErrorCode::usage, "--decode-threads must be between 1 and " + std::to_string(max_decode_threads));
    if (args.count("vocab")) o.vocab = args["vocab"].as<std::string>();
    options.image_root = args["image-root"].as<std::string>();
    options.layout = args["layout"].as<std::string>();
    if (args.count("arch")) {
        o.model_options.arch = args["arch"].as<std::string>();
        model::parse_architecture(o.model_options.arch);  // a misspelt name is a usage error before any file is read
    }
    o.model_options.vision_heads = args["vision-heads"].as<int64_t>();
    o.model_options.text_heads = args["text-heads"].as<int64_t>();
    if (o.model_options.vision_heads < 0 || o.model_options.text_heads < 0)
        throw Error(ErrorCode::usage, "--vision-heads and --text-heads must not be negative");
    return options;
}

void add_token_weight_options(po::options_description& options) {
    options.add_options()
        ("w-min", po::value<double>()->value_name("W")->default_value(0.5, "0.5"), "smallest token weight")
        ("w-max", po::value<double>()->value_name("W")->default_value(2.0, "2"), "largest token weight")
        ("ema", po::value<double>()->value_name("M")->default_value(0.99, "0.99"), "momentum of the token weight table")
        ("blank", po::value<std::string>()->value_name("KIND")->default_value("mean"), "blank image: mean | white | black | noise");
}

TokenWeightOptions token_weight_options(const po::variables_map& args) {
    TokenWeightOptions o;
    o.w_min = args["w-min"].as<double>();
    o.w_max = args["w-max"].as<double>();
    o.ema = args["ema"].as<double>();
    o.blank = args["blank"].as<std::string>();
    if (!(o.w_min > 0 && o.w_min <= 1 && o.w_max >= 1 && o.w_max < 1e6))
        throw Error(ErrorCode::usage, "token weights need 0 < --w-min <= 1 <= --w-max");
    if (!(o.ema >= 0 && o.ema <= 1)) throw Error(ErrorCode::usage, "--ema must be between 0 and 1");
    if (o.blank != "mean" && o.blank != "white" && o.blank != "black" && o.blank != "noise")
        throw Error(ErrorCode::usage, "--blank is mean, white, black or noise, not '" + o.blank + "'");
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
