// dcar-score: image→text and text→image recall@K of image and caption embeddings (docs/METHOD.md §9). Parses
// the options into a metrics::ScoreConfig, makes the one library call, and writes the report (and the plot).
#include "cli/run.hpp"
#include "core/error.hpp"
#include "io/paths.hpp"
#include "io/sink.hpp"
#include "metrics/plot_svg.hpp"
#include "metrics/report.hpp"
#include "metrics/score.hpp"
#include "stream/embeddings.hpp"

using namespace dcar;

int main(int argc, char** argv) {
    cli::ToolSpec spec{"dcar-score", "dcar-score [options] --images IMG --texts TXT",
                       "Image-text retrieval recall (R@K in both directions) of image and caption embeddings.\n"
                       "Inputs are dcar streams or .npy arrays (with .ids sidecars); rows are L2-normalised."};
    spec.positional_name = "";
    spec.options.add_options()
        ("images", cli::po::value<std::string>()->value_name("FILE")->required(), "image embeddings (.dcs or .npy; - = stdin)")
        ("texts", cli::po::value<std::string>()->value_name("FILE")->required(), "caption embeddings (.dcs or .npy; - = stdin)")
        ("manifest", cli::po::value<std::string>()->value_name("FILE"), "ground truth from a manifest (default: caption ids '<image id>#<j>')")
        ("strict", "a bad manifest record is fatal (default: reported, skipped, exit 3)")
        ("by-label", "ground truth: an image and a caption match when their labels are equal")
        ("recall-at,k", cli::po::value<std::vector<std::string>>()->value_name("K,...")->default_value(std::vector<std::string>{"1,5,10"}, "1,5,10"),
         "recall cut-offs")
        ("dataset", cli::po::value<std::string>()->value_name("NAME")->default_value(""), "dataset name for the report")
        ("model", cli::po::value<std::string>()->value_name("NAME")->default_value(""), "model name for the report (default: the inputs' model fingerprint)")
        ("pretrained", cli::po::value<std::string>()->value_name("TAG")->default_value(""), "weights tag for the JSON record, as CLIP_benchmark's (default: the model fingerprint)")
        ("language", cli::po::value<std::string>()->value_name("CODE")->default_value("en"), "caption language for the JSON record")
        ("json", "print one JSON record (CLIP_benchmark's keys plus dcar's)")
        ("per-class", "add per-class recall to the table")
        ("plot", cli::po::value<std::string>()->value_name("FILE"), "write Recall@K curves as SVG")
        ("chunk-size", cli::po::value<int>()->value_name("N")->default_value(1024), "queries scored per block (memory: N x gallery floats)")
        ("output,o", cli::po::value<std::string>()->value_name("FILE")->default_value("-"), "report file (- = stdout); written atomically");

    return cli::run_tool(std::move(spec), argc, argv, [](cli::Context& ctx) {
        const auto& a = ctx.args;
        if (a.count("manifest") && a.count("by-label")) throw Error(ErrorCode::usage, "--manifest and --by-label exclude each other");
        if (a["chunk-size"].as<int>() <= 0) throw Error(ErrorCode::usage, "--chunk-size must be positive");
        const std::string output = ctx.output_path("output");
        const std::string plot = a.count("plot") ? ctx.output_path("plot") : "";
        if (plot == "-" && output == "-") throw Error(ErrorCode::usage, "--plot - needs the report elsewhere (-o FILE)");

        metrics::ScoreConfig config;
        config.images_path = a["images"].as<std::string>();
        config.texts_path = a["texts"].as<std::string>();
        if (a.count("manifest")) {
            config.ground_truth = metrics::GroundTruthSource::manifest;
            config.manifest_path = a["manifest"].as<std::string>();
            config.manifest_strict = a.count("strict") > 0;
        } else if (a.count("by-label")) {
            config.ground_truth = metrics::GroundTruthSource::labels;
        }
        config.ks = metrics::parse_ks(a["recall-at"].as<std::vector<std::string>>());
        config.dataset = a["dataset"].as<std::string>();
        config.model = a["model"].as<std::string>();
        config.pretrained = a["pretrained"].as<std::string>();
        config.language = a["language"].as<std::string>();
        config.chunk_rows = size_t(a["chunk-size"].as<int>());
        std::vector<std::string> inputs = stream::files_read({config.images_path, config.texts_path}, {});
        inputs.push_back(config.manifest_path);
        io::refuse_output_over_input(inputs, {output, plot});

        const metrics::ScoreResult result = metrics::score(config, ctx.log);
        if (!plot.empty()) metrics::write_recall_svg(result, *io::open_sink(plot));
        auto out = io::open_sink(output);
        metrics::write_report(result, a.count("json") > 0, a.count("per-class") > 0, *out);
        out->commit();
        return result.partial() ? cli::exit_partial : cli::exit_ok;
    });
}
