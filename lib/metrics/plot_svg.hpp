// A hand-written SVG plot of the recall curves: R@K for K = 1 … max(50, largest K) in both directions, with
// axes, ticks, a grid, a legend and a title. No plotting library: the picture is small and its structure
// fixed, and plain SVG opens in any browser.
#pragma once
#include <string>

#include "io/sink.hpp"
#include "metrics/score.hpp"

namespace dcar::metrics {

// The whole SVG document. Each curve is one <path> with id "i2t" or "t2i"; the chosen K values are marked.
std::string format_recall_svg(const ScoreResult& result);

// Writes the SVG to `sink` and commits it (a file sink renames into place only then).
void write_recall_svg(const ScoreResult& result, io::Sink& sink);

}  // namespace dcar::metrics
