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
        ("image", value<std::string>()->value_name("FILE"), "--explain against this image: per-pair weights under --model")
        ("image-root", value<std::string>()->value_name("DIR")->default_value(""), "prefix for relative image paths")
        ("layout", value<std::string>()->value_name("NAME")->default_value("auto"), "FDRD path rule: auto|caltech101|cars|dtd|ucf101|pets|aircraft|flowers|as-is")
        ("w-min", value<double>()->value_name("W")->default_value(0.5, "0.5"), "smallest token weight")
        ("w-max", value<double>()->value_name("W")->default_value(2.0, "2"), "largest token weight")
        ("ema", value<double>()->value_name("M")->default_value(0.99, "0.99"), "momentum of the table")
        ("blank", value<std::string>()->value_name("KIND")->default_value("mean"), "blank image: mean | white | black | noise")
        ("batch,b", value<int>()->value_name("N")->default_value(32), "pairs per model call")
        ("decode-threads", value<int>()->value_name("N")->default_value(1), "image decoding threads")
        ("device", value<std::string>()->value_name("DEV")->default_value("auto"), "cpu | cuda[:N] | auto")
        ("dtype", value<std::string>()->value_name("TYPE")->default_value("fp32"), "fp32 | bf16 | fp16 (fp16 needs CUDA)")
        ("vocab", value<std::string>()->value_name("FILE"), "CLIP BPE vocabulary file (default: $DCAR_VOCAB, else the installed one)");
    cli::add_architecture_options(spec.options);
    spec.positional.add("input", 1);
    return cli::run_tool(std::move(spec), argc, argv, [](cli::Context& c) {
        model::set_threads(c.threads);
        const auto& a = c.args;
        train::WeighConfig config;
        if (a.count("model")) config.model = a["model"].as<std::string>();
        if (a.count("prompts")) config.prompts = a["prompts"].as<std::string>();
        config.read.image_root = a["image-root"].as<std::string>();
        config.read.layout = a["layout"].as<std::string>();
        config.dtr.w_min = a["w-min"].as<double>();
        config.dtr.w_max = a["w-max"].as<double>();
        config.dtr.momentum = a["ema"].as<double>();
        if (!(config.dtr.w_min > 0 && config.dtr.w_min <= 1 && config.dtr.w_max >= 1))
            throw Error(ErrorCode::usage, "token weights need 0 < --w-min <= 1 <= --w-max");
        config.blank = train::parse_blank(a["blank"].as<std::string>());
        config.batch = a["batch"].as<int>();
        config.decode_threads = a["decode-threads"].as<int>();
        if (config.batch < 1 || config.decode_threads < 1) throw Error(ErrorCode::usage, "--batch and --decode-threads must be at least 1");
        config.device = a["device"].as<std::string>();
        config.dtype = a["dtype"].as<std::string>();
        config.model_options = cli::architecture_options(a);
        if (a.count("vocab")) config.vocab = a["vocab"].as<std::string>();

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
