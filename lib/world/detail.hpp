// Internal to lib/world: the random generator and the elementary functions the world is built from. Both
// are written out here, rather than taken from <random> and <cmath>, so that a seed gives the same world on
// every platform: std:: distributions are implementation-defined, and libm's sin/cos/atan2 may differ in the
// last bit between C libraries. Only IEEE-754 basic arithmetic, sqrt and floor are used (the library is
// compiled with -ffp-contract=off so no fused multiply-add changes a rounding).
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <initializer_list>

#include "core/random.hpp"

namespace dcar::world::detail {

constexpr double pi = 3.14159265358979323846;

// The project's generator and mixer (core/random.hpp).
using dcar::mix;
using dcar::Rng;

// A seed for one purpose: the world seed and a list of small integers (purpose tag, split, family, ...).
inline uint64_t derive_seed(uint64_t seed, std::initializer_list<uint64_t> parts) {
    uint64_t h = mix(seed ^ 0x5bd1e9955bd1e995ULL);
    for (uint64_t p : parts) h = mix(h ^ mix(p + 0x9e3779b97f4a7c15ULL));
    return h;
}

// In [0, 1). floor is exact in every C library.
inline double frac(double x) { return x - std::floor(x); }

// sin and cos of x (|x| < 1e6): reduction to [-pi/4, pi/4] by quarter turns, then Taylor polynomials
// (error below 1e-15 there).
void sincos(double x, double& s, double& c);
inline double sin(double x) {
    double s, c;
    sincos(x, s, c);
    return s;
}
inline double cos(double x) {
    double s, c;
    sincos(x, s, c);
    return c;
}
// atan2(y, x) in (-pi, pi]; error below 1e-9.
double atan2(double y, double x);

}  // namespace dcar::world::detail
