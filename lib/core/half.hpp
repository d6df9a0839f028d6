// IEEE 754 binary16 ↔ binary32 conversion for the f16 element type of streams and .npy files.
// Rounding is to nearest, ties to even, as numpy and CUDA do; NaN and infinities are preserved.
#pragma once
#include <cstddef>
#include <cstdint>

namespace dcar {

float half_to_float(uint16_t h);
uint16_t float_to_half(float f);
void halves_to_floats(const uint16_t* in, float* out, size_t n);
void floats_to_halves(const float* in, uint16_t* out, size_t n);

}  // namespace dcar
