// dcar-index: build, add to, merge and describe FAISS indexes of embeddings.
#include <iostream>

#include "cli/run.hpp"
#include "core/shard.hpp"
#include "core/error.hpp"
#include "index/index.hpp"
#include "io/paths.hpp"

using namespace dcar;

namespace {

void add_input_options(cli::po::options_description& options) {
    options.add_options()
        ("ids", cli::po::value<std::string>(), ".npy input: ids sidecar (default: INPUT without .npy + .ids, else row numbers)")
        ("strict", "a duplicate id is an error (default: reported and skipped)");
}

stream::ReadOptions read_options(const cli::Context& c) {
    stream::ReadOptions read;
    if (c.args.count("ids")) read.ids_path = c.args["ids"].as<std::string>();
    return read;
}

void report(const cli::Context& c, const char* verb, const index::IngestSummary& s) {
    std::string line = std::string(verb) + " " + std::to_string(s.added) + " vectors";
    if (s.trained_on) line += " (trained on " + std::to_string(s.trained_on) + ")";
    if (s.duplicates) line += ", skipped " + std::to_string(s.duplicates) + " duplicate ids";
    c.log.info(line);
}

int status_of(const index::IngestSummary& s) { return s.duplicates ? cli::exit_partial : cli::exit_ok; }

int build_main(int argc, char** argv) {
    cli::ToolSpec spec{"dcar-index build", "dcar-index build -o INDEX [options] [INPUT...]",
                       "Build an index: train on a sample (when the index type needs training), then add every vector."};
    spec.options.add_options()
        ("output,o", cli::po::value<std::string>()->required(), "index file to write (atomically)")
        ("factory,f", cli::po::value<std::string>()->default_value("Flat"), "FAISS factory string: Flat, HNSW32, IVF4096,Flat, IVF4096,PQ64, OPQ64,IVF4096,PQ64 ...")
        ("train-sample", cli::po::value<int64_t>()->default_value(0), "rows to train on (0 = automatic: 64 per IVF list, at least 65536)")
        ("train-only", "write the trained, empty index: the template for shard builds")
        ("seed", cli::po::value<uint64_t>()->default_value(1), "seed for sampling and k-means");
    add_input_options(spec.options);
    spec.positional.add("input", -1);
    return cli::run_tool(std::move(spec), argc, argv, [](cli::Context& c) {
        index::BuildConfig config;
        config.inputs = c.inputs();
        config.output = c.output_path("output");
        config.factory = c.args["factory"].as<std::string>();
        const int64_t train_sample = c.args["train-sample"].as<int64_t>();
        if (train_sample < 0) throw Error(ErrorCode::usage, "--train-sample must not be negative");
        config.train_sample = uint64_t(train_sample);
        config.train_only = c.args.count("train-only") > 0;
        config.seed = c.args["seed"].as<uint64_t>();
        config.strict = c.args.count("strict") > 0;
        config.read = read_options(c);
        config.provenance = c.provenance;
        io::refuse_output_over_input(stream::files_read(config.inputs, config.read), {config.output});
        const auto summary = index::build(config, c.log);
        report(c, "indexed", summary);
        return status_of(summary);
    });
}

int add_main(int argc, char** argv) {
    cli::ToolSpec spec{"dcar-index add", "dcar-index add INDEX [options] [INPUT...]",
                       "Append embeddings to an existing index, atomically; ids already present are reported and skipped."};
    spec.options.add_options()
        ("output,o", cli::po::value<std::string>(), "write the result here instead of replacing INDEX")
        ("shard", cli::po::value<std::string>(), "i/N: add only inputs i, i+N, ... of the INPUT list (0-based); auto: from Slurm's array task or srun step");
    spec.hidden.add_options()("index", cli::po::value<std::string>()->required(), "the index to extend");
    add_input_options(spec.options);
    spec.positional.add("index", 1).add("input", -1);
    return cli::run_tool(std::move(spec), argc, argv, [](cli::Context& c) {
        index::AddConfig config;
        config.index = c.args["index"].as<std::string>();
        config.inputs = c.inputs();
        if (c.args.count("shard")) {
            // One shard index per task of an array: each takes every N-th input file, so the shards together
            // hold every input once (dcar-index merge joins them).
            const std::string text = c.args["shard"].as<std::string>();
            const Shard shard = parse_shard(text);
            std::vector<std::string> mine;
            for (size_t i = shard.index; i < config.inputs.size(); i += shard.count) mine.push_back(config.inputs[i]);
            if (text == "auto") c.log.info(shard.source);
            c.log.info("shard " + std::to_string(shard.index) + "/" + std::to_string(shard.count) + ": " +
                       std::to_string(mine.size()) + " of " + std::to_string(config.inputs.size()) + " inputs");
            config.inputs = std::move(mine);
        }
        if (c.args.count("output")) config.output = c.output_path("output");
        config.strict = c.args.count("strict") > 0;
        config.read = read_options(c);
        config.provenance = c.provenance;
        // The index may be its own output (that is what add does without -o); the embeddings may not.
        io::refuse_output_over_input(stream::files_read(config.inputs, config.read), {config.output.empty() ? config.index : config.output});
        const auto summary = index::add(config, c.log);
        report(c, "added", summary);
        return status_of(summary);
    });
}

int merge_main(int argc, char** argv) {
    cli::ToolSpec spec{"dcar-index merge", "dcar-index merge -o INDEX SHARD SHARD...",
                       "Merge indexes that were filled from one trained template (dcar-index build --train-only) into one."};
    spec.options.add_options()("output,o", cli::po::value<std::string>()->required(), "merged index to write (atomically)")
        ("ondisk", "IVF: write the inverted lists to a data file beside the index (INDEX.<hash>.ivfdata), one shard in memory at a time; readers map it");
    spec.positional.add("input", -1);
    return cli::run_tool(std::move(spec), argc, argv, [](cli::Context& c) {
        index::MergeConfig config;
        config.shards = c.inputs(false);
        config.ondisk = c.args.count("ondisk") > 0;
        config.output = c.output_path("output");  // may be one of the shards: the merge holds its lock
        config.provenance = c.provenance;
        report(c, "merged", index::merge(config, c.log));
        return cli::exit_ok;
    });
}

int info_main(int argc, char** argv) {
    cli::ToolSpec spec{"dcar-index info", "dcar-index info [--json] INDEX...",
                       "Describe indexes: type, count, dimension, modality, model fingerprint, training identity, provenance."};
    spec.options.add_options()("json", "one JSON object per index");
    spec.positional.add("input", -1);
    return cli::run_tool(std::move(spec), argc, argv, [](cli::Context& c) {
        const auto inputs = c.inputs(false);
        if (inputs.empty()) throw Error(ErrorCode::usage, "no index given");
        for (const auto& path : inputs) std::cout << index::describe(path, index::load_index_metadata(path), c.args.count("json") > 0);
        return cli::exit_ok;
    });
}

}  // namespace

int main(int argc, char** argv) {
    return cli::run_subcommand("dcar-index", argc, argv,
                               {{"build", "build an index from embeddings", build_main},
                                {"add", "append embeddings to an index, atomically", add_main},
                                {"merge", "merge shards of one trained index", merge_main},
                                {"info", "describe an index", info_main}});
}
