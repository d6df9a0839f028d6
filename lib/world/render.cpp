// The rasteriser (docs/WORLD.md §1–§3). The scene is evaluated on a grid 4× finer than the image and box-
// averaged. The body is star-shaped around its centre, so inside/outside is one lookup in a table of its
// radius by angle. The rim needs the distance to the silhouette and, for dashes and dots, the arc position of
// the nearest silhouette point: an exact Euclidean distance transform of the body mask gives each inside
// sample its nearest outside sample, and the silhouette's arc length, stamped onto the samples it passes
// through, gives that sample's arc position. (The radial gap to the silhouette would be a poor distance on
// steep flanks such as gear teeth and pinwheel blades.)
#include <algorithm>
#include <cmath>
#include <limits>

#include "world/detail.hpp"
#include "world/world.hpp"

namespace dcar::world {

namespace {

using detail::frac;
using detail::pi;

constexpr int supersample = 4;     // samples per pixel side
constexpr int table_size = 4096;   // radius-by-angle entries over a full turn
// The sizes of a world version (docs/WORLD.md §2–§3): version 2 draws larger bodies with a wider rim and a
// larger mark, so that every class attribute spans several of a small ViT's patches.
struct Geometry {
    double radius_of_size[3];  // outer radius / image side, for small, medium, large
    double rim_width;          // of the outer radius
    double mark_radius;        // of the outer radius
};
constexpr Geometry geometry_v1 = {{0.24, 0.30, 0.36}, 0.11, 0.32};
constexpr Geometry geometry_v2 = {{0.30, 0.34, 0.38}, 0.15, 0.34};
const Geometry& geometry_of(int version) { return version == 1 ? geometry_v1 : geometry_v2; }
constexpr double edge_margin = 0.03;  // of the image side, between the body and the image edge

// r/R of a family's silhouette at position f ∈ [0, 1) within one part's period (docs/WORLD.md §1).
double silhouette(int family, int parts, double f) {
    const double period = 2 * pi / parts;
    switch (family) {
        case 0: {  // star: outer vertex 1 at f = 0, inner vertex 0.5 at f = 1/2, straight edges
            const double alpha = period / 2, phi = (f <= 0.5 ? f : 1 - f) * period;
            const double r1 = 1.0, r2 = 0.5;
            return r1 * r2 * detail::sin(alpha) / (r1 * detail::sin(phi) + r2 * detail::sin(alpha - phi));
        }
        case 1:  // flower
            return 0.5 + 0.5 * std::sqrt(std::fabs(detail::cos(pi * f)));
        case 2: {  // gear
            const double g = f < 0.5 ? f : 1 - f;
            if (g <= 0.18) return 1.0;
            if (g >= 0.28) return 0.78;
            return 1.0 - 0.22 * (g - 0.18) / 0.10;
        }
        case 3: {  // tile: regular polygon with vertices at radius 1
            const double phi = f * period;
            return detail::sin(period) / (detail::sin(phi) + detail::sin(period - phi));
        }
        case 4:  // cushion
            return 0.86 + 0.14 * detail::cos(2 * pi * f);
        default:  // pinwheel
            return f < 0.88 ? 1.0 - 0.45 * f / 0.88 : 0.55 + 0.45 * (f - 0.88) / 0.12;
    }
}

uint8_t clamp_byte(int v) { return uint8_t(v < 0 ? 0 : v > 255 ? 255 : v); }

Rgb shade_of(Rgb c) {
    const int delta = (c.r + c.g + c.b) < 3 * 128 ? 26 : -26;
    return {clamp_byte(c.r + delta), clamp_byte(c.g + delta), clamp_byte(c.b + delta)};
}

double position_coordinate(int g, double u, double room) {
    return 0.5 + room * (g == 0 ? 0.4 * u - 0.2 : g * (0.8 + 0.2 * u));
}

// Squared distance from each cell of a w × h mask (true = inside) to the nearest outside cell, and that cell,
// by Felzenszwalb and Huttenlocher's two passes of lower envelopes of parabolas. Every column must hold an
// outside cell (the caller's box has an outside border).
struct DistanceField {
    int w = 0, h = 0;
    std::vector<double> d2;
    std::vector<int> site_x, site_y;
};

DistanceField distance_field(const std::vector<uint8_t>& inside, int w, int h) {
    const double far = 1e30;
    DistanceField out;
    out.w = w;
    out.h = h;
    out.d2.assign(size_t(w) * h, far);
    out.site_x.assign(size_t(w) * h, -1);
    out.site_y.assign(size_t(w) * h, -1);
    std::vector<int> near_y(size_t(w) * h, -1);  // per column: the nearest outside row
    std::vector<double> column_d2(size_t(w) * h, far);
    for (int x = 0; x < w; ++x) {
        int last = -1;
        for (int y = 0; y < h; ++y) {
            if (!inside[size_t(y) * w + x]) last = y;
            near_y[size_t(y) * w + x] = last;
        }
        int next = -1;
        for (int y = h - 1; y >= 0; --y) {
            if (!inside[size_t(y) * w + x]) next = y;
            int& n = near_y[size_t(y) * w + x];
            if (next >= 0 && (n < 0 || next - y < y - n)) n = next;
            if (n >= 0) column_d2[size_t(y) * w + x] = double(y - n) * double(y - n);
        }
    }
    const double infinity = std::numeric_limits<double>::infinity();
    std::vector<int> v(w);
    std::vector<double> z(size_t(w) + 1);
    for (int y = 0; y < h; ++y) {
        const double* f = &column_d2[size_t(y) * w];
        auto meet = [f](int q, int p) { return ((f[q] + double(q) * q) - (f[p] + double(p) * p)) / (2.0 * q - 2.0 * p); };
        int k = 0;
        v[0] = 0;
        z[0] = -infinity;
        z[1] = infinity;
        for (int q = 1; q < w; ++q) {
            double s = meet(q, v[k]);
            while (s <= z[k]) s = meet(q, v[--k]);  // z[0] = -inf stops it at k = 0
            ++k;
            v[k] = q;
            z[k] = s;
            z[k + 1] = infinity;
        }
        k = 0;
        for (int x = 0; x < w; ++x) {
            while (z[k + 1] < x) ++k;
            const int p = v[k];
            const size_t at = size_t(y) * w + x;
            out.d2[at] = double(x - p) * double(x - p) + f[p];
            out.site_x[at] = p;
            out.site_y[at] = near_y[size_t(y) * w + p];
        }
    }
    return out;
}

}  // namespace

Layout layout_of(const Scene& scene, int size) {
    const Nuisance& n = scene.nuisance;
    const Geometry& g = geometry_of(scene.version);
    const double r = g.radius_of_size[n.size] * n.size_factor;  // in image sides
    const double room = std::max(0.0, 0.5 - r - edge_margin);
    Layout l;
    l.radius = r * size;
    l.mark_radius = g.mark_radius * l.radius;
    l.cx = position_coordinate(n.position % 3 - 1, n.position_u[0], room) * size;
    l.cy = position_coordinate(n.position / 3 - 1, n.position_u[1], room) * size;
    l.rotation = n.turn * 2 * pi / scene.attributes.parts;
    return l;
}

std::vector<uint8_t> render(const Scene& scene, int size) {
    const Nuisance& n = scene.nuisance;
    const ClassAttributes& a = scene.attributes;
    const int parts = a.parts;
    const int big = size * supersample;
    const double scale = supersample;
    const Layout layout = layout_of(scene, size);
    const double cx = layout.cx * scale, cy = layout.cy * scale, radius = layout.radius * scale;
    const double rotation = layout.rotation;

    // Colours.
    const Rgb background = background_rgb(n.background), shade = shade_of(background);
    const Rgb tint = tint_rgb(n.tint);
    const Rgb body = {clamp_byte(tint.r + n.tint_jitter[0]), clamp_byte(tint.g + n.tint_jitter[1]),
                      clamp_byte(tint.b + n.tint_jitter[2])};
    const Rgb rim = {uint8_t((body.r * 45 + 50) / 100), uint8_t((body.g * 45 + 50) / 100),
                     uint8_t((body.b * 45 + 50) / 100)};
    const Rgb mark = mark_colour_rgb(a.mark_colour);

    // Background, every sample (plain: one colour).
    std::vector<uint8_t> samples(size_t(big) * big * 3);
    for (size_t i = 0; i < samples.size(); i += 3) {
        samples[i] = background.r;
        samples[i + 1] = background.g;
        samples[i + 2] = background.b;
    }
    const double stripe_c = detail::cos(n.pattern_angle), stripe_s = detail::sin(n.pattern_angle);
    const double spot = 0.025 / 0.14;
    for (int y = 0; y < big && n.pattern != 0; ++y) {
        const double py = (y + 0.5) / big;
        for (int x = 0; x < big; ++x) {
            const double px = (x + 0.5) / big;
            bool shaded = false;
            if (n.pattern == 1) {
                shaded = frac((px * stripe_c + py * stripe_s) / 0.12 + n.pattern_phase[0]) < 0.5;
            } else if (n.pattern == 2) {
                const double v = py / 0.14 + n.pattern_phase[1];
                const double row = std::floor(v);
                const double u = px / 0.14 + n.pattern_phase[0] + (frac(row / 2) != 0 ? 0.5 : 0.0);
                const double du = frac(u) - 0.5, dv = frac(v) - 0.5;
                shaded = du * du + dv * dv < spot * spot;
            }
            const Rgb c = shaded ? shade : background;
            uint8_t* out = &samples[(size_t(y) * big + x) * 3];
            out[0] = c.r;
            out[1] = c.g;
            out[2] = c.b;
        }
    }

    // The silhouette: radius by angle (clockwise from straight up, relative to the body's rotation), and as a
    // closed polyline with its arc length.
    std::vector<double> radius_table(table_size + 1), bx(table_size + 1), by(table_size + 1), arc(table_size + 1);
    for (int k = 0; k <= table_size; ++k) {
        const double turn = double(k % table_size) / table_size;
        radius_table[k] = radius * silhouette(scene.family, parts, frac(turn * parts));
        double s, c;
        detail::sincos(rotation + 2 * pi * turn, s, c);
        bx[k] = cx + radius_table[k] * s;
        by[k] = cy - radius_table[k] * c;
        arc[k] = k == 0 ? 0.0 : arc[k - 1] + std::sqrt((bx[k] - bx[k - 1]) * (bx[k] - bx[k - 1]) + (by[k] - by[k - 1]) * (by[k] - by[k - 1]));
    }
    const double perimeter = arc[table_size];

    // The box around the body, with a border of outside samples (the body keeps a margin from the edge).
    const int x0 = std::max(0, int(std::floor(cx - radius)) - 2), x1 = std::min(big, int(std::ceil(cx + radius)) + 3);
    const int y0 = std::max(0, int(std::floor(cy - radius)) - 2), y1 = std::min(big, int(std::ceil(cy + radius)) + 3);
    const int w = x1 - x0, h = y1 - y0;
    std::vector<uint8_t> inside(size_t(w) * h, 0);
    const double r_inner = 0.5 * radius;  // every silhouette contains this disc
    for (int y = y0; y < y1; ++y) {
        for (int x = x0; x < x1; ++x) {
            const double dx = x + 0.5 - cx, dy = y + 0.5 - cy;
            const double rho2 = dx * dx + dy * dy;
            bool in;
            if (rho2 >= radius * radius) {
                in = false;
            } else if (rho2 < r_inner * r_inner) {
                in = true;
            } else {
                const double turn = frac((detail::atan2(dx, -dy) - rotation) / (2 * pi));
                const double at = turn * table_size;
                const int k = std::min(int(at), table_size - 1);
                const double t = at - k;
                const double r = radius_table[k] * (1 - t) + radius_table[k + 1] * t;
                in = rho2 < r * r;
            }
            inside[size_t(y - y0) * w + (x - x0)] = in;
        }
    }

    // Arc position, stamped on the 2 × 2 samples around points every ≤ 0.25 samples along the silhouette.
    std::vector<double> stamp_arc(size_t(w) * h, -1.0), stamp_d2(size_t(w) * h, 1e30);
    for (int k = 0; k < table_size; ++k) {
        const double len = arc[k + 1] - arc[k];
        const int steps = std::max(1, int(std::ceil(len / 0.25)));
        for (int i = 0; i < steps; ++i) {
            const double t = double(i) / steps;
            const double px = bx[k] + t * (bx[k + 1] - bx[k]), py = by[k] + t * (by[k + 1] - by[k]);
            const double s = arc[k] + t * len;
            const int sx = int(std::floor(px - 0.5)), sy = int(std::floor(py - 0.5));
            for (int yy = sy; yy <= sy + 1; ++yy)
                for (int xx = sx; xx <= sx + 1; ++xx) {
                    if (xx < x0 || xx >= x1 || yy < y0 || yy >= y1) continue;
                    const double ex = xx + 0.5 - px, ey = yy + 0.5 - py;
                    const size_t at = size_t(yy - y0) * w + (xx - x0);
                    if (ex * ex + ey * ey < stamp_d2[at]) {
                        stamp_d2[at] = ex * ex + ey * ey;
                        stamp_arc[at] = s;
                    }
                }
        }
    }
    auto arc_at = [&](int sx, int sy) {
        const double s = stamp_arc[size_t(sy) * w + sx];
        if (s >= 0) return s;
        // A site the stamps missed (rare, at sharp corners): the nearest stamped sample around it.
        double best = 1e30, found = 0;
        for (int dy = -2; dy <= 2; ++dy)
            for (int dx = -2; dx <= 2; ++dx) {
                const int xx = sx + dx, yy = sy + dy;
                if (xx < 0 || xx >= w || yy < 0 || yy >= h) continue;
                const double t = stamp_arc[size_t(yy) * w + xx];
                if (t >= 0 && dx * dx + dy * dy < best) {
                    best = dx * dx + dy * dy;
                    found = t;
                }
            }
        return found;
    };

    const DistanceField field = distance_field(inside, w, h);
    const double rim_w = geometry_of(scene.version).rim_width * radius;
    const int dashes = std::max(3, int(std::floor(perimeter / (4.5 * rim_w) + 0.5)));
    const int dots = std::max(3, int(std::floor(perimeter / (2.4 * rim_w) + 0.5)));
    const double dash_period = perimeter / dashes, dot_period = perimeter / dots;
    const double m = layout.mark_radius * scale;
    double mark_s, mark_c;
    detail::sincos(n.mark_angle, mark_s, mark_c);

    for (int y = y0; y < y1; ++y) {
        for (int x = x0; x < x1; ++x) {
            const size_t at = size_t(y - y0) * w + (x - x0);
            if (!inside[at]) continue;
            const double depth = std::sqrt(field.d2[at]) - 0.5;
            Rgb c = body;
            if (depth < 1.2 * rim_w) {
                bool on = false;
                switch (a.rim) {
                    case 0: on = depth < rim_w; break;
                    case 1:
                        on = depth < rim_w && frac(arc_at(field.site_x[at], field.site_y[at]) / dash_period) < 0.55;
                        break;
                    case 2: {
                        const double ds = (frac(arc_at(field.site_x[at], field.site_y[at]) / dot_period) - 0.5) * dot_period;
                        const double dd = depth - 0.55 * rim_w;
                        on = ds * ds + dd * dd < (0.55 * rim_w) * (0.55 * rim_w);
                        break;
                    }
                    default: on = depth < 0.4 * rim_w || (depth >= 0.8 * rim_w && depth < 1.2 * rim_w); break;
                }
                if (on) c = rim;
            }
            const double dx = x + 0.5 - cx, dy = y + 0.5 - cy;
            if (dx * dx + dy * dy < 2 * m * m) {
                const double u = dx * mark_c + dy * mark_s, v = -dx * mark_s + dy * mark_c;
                const double au = std::fabs(u), av = std::fabs(v), r2 = u * u + v * v;
                bool on = false;
                switch (a.mark_shape) {
                    case 0: on = r2 < (0.75 * m) * (0.75 * m); break;
                    case 1: on = r2 >= (0.55 * m) * (0.55 * m) && r2 < m * m; break;
                    case 2: on = (au < 0.22 * m && av < m) || (av < 0.22 * m && au < m); break;
                    default: on = au < m && av < 0.28 * m; break;
                }
                if (on) c = mark;
            }
            uint8_t* out = &samples[(size_t(y) * big + x) * 3];
            out[0] = c.r;
            out[1] = c.g;
            out[2] = c.b;
        }
    }

    // Box filter, then noise.
    std::vector<uint8_t> image(size_t(size) * size * 3);
    detail::Rng noise(n.noise_seed);
    constexpr int per_pixel = supersample * supersample;
    for (int y = 0; y < size; ++y) {
        for (int x = 0; x < size; ++x) {
            int sum[3] = {0, 0, 0};
            for (int j = 0; j < supersample; ++j) {
                const uint8_t* row = &samples[((size_t(y) * supersample + j) * big + size_t(x) * supersample) * 3];
                for (int i = 0; i < supersample * 3; i += 3) {
                    sum[0] += row[i];
                    sum[1] += row[i + 1];
                    sum[2] += row[i + 2];
                }
            }
            uint8_t* out = &image[(size_t(y) * size + x) * 3];
            for (int ch = 0; ch < 3; ++ch)
                out[ch] = clamp_byte((sum[ch] + per_pixel / 2) / per_pixel + int(noise.below(13)) - 6);
        }
    }
    return image;
}

}  // namespace dcar::world
