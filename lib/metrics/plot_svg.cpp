// SVG drawing by string building. Coordinates are rounded to 0.01 px so the file is small and stable across
// runs; text from the user (dataset and model names) is XML-escaped, since a model fingerprint or a dataset
// name may hold '&' or '<'.
#include "metrics/plot_svg.hpp"

#include <algorithm>
#include <cstdio>
#include <utility>
#include <vector>

namespace dcar::metrics {

namespace {

constexpr double width = 720, height = 480;
constexpr double left = 70, right = 30, top = 50, bottom = 84;
constexpr double plot_w = width - left - right, plot_h = height - top - bottom;

std::string num(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", v);
    return buf;
}

std::string escape_xml(const std::string& s) {
    std::string out;
    for (char c : s) {
        switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&quot;"; break;
        default: out += c;
        }
    }
    return out;
}

// A tick step of 1, 2 or 5 × 10^n giving at most about eight intervals.
int tick_step(int max_k) {
    for (int scale = 1;; scale *= 10)
        for (int m : {1, 2, 5})
            if (max_k / (m * scale) <= 8) return m * scale;
}

struct Axes {
    int max_k;
    double x(double k) const { return left + (k - 1) / double(max_k - 1) * plot_w; }
    double y(double fraction) const { return top + (1 - fraction) * plot_h; }
};

std::string curve_path(const Axes& axes, const std::vector<double>& curve, const char* id, const char* colour) {
    std::string d;
    for (size_t i = 0; i < curve.size(); ++i)
        d += (i ? " L" : "M") + num(axes.x(double(i + 1))) + " " + num(axes.y(curve[i]));
    return std::string("<path id=\"") + id + "\" class=\"curve\" d=\"" + d + "\" fill=\"none\" stroke=\"" + colour +
           "\" stroke-width=\"2\"/>\n";
}

std::string markers(const Axes& axes, const std::vector<double>& curve, const std::vector<int>& ks, const char* colour) {
    std::string out;
    for (int k : ks)
        if (k >= 1 && size_t(k) <= curve.size())
            out += "<circle cx=\"" + num(axes.x(k)) + "\" cy=\"" + num(axes.y(curve[size_t(k) - 1])) + "\" r=\"3.5\" fill=\"" +
                   colour + "\"><title>R@" + std::to_string(k) + " = " + num(100 * curve[size_t(k) - 1]) + "%</title></circle>\n";
    return out;
}

}  // namespace

std::string format_recall_svg(const ScoreResult& r) {
    const int max_k = int(std::max(r.i2t.curve.size(), r.t2i.curve.size()));
    const Axes axes{std::max(max_k, 2)};
    const char* i2t_colour = "#1f77b4";
    const char* t2i_colour = "#d62728";
    std::string title = "Recall@K";
    if (!r.dataset.empty()) title += " \xE2\x80\x94 " + r.dataset;
    title += " (" + r.model + ")";

    std::string s;
    s += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    s += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(width) + "\" height=\"" + num(height) +
         "\" viewBox=\"0 0 " + num(width) + " " + num(height) + "\" font-family=\"sans-serif\" font-size=\"12\">\n";
    s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
    s += "<text x=\"" + num(width / 2) + "\" y=\"28\" text-anchor=\"middle\" font-size=\"16\">" + escape_xml(title) + "</text>\n";

    // Grid and y ticks every 20 %.
    s += "<g class=\"y-axis\" stroke=\"#ddd\">\n";
    for (int p = 0; p <= 100; p += 20) {
        const double y = axes.y(p / 100.0);
        s += "<line x1=\"" + num(left) + "\" y1=\"" + num(y) + "\" x2=\"" + num(left + plot_w) + "\" y2=\"" + num(y) + "\"/>\n";
        s += "<text x=\"" + num(left - 8) + "\" y=\"" + num(y + 4) + "\" text-anchor=\"end\" stroke=\"none\" fill=\"black\">" +
             std::to_string(p) + "</text>\n";
    }
    s += "</g>\n";
    // x ticks at K = 1 and at multiples of the step.
    s += "<g class=\"x-axis\" stroke=\"black\">\n";
    const int step = tick_step(axes.max_k);
    std::vector<int> ticks = {1};
    for (int k = step; k <= axes.max_k; k += step)
        if (k > 1) ticks.push_back(k);
    for (int k : ticks) {
        const double x = axes.x(k);
        s += "<line x1=\"" + num(x) + "\" y1=\"" + num(top + plot_h) + "\" x2=\"" + num(x) + "\" y2=\"" + num(top + plot_h + 5) + "\"/>\n";
        s += "<text x=\"" + num(x) + "\" y=\"" + num(top + plot_h + 19) + "\" text-anchor=\"middle\" stroke=\"none\">" +
             std::to_string(k) + "</text>\n";
    }
    s += "</g>\n";
    s += "<rect x=\"" + num(left) + "\" y=\"" + num(top) + "\" width=\"" + num(plot_w) + "\" height=\"" + num(plot_h) +
         "\" fill=\"none\" stroke=\"black\"/>\n";
    s += "<text x=\"" + num(left + plot_w / 2) + "\" y=\"" + num(top + plot_h + 40) + "\" text-anchor=\"middle\">K</text>\n";
    s += "<text x=\"18\" y=\"" + num(top + plot_h / 2) + "\" text-anchor=\"middle\" transform=\"rotate(-90 18 " +
         num(top + plot_h / 2) + ")\">Recall@K (%)</text>\n";

    s += curve_path(axes, r.i2t.curve, "i2t", i2t_colour);
    s += curve_path(axes, r.t2i.curve, "t2i", t2i_colour);
    s += markers(axes, r.i2t.curve, r.ks, i2t_colour);
    s += markers(axes, r.t2i.curve, r.ks, t2i_colour);

    // Legend below the axes: inside the plot it would hide some part of a curve, whatever the corner.
    const double ly = height - 16, lx = left + plot_w / 2 - 200;
    s += "<g class=\"legend\">\n";
    const std::pair<const char*, const char*> entries[] = {{"image\xE2\x86\x92text (i2t)", i2t_colour}, {"text\xE2\x86\x92image (t2i)", t2i_colour}};
    for (int i = 0; i < 2; ++i) {
        const double x = lx + 220 * i;
        s += "<line x1=\"" + num(x) + "\" y1=\"" + num(ly - 4) + "\" x2=\"" + num(x + 30) + "\" y2=\"" + num(ly - 4) +
             "\" stroke=\"" + entries[i].second + "\" stroke-width=\"2\"/>\n";
        s += "<text x=\"" + num(x + 38) + "\" y=\"" + num(ly) + "\">" + entries[i].first + "</text>\n";
    }
    s += "</g>\n</svg>\n";
    return s;
}

void write_recall_svg(const ScoreResult& result, io::Sink& sink) {
    sink.write(format_recall_svg(result));
    sink.commit();
}

}  // namespace dcar::metrics
