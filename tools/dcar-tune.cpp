// dcar-tune: prompt learning on a frozen CLIP (coop, vpt, maple, dcar) or whole-model training (full), with
// per-epoch checkpoints. Its own options come from one table (train::tune_options), which also parses them;
// options that depend on the method take the method's defaults (train::method_defaults) unless given.

#include <deque>
#include <map>
#include <string>

#include "cli/options.hpp"
#include "cli/run.hpp"
#include "io/paths.hpp"
#include "core/error.hpp"
#include "model/runtime.hpp"
#include "train/tune.hpp"
#include "train/tune_options.hpp"

using namespace dcar;

namespace {
const cli::ModelOptionWords model_words{"auto", "backbone compute type: auto (bf16 on CUDA, fp32 on CPU) | fp32 | bf16 | fp16", "images per step"};
}  // namespace

int main(int argc, char** argv) {
    model::run_with_passive_openmp_waits(argv);
    cli::ToolSpec spec{"dcar-tune", "dcar-tune -m MODEL -o DIR [options] [INPUT]",
                       "Learn prompts for a frozen CLIP with DCAR or a baseline, or train a whole CLIP (--method full).\n"
                       "INPUT (default -): records from dcar-mine-negatives (candidates for the category loss), or any manifest.\n"
                       "Method-dependent defaults are shown as [coop/vpt/maple/dcar/full]."};
    // Declared from dcar-tune's option table (train::tune_options), with each method's default where it has one.
    // Values are taken as text: the table parses them, so that an option's range lives in one place.
    std::deque<std::string> helps;  // boost keeps pointers into these
    for (const auto& o : train::tune_options()) {
        if (o.source != train::TuneOption::Source::own) continue;
        const std::string name = o.short_name ? std::string(o.flag) + "," + o.short_name : std::string(o.flag);
        const std::string shown = train::default_text(o);
        helps.push_back(o.shown_default == train::TuneOption::Default::per_method ? std::string(o.help) + " " + shown : o.help);
        if (!o.value_name) {
            spec.options.add_options()(name.c_str(), helps.back().c_str());
            continue;
        }
        auto* value = cli::po::value<std::string>()->value_name(o.value_name);
        if (o.shown_default == train::TuneOption::Default::fixed) value->default_value(shown);
        spec.options.add_options()(name.c_str(), value, helps.back().c_str());
    }
    cli::add_token_weight_options(spec.options);
    cli::add_model_options(spec.options, model_words);
    spec.positional.add("input", 1);

    return cli::run_tool(std::move(spec), argc, argv, [](cli::Context& c) {
        model::set_threads(c.threads);
        const auto& a = c.args;
        std::map<std::string, std::string> given;  // the options typed, as text
        for (const auto& o : train::tune_options())
            if (o.source == train::TuneOption::Source::own && a.count(o.flag) && !a[o.flag].defaulted())
                given[o.flag] = o.value_name ? a[o.flag].as<std::string>() : "";
        train::TuneConfig config = train::tune_config(given);
        const auto inputs = c.inputs();
        if (inputs.size() != 1) throw Error(ErrorCode::usage, "expected one INPUT");
        config.input = inputs[0];
        const cli::ModelOptions shared = cli::model_options(a, model_words);
        static_cast<model::RuntimeOptions&>(config) = shared.runtime;
        config.read.image_root = shared.image_root;
        config.read.layout = shared.layout;

        const cli::TokenWeightOptions weights = cli::token_weight_options(a);
        config.objective.dtr_config.w_min = weights.w_min;
        config.objective.dtr_config.w_max = weights.w_max;
        config.objective.dtr_config.momentum = weights.ema;
        config.objective.blank = train::parse_blank(weights.blank);
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
