// Test helpers shared by clip_test.cpp and weights_test.cpp: a tiny CLIP configuration (the same sizes as
// tests/unit/clip_reference.py builds in Python) with random weights made in C++, so most model tests need no
// Python, plus the comparisons the tests report (max absolute difference, row-wise cosine).
#pragma once
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "core/error.hpp"
#include "model/clip.hpp"

namespace dcar::model::testing {

// Runs f and expects a dcar::Error with exactly this code and message.
inline void expect_error(const std::function<void()>& f, ErrorCode code, const std::string& message) {
    try {
        f();
        ADD_FAILURE() << "no error; expected: " << message;
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), code) << e.what();
        EXPECT_EQ(std::string(e.what()), message);
    }
}

// Heads = width / 64 as in OpenAI's rule, with two heads per tower so the head split is exercised.
inline ClipConfig tiny_config() {
    ClipConfig c;
    c.embed_dim = 32;
    c.image_resolution = 32;
    c.patch_size = 8;
    c.vision_width = 192;
    c.vision_layers = 2;
    c.vision_heads = 3;
    c.vision_mlp_width = 768;
    c.context_length = 16;
    c.vocab_size = 100;
    c.text_width = 128;
    c.text_layers = 3;
    c.text_heads = 2;
    c.text_mlp_width = 512;
    return c;
}

// Random weights with sensible scales (LN gains near 1, matrices ~ 1/√fan_in) so activations stay O(1) and a
// wrong head split or a missing mask shows up as a large difference rather than hiding in noise.
inline TensorMap fixture_weights(const ClipConfig& config, uint64_t seed) {
    at::manual_seed(seed);
    TensorMap out;
    for (const auto& spec : clip_tensor_specs(config)) {
        const std::string& n = spec.name;
        at::Tensor t;
        auto ends = [&](const char* s) {
            const std::string suffix(s);
            return n.size() >= suffix.size() && n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0;
        };
        if (n == "logit_scale") {
            t = at::full({}, std::log(1 / 0.07));
        } else if (ends("ln_1.weight") || ends("ln_2.weight") || ends("ln_pre.weight") || ends("ln_post.weight") ||
                   ends("ln_final.weight")) {
            t = 1 + 0.1 * at::randn(spec.shape);
        } else if (ends("embedding") || ends("embedding.weight")) {
            t = 0.5 * at::randn(spec.shape);
        } else if (spec.shape.size() == 1) {
            t = 0.1 * at::randn(spec.shape);
        } else {
            const bool bare = n == "visual.proj" || n == "text_projection";  // [in, out]
            int64_t fan_in = 1;
            for (size_t i = 1; i < spec.shape.size(); ++i) fan_in *= spec.shape[i];
            if (bare) fan_in = spec.shape[0];
            t = at::randn(spec.shape) / std::sqrt(static_cast<double>(fan_in));
        }
        out[n] = t;
    }
    return out;
}

inline double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
    return (a.to(at::kCPU, at::kDouble) - b.to(at::kCPU, at::kDouble)).abs().max().item<double>();
}

// The smallest cosine similarity between corresponding rows.
inline double min_cosine(const at::Tensor& a, const at::Tensor& b) {
    const at::Tensor x = a.to(at::kCPU, at::kDouble), y = b.to(at::kCPU, at::kDouble);
    return ((x * y).sum(-1) / (x.norm(2, -1) * y.norm(2, -1))).min().item<double>();
}

}  // namespace dcar::model::testing
