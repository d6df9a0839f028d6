// dcar-embed: images or captions → an embedding stream, through a CLIP model in LibTorch.
#include "cli/options.hpp"
#include "cli/run.hpp"
#include "io/paths.hpp"
#include "core/error.hpp"
#include "core/shard.hpp"
#include "embed/pipeline.hpp"
#include "io/sink.hpp"
#include "model/runtime.hpp"

using namespace dcar;

namespace {
const cli::ModelOptionWords model_words{"fp32", "compute type: fp32 | bf16 | fp16 (fp16 needs CUDA)", "items per model call"};
}  // namespace

int main(int argc, char** argv) {
    cli::ToolSpec spec{"dcar-embed", "dcar-embed -m MODEL [options] [INPUT]",
                       "Embed images or captions with a CLIP model into an embedding stream (or .npy).\n"
                       "INPUT (default -): image paths one per line; or a folder (--folder), a manifest (--manifest), or\n"
                       "captions one per line, optionally 'id<TAB>caption' (--text); or webdataset tar shards\n"
                       "(--webdataset SHARD.tar...)."};
    spec.options.add_options()
        ("model,m", cli::po::value<std::string>()->required(), "CLIP weights: OpenAI .pt, torch.save state dict, or safetensors (OpenAI/open_clip or HF names)")
        ("folder", "INPUT is a folder: every image below it (by extension), sorted; label = its subfolder")
        ("manifest", "INPUT is a manifest (FDRD JSON, JSON lines or TSV): embed its images (or captions with --text)")
        ("webdataset", "the INPUTs are webdataset tar shards (.tar, .tar.gz, ...): embed each sample's image (or caption with --text); ids are the samples' keys")
        ("wds-image-key", cli::po::value<std::string>()->value_name("EXTS")->default_value("jpg,jpeg,png,webp"), "webdataset: the image member's extensions, in order of preference")
        ("wds-caption-key", cli::po::value<std::string>()->value_name("EXT")->default_value("txt"), "webdataset: the caption member's extension")
        ("wds-label-key", cli::po::value<std::string>()->value_name("EXT")->default_value("cls"), "webdataset: the label member's extension (\"\" = none)")
        ("text", "embed captions instead of images")
        ("format,F", cli::po::value<std::string>()->default_value("dcs"), "output: dcs (stream) | npy")
        ("ids-out", cli::po::value<std::string>(), ".npy output: ids sidecar (default: OUTPUT without .npy + .ids)")
        ("store", cli::po::value<std::string>()->default_value("f32"), "stored element type: f32|f16")
        ("no-normalize", "keep raw features (default: L2-normalised rows)")
        ("prompts", cli::po::value<std::string>(), "encode with the learned prompts of a dcar-tune checkpoint (its directory or checkpoint.json)")
        ("token-weights", cli::po::value<std::string>()->default_value("auto"), "captions with --prompts: table (the checkpoint's DTR weights) | none | auto (table when it has one)")
        ("no-truncate", "reject captions longer than the context instead of cutting them")
        ("max-pixels", cli::po::value<uint64_t>()->default_value(2ull * 89478485ull), "refuse images with more pixels (decompression bombs)")
        ("no-shrink-on-load", "decode JPEGs at full size (bit-exact with the PIL reference; slower)")
        ("rejects", cli::po::value<std::string>(), "write skipped items here as TSV: id, source, reason")
        ("stats", cli::po::value<std::string>()->value_name("FILE"), "at the end, the run's statistics as JSON: items, skipped by reason, seconds, items/s, device, model")
        ("on-error", cli::po::value<std::string>()->default_value("skip"), "a bad item: skip (report, exit 3 at the end) | fail (stop)")
        ("shard", cli::po::value<std::string>(), "i/N: embed only items i, i+N, i+2N, ... (0-based); auto: from Slurm's array task or srun step")
        ("resume", "OUTPUT is a directory of parts, each marked done when complete; rerun to continue")
        ("part-size", cli::po::value<uint64_t>()->default_value(10000), "items per part with --resume");
    cli::add_output_options(spec.options);
    cli::add_model_options(spec.options, model_words);
    spec.positional.add("input", -1);
    return cli::run_tool(std::move(spec), argc, argv, [](cli::Context& c) {
        model::set_threads(c.threads);
        embed::EmbedConfig config;
        config.model = c.args["model"].as<std::string>();
        const bool text = c.args.count("text") > 0;
        if (c.args.count("folder") + c.args.count("manifest") + c.args.count("webdataset") > 1)
            throw Error(ErrorCode::usage, "--folder, --manifest and --webdataset exclude each other");
        const auto inputs = c.inputs();
        if (c.args.count("webdataset")) {
            config.kind = text ? embed::InputKind::webdataset_captions : embed::InputKind::webdataset_images;
            if (c.args.count("input") == 0) throw Error(ErrorCode::usage, "--webdataset needs the shards' paths");
            config.shards = inputs;
            config.keys.image = webdataset::parse_extensions(c.args["wds-image-key"].as<std::string>(), "--wds-image-key");
            auto one_extension = [&](const char* name) -> std::string {
                const std::string given = c.args[name].as<std::string>();
                if (given.empty()) return "";
                const auto list = webdataset::parse_extensions(given, std::string("--") + name);
                if (list.size() != 1) throw Error(ErrorCode::usage, std::string("--") + name + " takes one extension");
                return list.front();
            };
            config.keys.caption = one_extension("wds-caption-key");
            if (config.keys.caption.empty()) throw Error(ErrorCode::usage, "--wds-caption-key: no extension given");
            config.keys.label = one_extension("wds-label-key");
        } else if (inputs.size() > 1) {
            throw Error(ErrorCode::usage, "one INPUT (several only with --webdataset)");
        } else if (c.args.count("folder")) {
            if (text) throw Error(ErrorCode::usage, "--folder holds images; --text does not apply");
            config.kind = embed::InputKind::folder;
        } else if (c.args.count("manifest")) {
            config.kind = text ? embed::InputKind::manifest_captions : embed::InputKind::manifest_images;
        } else {
            config.kind = text ? embed::InputKind::caption_lines : embed::InputKind::image_list;
        }
        config.input = inputs.front();
        config.output = c.output_path("output");
        config.write.format = stream::parse_format(c.args["format"].as<std::string>());
        if (c.args.count("ids-out")) config.write.ids_path = c.output_path("ids-out");
        config.store = stream::parse_element_type(c.args["store"].as<std::string>());
        config.normalize = !c.args.count("no-normalize");
        const cli::ModelOptions shared = cli::model_options(c.args, model_words);
        static_cast<model::RuntimeOptions&>(config) = shared.runtime;
        config.image_root = shared.image_root;
        config.layout = shared.layout;
        config.truncate = !c.args.count("no-truncate");
        if (c.args.count("prompts")) config.prompts = c.args["prompts"].as<std::string>();
        config.token_weights = c.args["token-weights"].as<std::string>();
        config.max_pixels = c.args["max-pixels"].as<uint64_t>();
        config.shrink_on_load = !c.args.count("no-shrink-on-load");
        if (c.args.count("rejects")) config.rejects = c.output_path("rejects");
        if (c.args.count("stats")) config.stats = c.output_path("stats");
        const std::string on_error = c.args["on-error"].as<std::string>();
        if (on_error != "skip" && on_error != "fail") throw Error(ErrorCode::usage, "--on-error is skip or fail");
        config.on_error_fail = on_error == "fail";
        if (c.args.count("shard")) {
            const std::string text = c.args["shard"].as<std::string>();
            const Shard shard = parse_shard(text);
            config.shard_index = shard.index;
            config.shard_count = shard.count;
            if (text == "auto") c.log.info(shard.source);
        }
        config.resume = c.args.count("resume") > 0;
        config.part_size = c.args["part-size"].as<uint64_t>();
        if (config.part_size == 0) throw Error(ErrorCode::usage, "--part-size must be at least 1");
        if (config.resume && config.output == "-") throw Error(ErrorCode::usage, "--resume needs -o DIRECTORY");
        if (!config.resume && config.output == "-" && !c.args.count("force") && io::open_sink("-")->is_terminal())
            throw Error(ErrorCode::usage, "refusing to write binary output to a terminal (redirect it, use -o FILE, or --force)");
        // The input (a list, a manifest or captions; a folder cannot clash) and the model must survive the run.
        std::vector<std::string> read_paths = {config.input, config.model, config.prompts, config.vocab};
        read_paths.insert(read_paths.end(), config.shards.begin(), config.shards.end());
        io::refuse_output_over_input(read_paths,
                                     {config.resume ? "" : config.output, config.write.ids_path, config.rejects, config.stats});
        config.provenance = c.provenance;
        const auto summary = embed::run(config, c.log);
        c.log.info("embedded " + std::to_string(summary.embedded) + (text ? " captions" : " images") + " in " +
                   std::to_string(int(summary.seconds + 0.5)) + " s" +
                   (summary.resumed ? ", " + std::to_string(summary.resumed) + " already done" : "") +
                   (summary.rejected ? ", skipped " + std::to_string(summary.rejected) : ""));
        return summary.rejected || summary.skipped_records ? cli::exit_partial : cli::exit_ok;
    });
}
