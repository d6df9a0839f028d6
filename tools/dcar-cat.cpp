// dcar-cat: print or convert embedding streams and .npy arrays.
#include "cli/run.hpp"
#include "io/paths.hpp"
#include "io/sink.hpp"
#include "stream/cat.hpp"

using namespace dcar;

int main(int argc, char** argv) {
    cli::ToolSpec spec{"dcar-cat", "dcar-cat [options] [INPUT...]",
                       "Print an embedding stream's header, record count or rows, or convert between dcar streams and .npy.\n"
                       "Inputs are dcar streams or .npy arrays (- or none = stdin); several inputs are read as one."};
    spec.options.add_options()
        ("header,H", "print the header as JSON and exit")
        ("count,c", "print the number of records")
        ("format,F", cli::po::value<std::string>()->default_value("tsv"), "rows as tsv|jsonl, or convert to dcs|npy")
        ("ids-only", "tsv/jsonl: ids and labels only, no vectors")
        ("dtype", cli::po::value<std::string>(), "dcs/npy output element type: f32|f16 (default: as the input)")
        ("normalize", "L2-normalise rows on the way through")
        ("level", cli::po::value<int>()->default_value(1), "zstd level for dcs output (1..19)")
        ("ids", cli::po::value<std::string>(), ".npy input: ids sidecar (default: INPUT without .npy + .ids, else row numbers)")
        ("ids-out", cli::po::value<std::string>(), ".npy output: ids sidecar (default: OUTPUT without .npy + .ids)")
        ("modality", cli::po::value<std::string>()->default_value("unknown"), ".npy input: image|text|unknown");
    cli::add_output_options(spec.options);
    spec.positional.add("input", -1);
    return cli::run_tool(std::move(spec), argc, argv, [](cli::Context& c) {
        stream::CatConfig config;
        config.inputs = c.inputs();
        config.output = c.args.count("header") ? stream::CatOutput::header
                        : c.args.count("count") ? stream::CatOutput::count
                                                : stream::parse_cat_output(c.args["format"].as<std::string>());
        config.ids_only = c.args.count("ids-only") > 0;
        if (c.args.count("dtype")) config.dtype = c.args["dtype"].as<std::string>();
        config.normalize = c.args.count("normalize") > 0;
        if (c.args.count("ids")) config.read.ids_path = c.args["ids"].as<std::string>();
        config.read.modality = stream::parse_modality(c.args["modality"].as<std::string>());
        if (c.args.count("ids-out")) config.write.ids_path = c.output_path("ids-out");
        config.write.level = c.args["level"].as<int>();
        config.provenance = c.provenance;
        const std::string output = c.output_path("output");
        io::refuse_output_over_input(stream::files_read(config.inputs, config.read), {output, config.write.ids_path});
        const bool binary = config.output == stream::CatOutput::dcs || config.output == stream::CatOutput::npy;
        auto text_out = io::open_sink(binary ? "-" : output);
        std::unique_ptr<io::Sink> binary_out;
        if (binary) {
            binary_out = io::open_sink(output);
            c.refuse_terminal(*binary_out);
        }
        stream::cat(config, *text_out, std::move(binary_out), c.log);
        if (!binary) text_out->commit();
        return cli::exit_ok;
    });
}
