// dcar-world: writes the synthetic fine-grained world of docs/WORLD.md (FDRD JSON + JPEG images) into a
// directory. Parses the options into a world::GenerateJob and makes the one library call.
#include "cli/run.hpp"
#include "core/error.hpp"
#include "world/world.hpp"

using namespace dcar;

int main(int argc, char** argv) {
    const world::WorldConfig defaults;
    cli::ToolSpec spec{"dcar-world", "dcar-world [options] OUT",
                       "Generate the synthetic fine-grained world (docs/WORLD.md) into the directory OUT:\n"
                       "pretrain.json (base classes, generic captions), train.json and test.json (novel classes,\n"
                       "\"This is a {class}. ...\"), world.json, and the JPEG images under OUT/images/."};
    spec.options.add_options()
        ("seed", cli::po::value<uint64_t>()->value_name("N")->default_value(defaults.seed), "random seed: the whole world follows from it")
        ("size", cli::po::value<int>()->value_name("PX")->default_value(defaults.size), "image side in pixels (16..1024)")
        ("families", cli::po::value<int>()->value_name("N")->default_value(defaults.families), "shape families (meta-categories), 1..6")
        ("base-per-family", cli::po::value<int>()->value_name("N")->default_value(defaults.base_per_family), "base classes per family (pretraining split)")
        ("novel-per-family", cli::po::value<int>()->value_name("N")->default_value(defaults.novel_per_family), "novel classes per family (train and test splits)")
        ("pretrain-per-class", cli::po::value<int>()->value_name("N")->default_value(defaults.pretrain_per_class), "pretraining images per base class")
        ("train-per-class", cli::po::value<int>()->value_name("N")->default_value(defaults.train_per_class), "training images per novel class (shots are drawn from these)")
        ("test-per-class", cli::po::value<int>()->value_name("N")->default_value(defaults.test_per_class), "test images per novel class")
        ("mention-class", cli::po::value<double>()->value_name("P")->default_value(defaults.mention_class, "0.5"), "train/test captions: probability of naming each class attribute")
        ("mention-nuisance", cli::po::value<double>()->value_name("P")->default_value(defaults.mention_nuisance, "0.5"), "train/test captions: probability of naming each nuisance attribute")
        ("pretrain-mention-class", cli::po::value<double>()->value_name("P")->default_value(defaults.pretrain_mention_class, "0.75"), "pretraining captions: the same for class attributes")
        ("pretrain-mention-nuisance", cli::po::value<double>()->value_name("P")->default_value(defaults.pretrain_mention_nuisance, "0.5"), "pretraining captions: the same for nuisance attributes")
        ("quality", cli::po::value<int>()->value_name("Q")->default_value(defaults.quality), "JPEG quality (1..100)")
        ("force", "replace a world made with other options in OUT, or write into a non-empty OUT");
    spec.positional.add("input", 1);

    return cli::run_tool(std::move(spec), argc, argv, [](cli::Context& ctx) {
        const auto& a = ctx.args;
        const auto outs = ctx.inputs(false);
        if (outs.size() != 1) throw Error(ErrorCode::usage, "expected one output directory OUT");

        world::GenerateJob job;
        job.out_dir = outs[0];
        job.force = a.count("force") > 0;
        world::WorldConfig& c = job.config;
        c.seed = a["seed"].as<uint64_t>();
        c.size = a["size"].as<int>();
        c.families = a["families"].as<int>();
        c.base_per_family = a["base-per-family"].as<int>();
        c.novel_per_family = a["novel-per-family"].as<int>();
        c.pretrain_per_class = a["pretrain-per-class"].as<int>();
        c.train_per_class = a["train-per-class"].as<int>();
        c.test_per_class = a["test-per-class"].as<int>();
        c.mention_class = a["mention-class"].as<double>();
        c.mention_nuisance = a["mention-nuisance"].as<double>();
        c.pretrain_mention_class = a["pretrain-mention-class"].as<double>();
        c.pretrain_mention_nuisance = a["pretrain-mention-nuisance"].as<double>();
        c.quality = a["quality"].as<int>();

        world::generate_world(job, ctx.log);
        return cli::exit_ok;
    });
}
