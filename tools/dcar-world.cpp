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
                       "pretrain.json (alt-text-like captions), train.json and test.json (novel classes,\n"
                       "\"This is a {class}. ...\"), world.json, and the JPEG images under OUT/images/."};
    spec.options.add_options()
        ("world-version", cli::po::value<int>()->value_name("V")->default_value(defaults.version), "which world: 2 (docs/WORLD.md) or 1 (the first world; its own defaults)")
        ("seed", cli::po::value<uint64_t>()->value_name("N")->default_value(defaults.seed), "random seed: the whole world follows from it")
        ("size", cli::po::value<int>()->value_name("PX")->default_value(defaults.size), "image side in pixels (16..1024; v1: 64)")
        ("families", cli::po::value<int>()->value_name("N")->default_value(defaults.families), "shape families (meta-categories), 1..6")
        ("base-per-family", cli::po::value<int>()->value_name("N")->default_value(defaults.base_per_family), "base classes per family (pretraining split)")
        ("novel-per-family", cli::po::value<int>()->value_name("N")->default_value(defaults.novel_per_family), "novel classes per family (train and test splits)")
        ("pretrain-per-class", cli::po::value<int>()->value_name("N")->default_value(defaults.pretrain_per_class), "pretraining images per base class (v1: 100)")
        ("pretrain-per-novel", cli::po::value<int>()->value_name("N")->default_value(defaults.pretrain_per_novel), "pretraining images per novel class (v2; v1: 0)")
        ("train-per-class", cli::po::value<int>()->value_name("N")->default_value(defaults.train_per_class), "training images per novel class (shots are drawn from these)")
        ("test-per-class", cli::po::value<int>()->value_name("N")->default_value(defaults.test_per_class), "test images per novel class")
        ("mention-class", cli::po::value<double>()->value_name("P")->default_value(defaults.mention_class, "0.5"), "train/test captions: probability of naming each class attribute")
        ("mention-nuisance", cli::po::value<double>()->value_name("P")->default_value(defaults.mention_nuisance, "0.5"), "train/test captions: probability of naming each nuisance attribute")
        ("filler", cli::po::value<int>()->value_name("N")->default_value(defaults.filler), "train/test captions: filler sentences each (v2, 0..16; v1: 0)")
        ("pretrain-mention-class", cli::po::value<double>()->value_name("P")->default_value(defaults.pretrain_mention_class, "1"), "pretraining captions: the same for class attributes (v1: 0.75)")
        ("pretrain-mention-nuisance", cli::po::value<double>()->value_name("P")->default_value(defaults.pretrain_mention_nuisance, "0.2"), "pretraining captions: the same for nuisance attributes (v1: 0.5)")
        ("pretrain-mention-name", cli::po::value<double>()->value_name("P")->default_value(defaults.pretrain_mention_name, "0.5"), "pretraining captions of novel classes: probability of naming the class (v2; v1: 0)")
        ("pretrain-silhouette", cli::po::value<double>()->value_name("P")->default_value(defaults.pretrain_silhouette, "0"), "pretraining captions: probability of describing the silhouette alone, the family and its part count (v2)")
        ("pretrain-without-parts", cli::po::value<double>()->value_name("P")->default_value(defaults.pretrain_without_parts, "0"), "pretraining captions: probability of leaving out the part count, everything else as drawn (v2; with --pretrain-silhouette at most 1)")
        ("pretrain-random-attributes", cli::po::value<double>()->value_name("P")->default_value(defaults.pretrain_random_attributes, "0"), "pretraining images of base classes: probability of drawing the class attributes at random in the family, never a novel class's (v2)")
        ("pretrain-filler", cli::po::value<double>()->value_name("P")->default_value(defaults.pretrain_filler, "0"), "pretraining captions: probability of carrying one filler sentence of the train/test captions' bank (v2)")
        ("pretrain-category", cli::po::value<std::string>()->value_name("WHAT")->default_value(defaults.pretrain_category), "what a pretraining record's meta_category names, which dcar-tune --hard-batches groups by: family, or silhouette (family and part count; v2)")
        ("quality", cli::po::value<int>()->value_name("Q")->default_value(defaults.quality), "JPEG quality (1..100)")
        ("no-pretrain-images", "write pretrain.json but not its images (enough for a backbone made before); a later run without this adds them")
        ("force", "replace a world made with other options in OUT, or write into a non-empty OUT");
    spec.positional.add("input", 1);

    return cli::run_tool(std::move(spec), argc, argv, [](cli::Context& ctx) {
        const auto& a = ctx.args;
        const auto outs = ctx.inputs(false);
        if (outs.size() != 1) throw Error(ErrorCode::usage, "expected one output directory OUT");

        world::GenerateJob job;
        job.out_dir = outs[0];
        job.force = a.count("force") > 0;
        job.pretrain_images = a.count("no-pretrain-images") == 0;
        // The chosen version's defaults, then every option given on the command line.
        world::WorldConfig& c = job.config;
        c = world::defaults_of_version(a["world-version"].as<int>());
        auto given = [&a](const char* name) { return a.count(name) && !a[name].defaulted(); };
        auto set_int = [&](const char* name, int& field) { if (given(name)) field = a[name].as<int>(); };
        auto set_probability = [&](const char* name, double& field) { if (given(name)) field = a[name].as<double>(); };
        if (given("seed")) c.seed = a["seed"].as<uint64_t>();
        set_int("size", c.size);
        set_int("families", c.families);
        set_int("base-per-family", c.base_per_family);
        set_int("novel-per-family", c.novel_per_family);
        set_int("pretrain-per-class", c.pretrain_per_class);
        set_int("pretrain-per-novel", c.pretrain_per_novel);
        set_int("train-per-class", c.train_per_class);
        set_int("test-per-class", c.test_per_class);
        set_probability("mention-class", c.mention_class);
        set_probability("mention-nuisance", c.mention_nuisance);
        set_int("filler", c.filler);
        set_probability("pretrain-mention-class", c.pretrain_mention_class);
        set_probability("pretrain-mention-nuisance", c.pretrain_mention_nuisance);
        set_probability("pretrain-mention-name", c.pretrain_mention_name);
        set_probability("pretrain-silhouette", c.pretrain_silhouette);
        set_probability("pretrain-without-parts", c.pretrain_without_parts);
        set_probability("pretrain-random-attributes", c.pretrain_random_attributes);
        set_probability("pretrain-filler", c.pretrain_filler);
        if (given("pretrain-category")) c.pretrain_category = a["pretrain-category"].as<std::string>();
        set_int("quality", c.quality);

        world::generate_world(job, ctx.log);
        return cli::exit_ok;
    });
}
