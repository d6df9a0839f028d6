// binary16 conversion against values whose encodings are known, and round-to-nearest-even behaviour.
#include <cmath>
#include <gtest/gtest.h>

#include "core/half.hpp"

using namespace dcar;

TEST(Half, KnownEncodings) {
    EXPECT_EQ(float_to_half(0.0f), 0x0000);
    EXPECT_EQ(float_to_half(-0.0f), 0x8000);
    EXPECT_EQ(float_to_half(1.0f), 0x3c00);
    EXPECT_EQ(float_to_half(-2.0f), 0xc000);
    EXPECT_EQ(float_to_half(65504.0f), 0x7bff);
    EXPECT_EQ(float_to_half(1e6f), 0x7c00);               // overflow → inf
    EXPECT_EQ(float_to_half(5.960464477539063e-8f), 0x0001);  // smallest subnormal
    EXPECT_EQ(float_to_half(0.333251953125f), 0x3555);
    EXPECT_EQ(half_to_float(0x3555), 0.333251953125f);
    EXPECT_EQ(half_to_float(0x0001), 5.960464477539063e-8f);
    EXPECT_TRUE(std::isinf(half_to_float(0x7c00)));
    EXPECT_TRUE(std::isnan(half_to_float(float_to_half(NAN))));
}

TEST(Half, RoundsToNearestEven) {
    // 1 + 2^-11 is halfway between 1 and the next half (1 + 2^-10): ties go to the even mantissa (1.0).
    EXPECT_EQ(float_to_half(1.0f + std::ldexp(1.0f, -11)), 0x3c00);
    // 1 + 3·2^-11 is halfway between 1+2^-10 (odd) and 1+2^-9 (even).
    EXPECT_EQ(float_to_half(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);
    EXPECT_EQ(float_to_half(1.0f + std::ldexp(1.0f, -11) + std::ldexp(1.0f, -20)), 0x3c01);
}

TEST(Half, EveryHalfRoundTrips) {
    for (uint32_t h = 0; h < 0x10000; ++h) {
        const float f = half_to_float(uint16_t(h));
        if (std::isnan(f)) continue;
        ASSERT_EQ(float_to_half(f), h) << "half " << h;
    }
}
