// dcar-mine-negatives: category-swap and attribute negatives with category-matching weights for every caption
// of a manifest (docs/METHOD.md §5). Parses the options into a train::MineJob and makes the one library call.
#include "cli/run.hpp"
#include "core/error.hpp"
#include "io/paths.hpp"
#include "negatives/negatives.hpp"

using namespace dcar;

int main(int argc, char** argv) {
    cli::ToolSpec spec{"dcar-mine-negatives", "dcar-mine-negatives [options] [MANIFEST]",
                       "Mine negative captions (category swaps, attribute negatives) with category-matching weights.\n"
                       "MANIFEST is FDRD JSON, JSON lines or TSV (- or none = stdin); output is JSON lines, one per caption."};
    spec.options.add_options()
        ("swaps", cli::po::value<int>()->value_name("N")->default_value(3), "category-swap negatives per caption")
        ("attributes", cli::po::value<int>()->value_name("N")->default_value(2), "attribute negatives (captions of other items of the same class) per caption")
        ("attribute-swaps", cli::po::value<int>()->value_name("N")->default_value(0), "attribute-swap negatives (one attribute word replaced) per caption")
        ("attribute-lexicon", cli::po::value<std::string>()->value_name("FILE"), "lexical lists for attribute swaps (GROUP<TAB>word|word per value; default: built-in English lists)")
        ("hard-swap-p", cli::po::value<double>()->value_name("P")->default_value(0.0, "0"), "probability that a swap class is drawn from the nearest class names")
        ("swaps-within-category", "swap classes only from the item's own meta_category (FDRD; e.g. the world's family)")
        ("hard-pool", cli::po::value<int>()->value_name("K")->default_value(5), "how many nearest class names form the hard pool")
        ("class-embeddings", cli::po::value<std::string>()->value_name("FILE"), "class-name embeddings (.dcs or .npy; ids = class names)")
        ("alpha", cli::po::value<double>()->value_name("A")->default_value(0.5, "0.5"), "category-matching weight: 1+A on the item's own class")
        ("keep-released", "also keep the manifest's own negatives (filtered the same way)")
        ("shots", cli::po::value<int64_t>()->value_name("N")->default_value(0), "images per class to mine from and write, drawn as dcar-tune --shots draws them (0 = all)")
        ("val-fraction", cli::po::value<double>()->value_name("F")->default_value(0.0, "0"), "hold out this fraction of images first, as dcar-tune --val-fraction does")
        ("val-output", cli::po::value<std::string>()->value_name("FILE"), "write the held-out images' captions here (for dcar-tune --val)")
        ("seed", cli::po::value<uint64_t>()->value_name("N")->default_value(1), "random seed (the shots and the negatives)")
        ("image-root", cli::po::value<std::string>()->value_name("DIR")->default_value(""), "prefix for image paths")
        ("layout", cli::po::value<std::string>()->value_name("NAME")->default_value("auto"),
         "FDRD path rule: auto|caltech101|cars|dtd|ucf101|pets|aircraft|flowers|as-is")
        ("strict", "a bad manifest record is an error instead of skipped")
        ("output,o", cli::po::value<std::string>()->value_name("FILE")->default_value("-"), "output JSON lines (- = stdout); written atomically");
    spec.positional.add("input", 1);

    return cli::run_tool(std::move(spec), argc, argv, [](cli::Context& ctx) {
        const auto& a = ctx.args;
        const auto inputs = ctx.inputs();
        if (inputs.size() != 1) throw Error(ErrorCode::usage, "expected one MANIFEST");
        for (const char* name : {"swaps", "attributes", "attribute-swaps"})
            if (a[name].as<int>() < 0) throw Error(ErrorCode::usage, std::string("--") + name + " must not be negative");
        if (a["hard-pool"].as<int>() <= 0) throw Error(ErrorCode::usage, "--hard-pool must be positive");

        train::MineJob job;
        job.manifest_path = inputs[0];
        job.read.image_root = a["image-root"].as<std::string>();
        job.read.layout = a["layout"].as<std::string>();
        job.read.strict = a.count("strict") > 0;
        if (a.count("class-embeddings")) job.class_embeddings_path = a["class-embeddings"].as<std::string>();
        job.output = ctx.output_path("output");
        job.config.swaps = size_t(a["swaps"].as<int>());
        job.config.attributes = size_t(a["attributes"].as<int>());
        job.config.attribute_swaps = size_t(a["attribute-swaps"].as<int>());
        if (a.count("attribute-lexicon")) job.lexicon_path = a["attribute-lexicon"].as<std::string>();
        job.config.hard_swap_p = a["hard-swap-p"].as<double>();
        job.config.swaps_within_category = a.count("swaps-within-category") > 0;
        job.config.hard_pool = size_t(a["hard-pool"].as<int>());
        job.config.alpha = a["alpha"].as<double>();
        job.config.keep_released = a.count("keep-released") > 0;
        job.config.seed = a["seed"].as<uint64_t>();
        job.shots = a["shots"].as<int64_t>();
        if (job.shots < 0) throw Error(ErrorCode::usage, "--shots must not be negative");
        job.val_fraction = a["val-fraction"].as<double>();
        if (!(job.val_fraction >= 0 && job.val_fraction < 1)) throw Error(ErrorCode::usage, "--val-fraction must be in [0, 1)");
        if (a.count("val-output")) job.val_output = ctx.output_path("val-output");
        if ((job.val_fraction > 0) != !job.val_output.empty())
            throw Error(ErrorCode::usage, "--val-fraction and --val-output go together: held-out captions must go somewhere, and only there");
        io::refuse_output_over_input({job.manifest_path, job.class_embeddings_path, job.lexicon_path}, {job.output, job.val_output});

        const train::MineStats stats = train::run_mine_negatives(job, ctx.log);
        return stats.skipped_records ? cli::exit_partial : cli::exit_ok;
    });
}
