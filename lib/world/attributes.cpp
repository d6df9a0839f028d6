// The world's vocabularies and colours (docs/WORLD.md §1–§3), and the per-image nuisance draw.
#include "core/error.hpp"
#include "world/detail.hpp"
#include "world/world.hpp"

namespace dcar::world {

namespace {

template <typename T, size_t N>
const T& pick(const T (&values)[N], int i, const char* what) {
    if (i < 0 || size_t(i) >= N) throw Error(ErrorCode::internal, std::string("no such ") + what + " " + std::to_string(i));
    return values[i];
}

const char* const families[] = {"star", "flower", "gear", "tile", "cushion", "pinwheel"};
const char* const part_nouns[] = {"points", "petals", "teeth", "sides", "lobes", "blades"};
const char* const numbers[] = {"three", "four", "five", "six"};
const char* const rims[] = {"solid", "dashed", "dotted", "double"};
const char* const mark_colours[] = {"red", "blue", "yellow", "green"};
const char* const mark_shapes[] = {"dot", "ring", "cross", "bar"};
const char* const sizes[] = {"small", "medium", "large"};
const char* const tints[] = {"grey", "tan", "pink", "lavender", "brown"};
const char* const orientations[] = {"upright", "tilted"};
const char* const positions[] = {"top left", "top",    "top right",   "left",        "centre",
                                 "right",    "bottom left", "bottom", "bottom right"};
const char* const backgrounds[] = {"white", "black", "navy", "sky", "olive", "beige"};
const char* const patterns[] = {"plain", "striped", "spotted"};

const Rgb mark_rgb[] = {{214, 40, 40}, {40, 80, 214}, {240, 200, 30}, {40, 160, 70}};
const Rgb tint_colours[] = {{150, 150, 150}, {200, 165, 115}, {232, 160, 185}, {172, 152, 220}, {140, 95, 60}};
const Rgb background_colours[] = {{238, 238, 238}, {28, 28, 28}, {30, 42, 92}, {160, 198, 232}, {104, 116, 56}, {228, 216, 188}};

}  // namespace

const char* split_name(Split split) {
    switch (split) {
        case Split::pretrain: return "pretrain";
        case Split::train: return "train";
        case Split::test: return "test";
    }
    return "?";
}

const char* family_name(int family) { return pick(families, family, "family"); }
const char* part_noun(int family) { return pick(part_nouns, family, "family"); }
const char* number_word(int parts) { return pick(numbers, parts - 3, "part count"); }
const char* rim_name(int rim) { return pick(rims, rim, "rim"); }
const char* mark_colour_name(int colour) { return pick(mark_colours, colour, "mark colour"); }
const char* mark_shape_name(int shape) { return pick(mark_shapes, shape, "mark shape"); }
const char* size_name(int size) { return pick(sizes, size, "size"); }
const char* tint_name(int tint) { return pick(tints, tint, "tint"); }
const char* orientation_name(int o) { return pick(orientations, o, "orientation"); }
const char* position_name(int cell) { return pick(positions, cell, "position"); }
const char* background_name(int bg) { return pick(backgrounds, bg, "background"); }
const char* pattern_name(int pattern) { return pick(patterns, pattern, "pattern"); }

Rgb mark_colour_rgb(int colour) { return pick(mark_rgb, colour, "mark colour"); }
Rgb tint_rgb(int tint) { return pick(tint_colours, tint, "tint"); }
Rgb background_rgb(int bg) { return pick(background_colours, bg, "background"); }

Nuisance draw_nuisance(uint64_t seed) {
    // The order of draws is part of the world's definition: changing it changes every image.
    detail::Rng rng(seed);
    Nuisance n;
    n.size = int(rng.below(size_count));
    n.size_factor = rng.uniform(0.95, 1.05);
    n.tint = int(rng.below(tint_count));
    for (int& j : n.tint_jitter) j = int(rng.below(21)) - 10;
    n.orientation = int(rng.below(orientation_count));
    const double tilt = rng.uniform(0.15, 0.35);
    const bool clockwise = rng.below(2) == 0;
    const double wobble = rng.uniform(-0.03, 0.03);
    n.turn = n.orientation == 0 ? wobble : (clockwise ? tilt : -tilt);
    n.position = int(rng.below(position_count));
    n.position_u[0] = rng.unit();
    n.position_u[1] = rng.unit();
    n.background = int(rng.below(background_count));
    n.pattern = int(rng.below(pattern_count));
    n.pattern_angle = rng.uniform(0, detail::pi);
    n.pattern_phase[0] = rng.unit();
    n.pattern_phase[1] = rng.unit();
    n.mark_angle = rng.uniform(0, 2 * detail::pi);
    n.noise_seed = rng.next();
    return n;
}

}  // namespace dcar::world
