// dcar-query: nearest neighbours of query embeddings in an index or a gallery.
#include "cli/run.hpp"
#include "index/query.hpp"

using namespace dcar;

int main(int argc, char** argv) {
    cli::ToolSpec spec{"dcar-query", "dcar-query (-i INDEX | --gallery EMBEDDINGS) [options] [QUERIES...]",
                       "Search the k nearest neighbours (inner product of L2-normalised vectors) of each query.\n"
                       "Output: TSV query_id, rank, gallery_id, score (or JSON lines), best first."};
    spec.options.add_options()
        ("index,i", cli::po::value<std::string>(), "dcar index to search (dcar-index build)")
        ("gallery,g", cli::po::value<std::string>(), "search these embeddings exactly instead, streamed in chunks")
        (",k", cli::po::value<uint32_t>()->default_value(10), "neighbours per query")
        ("nprobe", cli::po::value<int>()->default_value(0), "IVF lists to visit (0 = the index's default)")
        ("ef", cli::po::value<int>()->default_value(0), "HNSW efSearch (0 = the index's default)")
        ("chunk", cli::po::value<size_t>()->default_value(65536), "exact search: gallery rows held in memory at once")
        ("format,F", cli::po::value<std::string>()->default_value("tsv"), "output: tsv|jsonl")
        ("ids", cli::po::value<std::string>(), ".npy queries: ids sidecar")
        ("output,o", cli::po::value<std::string>()->default_value("-"), "output file (- = stdout); written atomically");
    spec.positional.add("input", -1);
    return cli::run_tool(std::move(spec), argc, argv, [](cli::Context& c) {
        index::QueryConfig config;
        config.queries = c.inputs();
        if (c.args.count("index")) config.index = c.args["index"].as<std::string>();
        if (c.args.count("gallery")) config.gallery = c.args["gallery"].as<std::string>();
        config.k = c.args["-k"].as<uint32_t>();
        config.nprobe = c.args["nprobe"].as<int>();
        config.ef_search = c.args["ef"].as<int>();
        config.gallery_chunk = c.args["chunk"].as<size_t>();
        config.format = index::parse_result_format(c.args["format"].as<std::string>());
        if (c.args.count("ids")) config.read.ids_path = c.args["ids"].as<std::string>();
        auto out = io::open_sink(c.args["output"].as<std::string>());
        index::query(config, *out, c.log);
        out->commit();
        return cli::exit_ok;
    });
}
