// dcar-tune: prompt learning on a frozen CLIP (coop, vpt, maple, dcar) or whole-model training (full), with
// per-epoch checkpoints. Options that depend on the method have no fixed default: the method's defaults
// (train::method_defaults) apply unless the option is given.

#include <deque>
#include <string>

#include "cli/options.hpp"
#include "cli/run.hpp"
#include "io/paths.hpp"
#include "core/error.hpp"
#include "model/runtime.hpp"
#include "train/tune.hpp"

using namespace dcar;

namespace {
const cli::ModelOptionWords model_words{"auto", "backbone compute type: auto (bf16 on CUDA, fp32 on CPU) | fp32 | bf16 | fp16", "images per step"};
}  // namespace

int main(int argc, char** argv) {
    cli::ToolSpec spec{"dcar-tune", "dcar-tune -m MODEL -o DIR [options] [INPUT]",
                       "Learn prompts for a frozen CLIP with DCAR or a baseline, or train a whole CLIP (--method full).\n"
                       "INPUT (default -): records from dcar-mine-negatives (candidates for the category loss), or any manifest.\n"
                       "Method-dependent defaults are shown as [coop/vpt/maple/dcar/full]."};
    using cli::po::value;
    // Help with each method's default, from train::method_defaults itself. (boost copies the text.)
    std::deque<std::string> helps;  // push_back keeps earlier elements in place
    auto d = [&helps](const char* text, const char* flag) {
        helps.push_back(std::string(text) + " " + train::method_defaults_text(flag));
        return helps.back().c_str();
    };
    spec.options.add_options()
        ("method", value<std::string>()->value_name("NAME")->default_value("dcar"), "coop | vpt | maple | dcar | full")
        ("model,m", value<std::string>()->value_name("FILE"), "CLIP weights (frozen; for full: the starting point)")
        ("init-size", value<std::string>()->value_name("SPEC"), "full from random weights: image=64,patch=8,width=192,layers=4,text-width=192,text-layers=4,embed=128,context=77")
        ("output,o", value<std::string>()->value_name("DIR"), "checkpoint directory (checkpoint.json + state files)")
        ("resume", "continue the checkpoint in DIR (the options must be the same)")
        ("prompt-length", value<int64_t>()->value_name("K"), d("prompt tokens per layer", "--prompt-length"))
        ("prompt-depth", value<int64_t>()->value_name("J"), d("prompted layers, cut to the towers' layers unless given", "--prompt-depth"))
        ("visual-prompts", value<std::string>()->value_name("MODE"), d("none | coupled | independent", "--visual-prompts"))
        ("no-text-prompts", "learn image prompts only (needs --visual-prompts independent)")
        ("visual-init", value<std::string>()->value_name("KIND")->default_value("normal"), "independent visual prompts start as normal (N(0, 0.02^2), MaPLe's IVLP) | xavier (VPT)")
        ("prompt-init", value<std::string>()->value_name("TEXT"), "layer-0 text prompts start from these words, or 'random' [a photo of a]")
        ("con-mode", value<std::string>()->value_name("MODE")->default_value("sym"), "contrastive loss: sym | i2t")
        ("lambda", value<double>()->value_name("L"), d("weight of the category loss", "--lambda"))
        ("alpha", value<double>()->value_name("A")->default_value(0.5, "0.5"), "candidates of the image's own class weigh 1+A")
        ("cate-form", value<std::string>()->value_name("FORM")->default_value("denominator"), "category loss: denominator | per-term | logit")
        ("caa", value<std::string>()->value_name("KIND")->default_value("adapter"), "CAA head: adapter | identity")
        ("caa-hidden", value<int64_t>()->value_name("N")->default_value(128), "CAA bottleneck width")
        ("caa-ratio", value<double>()->value_name("R")->default_value(0.2, "0.2"), "CAA residual ratio")
        ("cate-in-batch", "the category loss also takes the batch's other positive captions as candidates")
        ("candidates", value<int>()->value_name("N")->default_value(5), "at most N candidate negatives per caption")
        ("dtr", value<std::string>()->value_name("MODE"), d("token weights in training: pair | table | none", "--dtr"))
        ("dtr-infer", value<std::string>()->value_name("MODE"), d("token weights dcar-embed applies to captions: table | none", "--dtr-infer"))
        ("weight-table", value<std::string>()->value_name("FILE"), "start the token weight table from dcar-weigh's output")
        ("optimizer", value<std::string>()->value_name("NAME"), d("sgd | adamw", "--optimizer"))
        ("lr", value<double>()->value_name("LR"), d("peak learning rate", "--lr"))
        ("momentum", value<double>()->value_name("M")->default_value(0.9, "0.9"), "SGD momentum")
        ("weight-decay", value<double>()->value_name("WD"), d("weight decay", "--weight-decay"))
        ("warmup-epochs", value<int>()->value_name("N"), d("warm-up epochs", "--warmup-epochs"))
        ("warmup-steps", value<int64_t>()->value_name("N"), "warm-up steps, instead of --warmup-epochs")
        ("warmup", value<std::string>()->value_name("KIND"), d("constant (at --warmup-lr) | linear (up to --lr)", "--warmup"))
        ("warmup-lr", value<double>()->value_name("LR")->default_value(1e-5, "1e-5"), "warm-up learning rate")
        ("epochs", value<int>()->value_name("N"), d("epochs", "--epochs"))
        ("shots", value<int64_t>()->value_name("N"), d("images per class, 0 = all", "--shots"))
        ("hard-batches", "every batch from one meta_category of the manifest (hard negatives within a batch)")
        ("no-augment", "no random resized crops (the test transform only)")
        ("augment", "random resized crops (the default except for full)")
        ("crop-min", value<double>()->value_name("S")->default_value(0.5, "0.5"), "smallest crop, as a fraction of the image area")
        ("val-fraction", value<double>()->value_name("F")->default_value(0.0, "0"), "hold out this fraction of images for per-epoch validation R@1")
        ("val", value<std::string>()->value_name("FILE"), "validate on this file's images and captions instead (e.g. dcar-mine-negatives --val-output)")
        ("seed", value<uint64_t>()->value_name("N")->default_value(1), "random seed (shots, order, crops, initial prompts)")
        ("max-steps", value<int64_t>()->value_name("N")->default_value(0), "stop after N steps in all (benchmarks; an epoch cut short is not checkpointed)")
        ("step-log", value<std::string>()->value_name("FILE"), "write one JSON line per step (loss, lr, seconds)");
    cli::add_token_weight_options(spec.options);
    cli::add_model_options(spec.options, model_words);
    spec.positional.add("input", 1);

    return cli::run_tool(std::move(spec), argc, argv, [](cli::Context& c) {
        model::set_threads(c.threads);
        const auto& a = c.args;
        train::TuneConfig config = train::method_defaults(train::parse_method(a["method"].as<std::string>()));
        const auto inputs = c.inputs();
        if (inputs.size() != 1) throw Error(ErrorCode::usage, "expected one INPUT");
        config.input = inputs[0];
        if (!a.count("output")) throw Error(ErrorCode::usage, "-o DIR is required (checkpoints go there)");
        config.output = c.output_path("output");
        if (a.count("model")) config.model = a["model"].as<std::string>();
        if (a.count("init-size")) {
            if (config.method != train::Method::full) throw Error(ErrorCode::usage, "--init-size applies to --method full only");
            if (a.count("model")) throw Error(ErrorCode::usage, "--init-size and --model exclude each other");
            config.init_size = a["init-size"].as<std::string>();
        }
        config.resume = a.count("resume") > 0;
        const cli::ModelOptions shared = cli::model_options(a, model_words);
        static_cast<model::RuntimeOptions&>(config) = shared.runtime;
        config.read.image_root = shared.image_root;
        config.read.layout = shared.layout;

        const bool prompt_method = config.method != train::Method::full;
        for (const char* name : {"prompt-length", "prompt-depth", "visual-prompts", "no-text-prompts", "prompt-init", "dtr", "dtr-infer"})
            if (a.count(name) && !prompt_method) throw Error(ErrorCode::usage, std::string("--") + name + " does not apply to --method full");
        if (a.count("prompt-length")) config.prompts.length = a["prompt-length"].as<int64_t>();
        if (a.count("prompt-depth")) {
            config.prompts.depth = a["prompt-depth"].as<int64_t>();
            config.prompt_depth_given = true;
        }
        if (a.count("visual-prompts")) config.prompts.visual = train::parse_visual_mode(a["visual-prompts"].as<std::string>());
        if (a.count("no-text-prompts")) config.prompts.text = false;
        if (a.count("prompt-init")) {
            const std::string init = a["prompt-init"].as<std::string>();
            config.prompts.init = init == "random" ? "" : init;
        }
        if (!config.prompts.text) config.prompts.init.clear();
        const std::string visual_init = a["visual-init"].as<std::string>();
        if (visual_init != "normal" && visual_init != "xavier") throw Error(ErrorCode::usage, "--visual-init is normal or xavier");
        config.prompts.visual_xavier = visual_init == "xavier";
        config.objective.cate_in_batch = a.count("cate-in-batch") > 0;

        config.objective.con = train::parse_con_mode(a["con-mode"].as<std::string>());
        if (a.count("lambda")) config.objective.lambda = a["lambda"].as<double>();
        config.alpha = a["alpha"].as<double>();
        config.objective.form = train::parse_cate_form(a["cate-form"].as<std::string>());
        const std::string caa = a["caa"].as<std::string>();
        if (caa != "adapter" && caa != "identity") throw Error(ErrorCode::usage, "--caa is adapter or identity");
        config.caa.identity = caa == "identity";
        config.caa.hidden = a["caa-hidden"].as<int64_t>();
        config.caa.ratio = a["caa-ratio"].as<double>();
        if (a["candidates"].as<int>() < 0) throw Error(ErrorCode::usage, "--candidates must not be negative");
        config.candidates = static_cast<size_t>(a["candidates"].as<int>());
        if (a.count("dtr")) {
            config.objective.dtr = train::parse_dtr_mode(a["dtr"].as<std::string>());
            config.objective.update_table = config.objective.dtr != train::DtrMode::none;
            if (!a.count("dtr-infer")) config.dtr_infer = config.objective.update_table ? "table" : "none";
        }
        if (a.count("dtr-infer")) {
            config.dtr_infer = a["dtr-infer"].as<std::string>();
            if (config.dtr_infer != "table" && config.dtr_infer != "none") throw Error(ErrorCode::usage, "--dtr-infer is table or none");
            if (config.dtr_infer == "table") config.objective.update_table = true;
        }
        const cli::TokenWeightOptions weights = cli::token_weight_options(a);
        config.objective.dtr_config.w_min = weights.w_min;
        config.objective.dtr_config.w_max = weights.w_max;
        config.objective.dtr_config.momentum = weights.ema;
        config.objective.blank = train::parse_blank(weights.blank);
        if (a.count("weight-table")) config.weight_table = a["weight-table"].as<std::string>();

        if (a.count("optimizer")) config.optimizer.kind = a["optimizer"].as<std::string>();
        if (a.count("lr")) config.lr = a["lr"].as<double>();
        config.optimizer.momentum = a["momentum"].as<double>();
        if (a.count("weight-decay")) config.optimizer.weight_decay = a["weight-decay"].as<double>();
        if (a.count("warmup")) config.warmup = train::parse_warmup(a["warmup"].as<std::string>());
        if (a.count("warmup-epochs")) config.warmup_epochs = a["warmup-epochs"].as<int>();
        if (a.count("warmup-steps")) config.warmup_steps = a["warmup-steps"].as<int64_t>();
        if (a.count("warmup-steps") && a.count("warmup-epochs")) throw Error(ErrorCode::usage, "--warmup-steps and --warmup-epochs exclude each other");
        config.warmup_lr = a["warmup-lr"].as<double>();
        if (a.count("epochs")) config.epochs = a["epochs"].as<int>();
        if (a.count("shots")) config.shots = a["shots"].as<int64_t>();
        if (a.count("augment") && a.count("no-augment")) throw Error(ErrorCode::usage, "--augment and --no-augment exclude each other");
        if (a.count("augment")) config.augment = true;
        if (a.count("no-augment")) config.augment = false;
        if (a.count("hard-batches")) config.hard_batches = true;
        config.crop_min = a["crop-min"].as<double>();
        if (!(config.crop_min > 0 && config.crop_min <= 1)) throw Error(ErrorCode::usage, "--crop-min must be in (0, 1]");
        config.val_fraction = a["val-fraction"].as<double>();
        if (!(config.val_fraction >= 0 && config.val_fraction < 1)) throw Error(ErrorCode::usage, "--val-fraction must be in [0, 1)");
        if (a.count("val")) {
            config.val_input = a["val"].as<std::string>();
            if (config.val_fraction > 0) throw Error(ErrorCode::usage, "--val and --val-fraction exclude each other");
        }
        if (config.warmup_epochs < 0 || config.warmup_steps < 0 || config.shots < 0)
            throw Error(ErrorCode::usage, "--warmup-epochs, --warmup-steps and --shots must not be negative");
        config.seed = a["seed"].as<uint64_t>();
        config.max_steps = a["max-steps"].as<int64_t>();
        if (a.count("step-log")) config.step_log = c.output_path("step-log");
        // The inputs must survive the run: its step log is the one file written outside DIR.
        io::refuse_output_over_input({config.input, config.model, config.weight_table, config.val_input, config.vocab},
                                     {config.step_log});
        config.command_line = c.provenance.args;

        const auto summary = train::run_tune(config, c.log);
        c.log.info("checkpoint: " + summary.checkpoint + " (" + std::to_string(summary.epochs_done) + " epochs, " +
                   std::to_string(summary.steps) + " steps)");
        return cli::exit_ok;
    });
}
