// Table and JSON rendering. The table is built as cells first and padded afterwards, so columns line up
// whatever the K list or the class names are; nlohmann's ordered_json keeps keys in the documented order
// (CLIP_benchmark's keys first), which makes the record easy to read and to compare in tests.
#include "metrics/report.hpp"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <vector>

namespace dcar::metrics {

namespace {

using Row = std::vector<std::string>;

std::string fixed(double v, int decimals) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}

std::string percent(double fraction) { return fixed(100 * fraction, 2); }

// First column left-aligned, the others right-aligned, two spaces apart; no trailing blanks.
std::string render(const std::vector<Row>& rows) {
    std::vector<size_t> width;
    for (const auto& row : rows)
        for (size_t c = 0; c < row.size(); ++c) {
            if (width.size() <= c) width.push_back(0);
            width[c] = std::max(width[c], row[c].size());
        }
    std::string out;
    for (const auto& row : rows) {
        std::string line;
        for (size_t c = 0; c < row.size(); ++c) {
            const std::string pad(width[c] - row[c].size(), ' ');
            if (c == 0) line += row[c] + pad;
            else line += "  " + pad + row[c];
        }
        while (!line.empty() && line.back() == ' ') line.pop_back();
        out += line + '\n';
    }
    return out;
}

void add_direction(std::vector<Row>& rows, const std::string& name, const DirectionMetrics& m) {
    Row row = {name}, pess = {name + " pessimistic"};
    for (size_t i = 0; i < m.recall.size(); ++i) {
        row.push_back(percent(m.recall[i]));
        pess.push_back(percent(m.recall_pessimistic[i]));
    }
    row.insert(row.end(), {fixed(m.mean_rank, 2), fixed(m.median_rank, 1), std::to_string(m.count)});
    pess.insert(pess.end(), {fixed(m.mean_rank_pessimistic, 2), fixed(m.median_rank_pessimistic, 1), std::to_string(m.count)});
    rows.push_back(row);
    rows.push_back(pess);
}

std::string count_line(const char* what, size_t kept, size_t excluded) {
    std::string s = std::string(what) + ": " + std::to_string(kept);
    if (excluded) s += " (" + std::to_string(excluded) + " excluded)";
    return s;
}

}  // namespace

std::string format_table(const ScoreResult& r, bool per_class) {
    std::string out;
    if (!r.dataset.empty()) out += "dataset: " + r.dataset + "  ";
    out += "model: " + r.model + "\n";
    out += count_line("images", r.images, r.images_excluded) + "  " + count_line("captions", r.texts, r.texts_excluded) +
           "  pairs: " + std::to_string(r.pairs);
    if (r.manifest_skipped) out += "  manifest records skipped: " + std::to_string(r.manifest_skipped);
    out += "\n\n";

    std::vector<Row> rows;
    Row head = {"direction"};
    for (int k : r.ks) head.push_back("R@" + std::to_string(k));
    head.insert(head.end(), {"mean rank", "median rank", "N"});
    rows.push_back(head);
    add_direction(rows, "i2t", r.i2t);
    add_direction(rows, "t2i", r.t2i);
    out += render(rows);

    if (per_class && !r.per_class.empty()) {
        std::vector<Row> classes;
        Row chead = {"class", "images", "captions"};
        for (int k : r.ks) chead.push_back("i2t R@" + std::to_string(k));
        for (int k : r.ks) chead.push_back("t2i R@" + std::to_string(k));
        classes.push_back(chead);
        for (const auto& c : r.per_class) {
            Row row = {c.name, std::to_string(c.images), std::to_string(c.texts)};
            for (double v : c.i2t_recall) row.push_back(percent(v));
            for (double v : c.t2i_recall) row.push_back(percent(v));
            classes.push_back(row);
        }
        out += "\n" + render(classes);
    }
    return out;
}

std::string format_json(const ScoreResult& r) {
    using Json = nlohmann::ordered_json;
    Json metrics = Json::object();
    const auto at = [](int k) { return "@" + std::to_string(k); };
    for (size_t i = 0; i < r.ks.size(); ++i) metrics["image_retrieval_recall" + at(r.ks[i])] = r.t2i.recall[i];
    for (size_t i = 0; i < r.ks.size(); ++i) metrics["text_retrieval_recall" + at(r.ks[i])] = r.i2t.recall[i];
    const auto add_direction_keys = [&](const std::string& prefix, const DirectionMetrics& m) {
        for (size_t i = 0; i < r.ks.size(); ++i) metrics[prefix + "_recall" + at(r.ks[i])] = m.recall[i];
        for (size_t i = 0; i < r.ks.size(); ++i) metrics[prefix + "_recall_pessimistic" + at(r.ks[i])] = m.recall_pessimistic[i];
        metrics[prefix + "_mean_rank"] = m.mean_rank;
        metrics[prefix + "_median_rank"] = m.median_rank;
        metrics[prefix + "_mean_rank_pessimistic"] = m.mean_rank_pessimistic;
        metrics[prefix + "_median_rank_pessimistic"] = m.median_rank_pessimistic;
    };
    add_direction_keys("i2t", r.i2t);
    add_direction_keys("t2i", r.t2i);
    Json per_class = Json::object();
    for (const auto& c : r.per_class) {
        Json entry = {{"images", c.images}, {"texts", c.texts}};
        for (size_t i = 0; i < r.ks.size(); ++i) entry["i2t_recall" + at(r.ks[i])] = c.i2t_recall[i];
        for (size_t i = 0; i < r.ks.size(); ++i) entry["t2i_recall" + at(r.ks[i])] = c.t2i_recall[i];
        per_class[c.name] = entry;
    }
    Json record = {
        {"dataset", r.dataset},
        {"model", r.model},
        {"pretrained", r.pretrained},
        {"task", "zeroshot_retrieval"},
        {"metrics", metrics},
        {"language", r.language},
        {"counts",
         {{"images", r.images},
          {"texts", r.texts},
          {"pairs", r.pairs},
          {"images_excluded", r.images_excluded},
          {"texts_excluded", r.texts_excluded},
          {"manifest_skipped", r.manifest_skipped}}},
        {"per_class", per_class},
    };
    // Ids come from user files and need not be UTF-8; replace rather than throw.
    return record.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
}

void write_report(const ScoreResult& result, bool json, bool per_class, io::Sink& sink) {
    sink.write(json ? format_json(result) : format_table(result, per_class));
}

}  // namespace dcar::metrics
