// dcar-query: nearest neighbours of query embeddings in an index or a gallery.
#include "cli/run.hpp"
#include "core/error.hpp"
#include "index/query.hpp"
#include "io/paths.hpp"

using namespace dcar;

int main(int argc, char** argv) {
    cli::ToolSpec spec{"dcar-query", "dcar-query (-i INDEX | --gallery EMBEDDINGS) [options] [QUERIES...]",
                       "Search the k nearest neighbours (inner product of L2-normalised vectors) of each query.\n"
                       "Output: TSV query_id, rank, gallery_id, score (or JSON lines), best first."};
    spec.options.add_options()
        ("index,i", cli::po::value<std::string>(), "dcar index to search (dcar-index build)")
        ("gallery,g", cli::po::value<std::string>(), "search these embeddings exactly instead, streamed in chunks")
        (",k", cli::po::value<int64_t>()->default_value(10), "neighbours per query (at most the index or gallery size)")
        ("nprobe", cli::po::value<int>()->default_value(0), "IVF lists to visit (0 = the index's default)")
        ("ef", cli::po::value<int>()->default_value(0), "HNSW efSearch (0 = the index's default)")
        ("chunk", cli::po::value<int64_t>()->default_value(65536), "exact search: gallery rows held in memory at once")
        ("format,F", cli::po::value<std::string>()->default_value("tsv"), "output: tsv|jsonl")
        ("ids", cli::po::value<std::string>(), ".npy queries: ids sidecar")
        ("output,o", cli::po::value<std::string>()->default_value("-"), "output file (- = stdout); written atomically");
    spec.positional.add("input", -1);
    return cli::run_tool(std::move(spec), argc, argv, [](cli::Context& c) {
        index::QueryConfig config;
        config.queries = c.inputs();
        if (c.args.count("index")) config.index = c.args["index"].as<std::string>();
        if (c.args.count("gallery")) config.gallery = c.args["gallery"].as<std::string>();
        const int64_t k = c.args["-k"].as<int64_t>();
        if (k < 1) throw Error(ErrorCode::usage, "-k must be at least 1");
        config.k = uint64_t(k);
        config.nprobe = c.args["nprobe"].as<int>();
        config.ef_search = c.args["ef"].as<int>();
        const int64_t chunk = c.args["chunk"].as<int64_t>();
        if (chunk < 1) throw Error(ErrorCode::usage, "--chunk must be at least 1");
        config.gallery_chunk = size_t(chunk);
        config.format = index::parse_result_format(c.args["format"].as<std::string>());
        if (c.args.count("ids")) config.read.ids_path = c.args["ids"].as<std::string>();
        const std::string output = c.output_path("output");
        std::vector<std::string> inputs = stream::files_read(config.queries, config.read);
        if (!config.gallery.empty()) {
            const auto gallery = stream::files_read({config.gallery}, {});
            inputs.insert(inputs.end(), gallery.begin(), gallery.end());
        }
        inputs.push_back(config.index);
        io::refuse_output_over_input(inputs, {output});
        auto out = io::open_sink(output);
        index::query(config, *out, c.log);
        out->commit();
        return cli::exit_ok;
    });
}
