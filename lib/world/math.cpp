// The elementary functions of detail.hpp, from basic arithmetic only, so that they round identically
// everywhere.
#include <cmath>

#include "world/detail.hpp"

namespace dcar::world::detail {

void sincos(double x, double& s, double& c) {
    // x = k·(pi/2) + r with |r| <= pi/4; pi/2 is split in two parts so the reduction stays exact for |x| < 1e6.
    constexpr double pio2_hi = 1.57079632673412561417e+00;
    constexpr double pio2_lo = 6.07710050650619224932e-11;
    const double k = std::floor(x * (2.0 / pi) + 0.5);
    const double r = (x - k * pio2_hi) - k * pio2_lo;
    const double r2 = r * r;
    const double sr =
        r * (1.0 + r2 * (-1.0 / 6 + r2 * (1.0 / 120 + r2 * (-1.0 / 5040 + r2 * (1.0 / 362880 +
             r2 * (-1.0 / 39916800 + r2 * (1.0 / 6227020800.0 + r2 * (-1.0 / 1307674368000.0))))))));
    const double cr =
        1.0 + r2 * (-0.5 + r2 * (1.0 / 24 + r2 * (-1.0 / 720 + r2 * (1.0 / 40320 + r2 * (-1.0 / 3628800 +
              r2 * (1.0 / 479001600.0 + r2 * (-1.0 / 87178291200.0 + r2 * (1.0 / 20922789888000.0))))))));
    const int64_t q = int64_t(k) & 3;
    if (q == 0) {
        s = sr;
        c = cr;
    } else if (q == 1) {
        s = cr;
        c = -sr;
    } else if (q == 2) {
        s = -sr;
        c = -cr;
    } else {
        s = -cr;
        c = sr;
    }
}

namespace {

// atan(x) for 0 <= x <= 1.
double atan_unit(double x) {
    constexpr double tan_pi_12 = 0.26794919243112270647;
    constexpr double inv_sqrt3 = 0.57735026918962576451;
    double offset = 0;
    if (x > tan_pi_12) {  // atan(x) = pi/6 + atan((x - 1/√3) / (1 + x/√3)), which lands in [-tan(pi/12), tan(pi/12)]
        x = (x - inv_sqrt3) / (1.0 + x * inv_sqrt3);
        offset = pi / 6;
    }
    const double x2 = x * x;
    const double p = x * (1.0 + x2 * (-1.0 / 3 + x2 * (1.0 / 5 + x2 * (-1.0 / 7 + x2 * (1.0 / 9 +
                     x2 * (-1.0 / 11 + x2 * (1.0 / 13 + x2 * (-1.0 / 15))))))));
    return offset + p;
}

}  // namespace

double atan2(double y, double x) {
    const double ax = x < 0 ? -x : x, ay = y < 0 ? -y : y;
    if (ax == 0 && ay == 0) return 0;
    double a = ay <= ax ? atan_unit(ay / ax) : pi / 2 - atan_unit(ax / ay);
    if (x < 0) a = pi - a;
    return y < 0 ? -a : a;
}

}  // namespace dcar::world::detail
