// dcar-weigh: bootstrap the DTR token weight table from a model over image-caption pairs, or explain which
// tokens of a caption carry the match.
#include <iostream>

#include "cli/options.hpp"
#include "cli/run.hpp"
#include "io/paths.hpp"
#include "core/error.hpp"
#include "model/runtime.hpp"
#include "train/weigh.hpp"

using namespace dcar;

namespace {
const cli::ModelOptionWords model_words{"fp32", "compute type: fp32 | bf16 | fp16 (fp16 needs CUDA)", "pairs per model call"};
}  // namespace

int main(int argc, char** argv) {
    cli::ToolSpec spec{"dcar-weigh", "dcar-weigh -m MODEL -o TABLE [options] [INPUT]\n       dcar-weigh --explain CAPTION (--table TABLE | -m MODEL --image IMAGE)",
                       "Bootstrap the token weight table of Dynamic Token Re-Weighting over image-caption pairs\n"
                       "(INPUT: a manifest or dcar-mine-negatives records, default -), or explain a caption's token weights (TSV)."};
    using cli::po::value;
    spec.options.add_options()
        ("model,m", value<std::string>()->value_name("FILE"), "CLIP weights")
        ("prompts", value<std::string>()->value_name("CKPT"), "encode with a dcar-tune checkpoint's prompts (default: zero-shot)")
        ("output,o", value<std::string>()->value_name("TABLE"), "write the weight table here (safetensors; atomically)")
        ("explain", value<std::string>()->value_name("CAPTION"), "print CAPTION's tokens with their weights (TSV on stdout)")
        ("table", value<std::string>()->value_name("FILE"), "--explain with this table (dcar-weigh output or a dcar-tune checkpoint)")
        ("image", value<std::string>()->value_name("FILE"), "--explain against this image: per-pair weights under --model");
    cli::add_token_weight_options(spec.options);
    cli::add_model_options(spec.options, model_words);
    spec.positional.add("input", 1);
    return cli::run_tool(std::move(spec), argc, argv, [](cli::Context& c) {
        model::set_threads(c.threads);
        const auto& a = c.args;
        train::WeighConfig config;
        if (a.count("model")) config.model = a["model"].as<std::string>();
        if (a.count("prompts")) config.prompts = a["prompts"].as<std::string>();
        const cli::ModelOptions shared = cli::model_options(a, model_words);
        static_cast<model::RuntimeOptions&>(config) = shared.runtime;
        config.read.image_root = shared.image_root;
        config.read.layout = shared.layout;
        const cli::TokenWeightOptions weights = cli::token_weight_options(a);
        config.dtr.w_min = weights.w_min;
        config.dtr.w_max = weights.w_max;
        config.dtr.momentum = weights.ema;
        config.blank = train::parse_blank(weights.blank);

        if (a.count("explain")) {
            const std::string image = a.count("image") ? a["image"].as<std::string>() : "";
            const std::string table = a.count("table") ? a["table"].as<std::string>() : "";
            if (image.empty() == table.empty()) throw Error(ErrorCode::usage, "--explain needs either --table or --image (with -m)");
            if (!image.empty() && config.model.empty()) throw Error(ErrorCode::usage, "--explain --image needs -m MODEL");
            train::explain(config, table, image, a["explain"].as<std::string>(), std::cout);
            return cli::exit_ok;
        }
        if (config.model.empty()) throw Error(ErrorCode::usage, "-m MODEL is required");
        if (!a.count("output")) throw Error(ErrorCode::usage, "-o TABLE is required");
        config.output = c.output_path("output");
        config.input = c.inputs().front();
        io::refuse_output_over_input({config.input, config.model, config.vocab}, {config.output});
        const auto summary = train::run_weigh(config, c.log);
        c.log.info("weighed " + std::to_string(summary.pairs) + " pairs: " + std::to_string(summary.ids) + " distinct tokens in " + config.output +
                   (summary.skipped ? ", skipped " + std::to_string(summary.skipped) : ""));
        return summary.skipped ? cli::exit_partial : cli::exit_ok;
    });
}
