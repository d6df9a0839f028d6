// Deterministic randomness for everything dcar draws on the host (negatives, shot sampling, shuffles,
// augmentation): the same numbers on every platform and standard library, unlike std:: distributions.
#pragma once
#include <cstddef>
#include <cstdint>

namespace dcar {

// splitmix64.
class Rng {
public:
    explicit Rng(uint64_t seed) : state_(seed) {}
    uint64_t next() {
        uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    // Uniform in [0, n), n > 0, without modulo bias.
    size_t below(size_t n) {
        const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
        uint64_t x;
        do x = next();
        while (x >= limit);
        return size_t(x % n);
    }
    // Uniform in [0, 1), 53 random bits.
    double unit() { return double(next() >> 11) * (1.0 / 9007199254740992.0); }
    double uniform(double lo, double hi) { return lo + (hi - lo) * unit(); }
    bool chance(double p) { return unit() < p; }

private:
    uint64_t state_;
};

// MurmurHash3's 64-bit finaliser: spreads seeds built from small numbers.
inline uint64_t mix(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

// A seed for the stream named by (seed, a, b): independent streams for e.g. (epoch, example).
inline uint64_t stream_seed(uint64_t seed, uint64_t a, uint64_t b = 0) {
    return mix(seed ^ mix(a * 0x9e3779b97f4a7c15ULL + mix(b + 0x5bd1e995ULL)));
}

}  // namespace dcar
