// Bit-level conversions; written out so the torch-free core needs no half-precision library.
#include "core/half.hpp"

#include <cstring>

namespace dcar {

float half_to_float(uint16_t h) {
    const uint32_t sign = uint32_t(h & 0x8000) << 16;
    uint32_t exponent = (h >> 10) & 0x1f;
    uint32_t mantissa = h & 0x3ff;
    uint32_t bits;
    if (exponent == 0x1f) {
        bits = sign | 0x7f800000u | (mantissa << 13);
    } else if (exponent != 0) {
        bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
    } else if (mantissa == 0) {
        bits = sign;
    } else {  // subnormal half: normalise it
        exponent = 113;
        while ((mantissa & 0x400) == 0) {
            mantissa <<= 1;
            --exponent;
        }
        mantissa &= 0x3ff;
        bits = sign | (exponent << 23) | (mantissa << 13);
    }
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
}

uint16_t float_to_half(float f) {
    uint32_t bits;
    std::memcpy(&bits, &f, sizeof bits);
    const uint16_t sign = uint16_t((bits >> 16) & 0x8000);
    const uint32_t abs = bits & 0x7fffffffu;
    if (abs >= 0x7f800000u) {  // inf or NaN (keep NaN quiet and non-zero)
        return uint16_t(sign | 0x7c00 | (abs > 0x7f800000u ? 0x200 | ((abs >> 13) & 0x3ff) : 0));
    }
    if (abs >= 0x477ff000u) return uint16_t(sign | 0x7c00);  // rounds to beyond the largest half
    if (abs < 0x38800000u) {                                  // below the smallest normal half
        if (abs < 0x33000000u) return sign;                   // below half of the smallest subnormal
        const uint32_t exponent = abs >> 23;
        const uint32_t mantissa = (abs & 0x7fffff) | 0x800000;
        const uint32_t shift = 126 - exponent;  // 14..24
        uint32_t half_mantissa = mantissa >> shift;
        const uint32_t rest = mantissa & ((1u << shift) - 1);
        const uint32_t halfway = 1u << (shift - 1);
        if (rest > halfway || (rest == halfway && (half_mantissa & 1))) ++half_mantissa;
        return uint16_t(sign | half_mantissa);
    }
    uint32_t h = ((abs >> 13) - (112u << 10));
    const uint32_t rest = abs & 0x1fff;
    if (rest > 0x1000 || (rest == 0x1000 && (h & 1))) ++h;  // may carry into the exponent: still correct
    return uint16_t(sign | h);
}

void halves_to_floats(const uint16_t* in, float* out, size_t n) {
    for (size_t i = 0; i < n; ++i) out[i] = half_to_float(in[i]);
}

void floats_to_halves(const float* in, uint16_t* out, size_t n) {
    for (size_t i = 0; i < n; ++i) out[i] = float_to_half(in[i]);
}

}  // namespace dcar
