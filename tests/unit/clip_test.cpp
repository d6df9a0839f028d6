// The CLIP towers: OpenAI's own outputs for a residual attention block and a tiny ViT (clip_data.json from
// modelzoo, generated with OpenAI's model.py) reproduced within 1e-5; the causal mask; the prompt hooks
// (neutral when empty, layer-0 text prompts equal to feeding the embeddings, visual prompts effective,
// gradients reaching prompts and nothing else); reduced-precision agreement; input checks.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "clip_fixture.hpp"
#include "core/error.hpp"
#include "model/clip.hpp"

namespace dcar::model {
namespace {

using nlohmann::json;
using testing::max_abs_diff;
using testing::min_cosine;
using testing::fixture_weights;
using testing::tiny_config;

const json& clip_data() {
    static const json data = [] {
        std::ifstream in(DCAR_CLIP_DATA);
        if (!in) throw std::runtime_error(std::string("cannot open ") + DCAR_CLIP_DATA);
        return json::parse(in);
    }();
    return data;
}

// clip_data.json stores tensors as nested lists (Python's tolist()); the shape is the nesting.
void flatten(const json& j, size_t depth, std::vector<int64_t>& shape, std::vector<float>& values) {
    if (!j.is_array()) {
        if (depth != shape.size()) throw std::runtime_error("ragged nested list");
        values.push_back(j.get<float>());
        return;
    }
    if (depth == shape.size())
        shape.push_back(static_cast<int64_t>(j.size()));
    else if (shape[depth] != static_cast<int64_t>(j.size()))
        throw std::runtime_error("ragged nested list");
    for (const auto& e : j) flatten(e, depth + 1, shape, values);
}

at::Tensor tensor_from_json(const json& j) {
    std::vector<int64_t> shape;
    std::vector<float> values;
    flatten(j, 0, shape, values);
    return at::from_blob(values.data(), shape, at::kFloat).clone();
}

TensorMap tensors_from_json(const json& j) {
    TensorMap out;
    for (const auto& [name, value] : j.items()) out[name] = tensor_from_json(value);
    return out;
}

struct Tiny {
    Clip model;
    at::Tensor pixels, ids, eot;
};

// The tiny model with two images and three token rows (EOT at 4, 9 and 15 = the last slot).
const Tiny& tiny() {
    static const Tiny t = [] {
        Tiny x;
        const ClipConfig c = tiny_config();
        x.model = Clip::from_weights(fixture_weights(c, 42), c);
        at::manual_seed(7);
        x.pixels = at::randn({2, 3, 32, 32});
        x.ids = at::zeros({3, 16}, at::kLong);
        const int64_t eots[] = {4, 9, 15};
        for (int64_t r = 0; r < 3; ++r) {
            x.ids[r][0] = 98;
            x.ids[r].narrow(0, 1, eots[r] - 1).copy_(at::randint(1, 98, {eots[r] - 1}, at::kLong));
            x.ids[r][eots[r]] = 99;
        }
        x.eot = at::tensor({4, 9, 15}, at::kLong);
        return x;
    }();
    return t;
}

using testing::expect_error;

// ---- OpenAI's own outputs ------------------------------------------------------------------------------------

TEST(ClipOpenAI, ResidualAttentionBlockMatches) {
    const json& d = clip_data();
    const ResidualBlock block = residual_block_from(tensors_from_json(d["attn_weights"]), "");
    const at::Tensor x = tensor_from_json(d["attn_input"]);  // [batch, tokens, d_model]; OpenAI ran it as [L, N, D]
    ASSERT_EQ(x.sizes().vec(), d["attn_input_shape"].get<std::vector<int64_t>>());
    const at::Tensor expected = tensor_from_json(d["attn_output"]);
    const int64_t heads = d["attn_config"]["n_head"].get<int64_t>();
    const double diff = max_abs_diff(residual_block_forward(block, x, heads), expected);
    std::cout << "[ attn block ] max |C++ - OpenAI| = " << diff << "\n";
    EXPECT_LT(diff, 1e-5);
    // The comparison is sharp enough to catch a wrong head split.
    EXPECT_GT(max_abs_diff(residual_block_forward(block, x, 1), expected), 1e-3);
}

TEST(ClipOpenAI, TinyVisionTransformerMatches) {
    const json& d = clip_data();
    const auto& cfg = d["vit_config"];
    const VisionTower tower = vision_tower_from(tensors_from_json(d["vit_weights"]), "", cfg["heads"].get<int64_t>());
    EXPECT_EQ(tower.blocks.size(), cfg["layers"].get<size_t>());
    EXPECT_EQ(tower.patch_size, cfg["patch_size"].get<int64_t>());
    // The generator stored the image as NHWC (permute(0, 2, 3, 1)); the tower takes NCHW.
    const at::Tensor pixels = tensor_from_json(d["vit_input"]).permute({0, 3, 1, 2}).contiguous();
    ASSERT_EQ(pixels.sizes().vec(), d["vit_input_shape"].get<std::vector<int64_t>>());
    const at::Tensor expected = tensor_from_json(d["vit_output"]);
    const at::Tensor out = vision_forward(tower, pixels);
    ASSERT_EQ(out.sizes(), expected.sizes());
    const double diff = max_abs_diff(out, expected);
    std::cout << "[ tiny ViT ] max |C++ - OpenAI| = " << diff << "\n";
    EXPECT_LT(diff, 1e-5);
    VisionTower one_head = tower;
    one_head.heads = 1;
    EXPECT_GT(max_abs_diff(vision_forward(one_head, pixels), expected), 1e-3);
}

// ---- configuration -------------------------------------------------------------------------------------------

TEST(ClipConfig, SpecsOfViTB32) {
    ClipConfig c;
    c.embed_dim = 512;
    c.image_resolution = 224;
    c.patch_size = 32;
    c.vision_width = 768;
    c.vision_layers = 12;
    c.vision_heads = 12;
    c.vision_mlp_width = 3072;
    c.context_length = 77;
    c.vocab_size = 49408;
    c.text_width = 512;
    c.text_layers = 12;
    c.text_heads = 8;
    c.text_mlp_width = 2048;
    const auto specs = clip_tensor_specs(c);
    EXPECT_EQ(specs.size(), 302u);  // ViT-B/32's state dict less input_resolution, context_length, vocab_size
    int64_t params = 0;
    for (const auto& s : specs) {
        int64_t n = 1;
        for (int64_t d : s.shape) n *= d;
        params += n;
        if (s.name == "visual.positional_embedding") EXPECT_EQ(s.shape, (std::vector<int64_t>{50, 768}));
    }
    EXPECT_EQ(params, 151277313);  // OpenAI ViT-B/32's parameter count
    EXPECT_EQ(c.describe(),
              "vit patch32 224px width768 layers12 heads12 mlp3072; text ctx77 vocab49408 width512 layers12 heads8 "
              "mlp2048; embed512");
}

TEST(ClipConfig, ParseDeviceAndDtype) {
    EXPECT_EQ(parse_device("cpu"), at::Device(at::kCPU));
    EXPECT_EQ(parse_dtype("bf16"), at::kBFloat16);
    EXPECT_EQ(parse_dtype("float16"), at::kHalf);
    EXPECT_EQ(dtype_name(at::kBFloat16), "bf16");
    expect_error([] { parse_dtype("int8"); }, ErrorCode::usage, "unknown dtype 'int8' (expected fp32, fp16 or bf16)");
    expect_error([] { parse_device("tpu0"); }, ErrorCode::usage,
                 "unknown device 'tpu0' (expected cpu, cuda or cuda:N)");
    if (!at::hasCUDA())
        expect_error([] { parse_device("cuda"); }, ErrorCode::usage,
                     "device 'cuda': this LibTorch was built without CUDA");
}

// ---- text tower ----------------------------------------------------------------------------------------------

TEST(ClipText, TokensAfterEotDoNotMatter) {
    const Tiny& t = tiny();
    const at::Tensor base = encode_text_ids(t.model, t.ids, t.eot);
    at::Tensor changed = t.ids.clone();
    changed[0].narrow(0, 5, 11).fill_(37);  // row 0 ends at 4
    changed[1].narrow(0, 10, 6).fill_(12);  // row 1 ends at 9
    const at::Tensor after = encode_text_ids(t.model, changed, t.eot);
    EXPECT_LT(max_abs_diff(after, base), 1e-6);
    // A token before the EOT does change the feature (the check above is not vacuous).
    changed[0][2] = 55;
    EXPECT_GT(max_abs_diff(encode_text_ids(t.model, changed, t.eot)[0], base[0]), 1e-3);
}

TEST(ClipText, TrimmingAfterTheLastEotIsExact) {
    const Tiny& t = tiny();
    const at::Tensor rows = t.ids.narrow(0, 0, 2), eot = t.eot.narrow(0, 0, 2);  // EOTs at 4 and 9
    const at::Tensor full = encode_text_ids(t.model, rows, eot);
    const at::Tensor trimmed = encode_text_ids(t.model, rows.narrow(1, 0, 10), eot);
    EXPECT_LT(max_abs_diff(full, trimmed), 1e-5);
}

TEST(ClipText, EmbeddingsPathEqualsIdsPath) {
    const Tiny& t = tiny();
    const at::Tensor emb = embed_tokens(t.model, t.ids);
    EXPECT_EQ(emb.sizes().vec(), (std::vector<int64_t>{3, 16, 128}));
    EXPECT_TRUE(at::equal(encode_text(t.model, emb, t.eot), encode_text_ids(t.model, t.ids, t.eot)));
}

TEST(ClipText, FindEotTakesTheFirst) {
    const at::Tensor ids = at::tensor({49406, 5, 49407, 49407, 0, 49406, 49407, 0, 0, 0}, at::kLong).view({2, 5});
    EXPECT_TRUE(at::equal(find_eot(ids, 49407), at::tensor({2, 1}, at::kLong)));
    expect_error([&] { find_eot(ids.narrow(1, 0, 2), 49407); }, ErrorCode::mismatch,
                 "row 0 of the token ids has no EOT token (49407)");
}

TEST(ClipText, BadInputsAreMismatches) {
    const Tiny& t = tiny();
    expect_error(
        [&] {
            encode_text_ids(t.model, t.ids, at::tensor({4, 9, 16}, at::kLong));
        },
        ErrorCode::mismatch, "EOT index 16 of row 2 is outside the sequence of 16");
    expect_error([&] { encode_text_ids(t.model, t.ids, t.eot.narrow(0, 0, 2)); }, ErrorCode::mismatch,
                 "EOT indices must be an integer tensor of shape [3], got Long [2]");
    expect_error(
        [&] {
            embed_tokens(t.model, at::zeros({1, 17}, at::kLong));
        },
        ErrorCode::mismatch, "token ids have shape [1, 17] (Long), expected integers [N, L] with 1 <= L <= 16");
    expect_error(
        [&] {
            embed_tokens(t.model, at::full({1, 3}, 100, at::kLong));
        },
        ErrorCode::mismatch, "token ids must lie in [0, 100)");
}

// ---- image tower ---------------------------------------------------------------------------------------------

TEST(ClipImage, ShapeAndBatchIndependence) {
    const Tiny& t = tiny();
    const at::Tensor both = encode_image(t.model, t.pixels);
    EXPECT_EQ(both.sizes().vec(), (std::vector<int64_t>{2, 32}));
    EXPECT_LT(max_abs_diff(encode_image(t.model, t.pixels.narrow(0, 1, 1))[0], both[1]), 1e-5);
    expect_error(
        [&] {
            encode_image(t.model, at::zeros({1, 3, 224, 224}));
        },
        ErrorCode::mismatch, "image batch has shape [1, 3, 224, 224], the model expects [N, 3, 32, 32]");
}

// ---- prompt hooks --------------------------------------------------------------------------------------------

TEST(ClipPrompts, EmptyPromptsArePlainForward) {
    const Tiny& t = tiny();
    TextPrompts tp{{at::zeros({0, 128}), at::Tensor(), at::zeros({0, 128})}};
    EXPECT_TRUE(at::equal(encode_text_ids(t.model, t.ids, t.eot, &tp), encode_text_ids(t.model, t.ids, t.eot)));
    TextPrompts none;
    EXPECT_TRUE(at::equal(encode_text_ids(t.model, t.ids, t.eot, &none), encode_text_ids(t.model, t.ids, t.eot)));
    VisualPrompts vp{{at::zeros({0, 192}), at::zeros({0, 192})}};
    EXPECT_TRUE(at::equal(encode_image(t.model, t.pixels, &vp), encode_image(t.model, t.pixels)));
}

TEST(ClipPrompts, LayerZeroTextPromptsEqualFeedingTheirEmbeddings) {
    const Tiny& t = tiny();
    at::manual_seed(3);
    const at::Tensor v0 = 0.5 * at::randn({2, 128});
    const at::Tensor emb = embed_tokens(t.model, t.ids);
    TextPrompts tp{{v0}};
    const at::Tensor prompted = encode_text(t.model, emb, t.eot, &tp);
    at::Tensor fed = emb.clone();
    fed.narrow(1, 1, 2).copy_(v0.unsqueeze(0).expand({3, 2, 128}));
    EXPECT_LT(max_abs_diff(prompted, encode_text(t.model, fed, t.eot)), 1e-6);
    EXPECT_GT(max_abs_diff(prompted, encode_text(t.model, emb, t.eot)), 1e-3);
    // Per-row prompts [N, k, W] equal the shared form when the rows agree.
    TextPrompts rows{{v0.unsqueeze(0).expand({3, 2, 128}).contiguous()}};
    EXPECT_TRUE(at::equal(encode_text(t.model, emb, t.eot, &rows), prompted));
}

TEST(ClipPrompts, DeepTextPromptsChangeTheOutput) {
    const Tiny& t = tiny();
    at::manual_seed(4);
    const at::Tensor base = encode_text_ids(t.model, t.ids, t.eot);
    TextPrompts deep{{at::Tensor(), at::randn({2, 128})}};
    EXPECT_GT(max_abs_diff(encode_text_ids(t.model, t.ids, t.eot, &deep), base), 1e-3);
    TextPrompts too_deep{{at::Tensor(), at::Tensor(), at::Tensor(), at::randn({2, 128})}};
    expect_error([&] { encode_text_ids(t.model, t.ids, t.eot, &too_deep); }, ErrorCode::mismatch,
                 "text prompt for layer 3, but the tower has only 3 blocks (layers 0..2)");
    TextPrompts wide{{at::randn({2, 64})}};
    expect_error([&] { encode_text_ids(t.model, t.ids, t.eot, &wide); }, ErrorCode::mismatch,
                 "text prompt for layer 0 has shape [2, 64], expected [k, 128] or [3, k, 128]");
}

TEST(ClipPrompts, VisualPromptsAppendAndReplace) {
    const Tiny& t = tiny();
    at::manual_seed(5);
    const at::Tensor base = encode_image(t.model, t.pixels);
    const at::Tensor e0 = at::randn({2, 192}), e1 = at::randn({2, 192});
    VisualPrompts shallow{{e0}};
    const at::Tensor appended = encode_image(t.model, t.pixels, &shallow);
    EXPECT_EQ(appended.sizes(), base.sizes());
    EXPECT_GT(max_abs_diff(appended, base), 1e-3);
    VisualPrompts deep{{e0, e1}};
    EXPECT_GT(max_abs_diff(encode_image(t.model, t.pixels, &deep), appended), 1e-3);
    // Prompts reach the class token only through attention: the token order of the appended prompts is
    // irrelevant (no positional embedding), so swapping them changes nothing.
    VisualPrompts swapped{{e0.flip(0)}};
    EXPECT_LT(max_abs_diff(encode_image(t.model, t.pixels, &swapped), appended), 1e-5);
    VisualPrompts mismatched{{e0, at::randn({3, 192})}};
    expect_error([&] { encode_image(t.model, t.pixels, &mismatched); }, ErrorCode::mismatch,
                 "visual prompt for layer 1 has 3 tokens, but layer 0 appended 2");
    VisualPrompts orphan{{at::Tensor(), e1}};
    expect_error([&] { encode_image(t.model, t.pixels, &orphan); }, ErrorCode::mismatch,
                 "visual prompt for layer 1 replaces appended prompt tokens, but layer 0 appends none");
}

TEST(ClipPrompts, GradientsReachPromptsAndNoClipWeight) {
    const Tiny& t = tiny();
    at::manual_seed(6);
    std::vector<at::Tensor> leaves;
    auto leaf = [&](std::vector<int64_t> shape) {
        leaves.push_back((0.02 * at::randn(shape)).requires_grad_(true));
        return leaves.back();
    };
    TextPrompts tp{{leaf({2, 128}), leaf({2, 128}), leaf({2, 128})}};
    VisualPrompts vp{{leaf({2, 192}), leaf({2, 192})}};
    const at::Tensor img = encode_image(t.model, t.pixels, &vp);
    const at::Tensor txt = encode_text_ids(t.model, t.ids, t.eot, &tp);
    (img.pow(2).sum() + txt.pow(2).sum()).backward();
    for (size_t i = 0; i < leaves.size(); ++i) {
        ASSERT_TRUE(leaves[i].grad().defined()) << "prompt " << i;
        EXPECT_GT(leaves[i].grad().abs().sum().item<double>(), 0) << "prompt " << i;
    }
    std::vector<at::Tensor> weights = {t.model.visual.conv1_weight,         t.model.visual.class_embedding,
                                       t.model.visual.positional_embedding, t.model.visual.proj,
                                       t.model.text.token_embedding,        t.model.text.positional_embedding,
                                       t.model.text.text_projection,        t.model.logit_scale};
    for (const auto* blocks : {&t.model.visual.blocks, &t.model.text.blocks})
        for (const auto& b : *blocks)
            for (const auto& w : {b.ln_1.weight, b.in_proj_weight, b.in_proj_bias, b.out_proj_weight, b.fc_weight,
                                  b.proj_weight, b.ln_2.bias})
                weights.push_back(w);
    for (const auto& w : weights) {
        EXPECT_FALSE(w.requires_grad());
        EXPECT_FALSE(w.grad().defined());
    }
}

// ---- dtypes --------------------------------------------------------------------------------------------------

void check_reduced_precision(at::Device device, at::ScalarType dtype) {
    const Tiny& t = tiny();
    const Clip reduced = t.model.to(device, dtype);
    EXPECT_EQ(reduced.dtype(), dtype);
    EXPECT_EQ(reduced.visual.blocks[0].ln_1.weight.scalar_type(), at::kFloat);  // layer norms stay fp32
    EXPECT_EQ(reduced.text.token_embedding.scalar_type(), dtype);
    const at::Tensor img = encode_image(reduced, t.pixels), txt = encode_text_ids(reduced, t.ids, t.eot);
    EXPECT_EQ(img.scalar_type(), dtype);
    const double ci = min_cosine(img, encode_image(t.model, t.pixels));
    const double ct = min_cosine(txt, encode_text_ids(t.model, t.ids, t.eot));
    std::cout << "[ " << dtype_name(dtype) << " on " << device << " ] min cosine vs fp32: image " << ci << ", text "
              << ct << "\n";
    EXPECT_GE(ci, 0.999);
    EXPECT_GE(ct, 0.999);
}

TEST(ClipDtype, Bf16MatchesFp32) { check_reduced_precision(at::kCPU, at::kBFloat16); }

TEST(ClipDtype, Fp16MatchesFp32WhereKernelsExist) {
    if (at::hasCUDA()) check_reduced_precision(at::Device(at::kCUDA, 0), at::kHalf);
    if (dtype_supported(at::kCPU, at::kHalf)) {
        check_reduced_precision(at::kCPU, at::kHalf);
    } else {
        expect_error([] { tiny().model.to(at::kCPU, at::kHalf); }, ErrorCode::usage,
                     "fp16 has no kernels on cpu in this LibTorch (1.13 lacks fp16 CPU kernels; use bf16 or fp32 "
                     "there)");
        if (!at::hasCUDA()) GTEST_SKIP() << "no fp16 kernels on this machine (CPU-only LibTorch 1.13)";
    }
}

TEST(ClipDtype, ToSameDtypeSharesWeights) {
    const Tiny& t = tiny();
    const Clip same = t.model.to(at::kCPU, at::kFloat);
    EXPECT_TRUE(same.visual.proj.is_same(t.model.visual.proj));
    expect_error([&] { t.model.to(at::kCPU, at::kLong); }, ErrorCode::usage,
                 "CLIP runs in fp32, fp16 or bf16, not Long");
}

}  // namespace
}  // namespace dcar::model
