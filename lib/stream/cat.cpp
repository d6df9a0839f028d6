// Row printing keeps the shortest float text that reads back exactly, so `dcar-cat --format tsv` loses nothing.
#include "stream/cat.hpp"

#include <nlohmann/json.hpp>

#include "core/json.hpp"
#include "core/error.hpp"
#include "core/text.hpp"

namespace dcar::stream {

CatOutput parse_cat_output(const std::string& s) {
    if (s == "tsv") return CatOutput::tsv;
    if (s == "jsonl") return CatOutput::jsonl;
    if (s == "dcs") return CatOutput::dcs;
    if (s == "npy") return CatOutput::npy;
    throw Error(ErrorCode::usage, "unknown output format '" + s + "' (expected tsv, jsonl, dcs or npy)");
}

namespace {

std::string header_json(const Header& h) {
    return dump_json(nlohmann::json::parse(h.to_json()), 2) + "\n";
}

void write_text_rows(const Batch& batch, CatOutput format, bool ids_only, io::Sink& out) {
    std::string line;
    for (size_t i = 0; i < batch.size(); ++i) {
        if (format == CatOutput::tsv) {
            line = batch.ids[i] + '\t' + batch.labels[i];
            if (!ids_only) {
                line += '\t';
                for (uint32_t k = 0; k < batch.dim; ++k) {
                    if (k) line += ',';
                    line += text::format_float(batch.row(i)[k]);
                }
            }
        } else {
            // By hand: a stable key order and floats in their shortest exact form, as in TSV.
            line = "{\"id\":" + dump_json(nlohmann::json(batch.ids[i]));
            if (!batch.labels[i].empty()) line += ",\"label\":" + dump_json(nlohmann::json(batch.labels[i]));
            if (!ids_only) {
                line += ",\"vector\":[";
                for (uint32_t k = 0; k < batch.dim; ++k) {
                    if (k) line += ',';
                    line += text::json_float(batch.row(i)[k]);
                }
                line += ']';
            }
            line += '}';
        }
        line += '\n';
        out.write(line);
    }
}

}  // namespace

uint64_t cat(const CatConfig& config, io::Sink& out, std::unique_ptr<io::Sink> binary_out, const Log& log) {
    auto reader = open_embeddings(config.inputs, config.read);
    if (config.output == CatOutput::header) {
        out.write(header_json(reader->header()));
        return 0;
    }
    std::unique_ptr<EmbeddingWriter> writer;
    if (config.output == CatOutput::dcs || config.output == CatOutput::npy) {
        Header h = reader->header();
        if (!config.dtype.empty()) h.dtype = parse_element_type(config.dtype);
        if (config.normalize) h.normalized = true;
        h.provenance.push_back(config.provenance);
        WriteOptions options = config.write;
        options.format = config.output == CatOutput::npy ? Format::npy : Format::dcs;
        writer = open_writer(std::move(binary_out), h, options);
    }
    uint64_t count = 0;
    Batch batch;
    while (reader->read_batch(batch, 8192)) {
        if (config.normalize) normalize_rows(batch.vectors.data(), batch.size(), batch.dim);
        if (writer) writer->write(batch);
        else if (config.output != CatOutput::count) write_text_rows(batch, config.output, config.ids_only, out);
        count += batch.size();
        log.progress("records", count);
    }
    if (writer) writer->finish();
    if (config.output == CatOutput::count) out.write(std::to_string(count) + "\n");
    return count;
}

}  // namespace dcar::stream
