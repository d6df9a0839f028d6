// Training (lib/train): the DCAR objective on a small CLIP of the real vocabulary — a frozen backbone, gradients
// exactly where they belong, a falling loss; token weights (DTR) and the category loss on constructed cases
// with known answers; the optimisers against PyTorch's update rules; dcar-tune's resume equal to an
// uninterrupted run; checkpoints refusing another backbone.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <vips/vips8>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "clip_fixture.hpp"
#include "model/preprocess.hpp"
#include "model/safetensors.hpp"
#include "model/tokenizer.hpp"
#include "model/weights.hpp"
#include "prompts/checkpoint.hpp"
#include "prompts/encode.hpp"
#include "prompts/inference.hpp"
#include "negatives/negatives.hpp"
#include "train/objective.hpp"
#include "train/optimizer.hpp"
#include "train/tune.hpp"
#include "train/tune_options.hpp"
#include "core/text.hpp"

namespace dcar::train {
namespace {

namespace fs = std::filesystem;
using model::testing::expect_error;

// A small CLIP whose text side takes CLIP's real ids (vocabulary 49408), two blocks per tower.
model::Clip small_clip(uint64_t seed = 3) {
    const model::ClipConfig config =
        model::clip_config_from_spec("image=32,patch=8,width=64,layers=2,text-width=64,text-layers=2,embed=32,context=24");
    model::Clip clip = model::Clip::from_weights(model::random_weights(config, seed), config);
    clip.fingerprint = model::weights_fingerprint(clip.weights());
    return clip;
}

// B images of distinct colours, each with a positive and two candidates built from a few ids.
StepBatch small_batch(int64_t k, int64_t b = 4) {
    at::manual_seed(11);
    StepBatch batch;
    batch.pixels = at::randn({b, 3, 32, 32});
    static std::vector<std::vector<int32_t>> captions;
    captions.clear();
    for (int64_t i = 0; i < b; ++i)
        for (int j = 0; j < 3; ++j) captions.push_back({320, static_cast<int32_t>(1000 + 7 * i + j), 530, static_cast<int32_t>(2000 + i)});
    std::vector<const std::vector<int32_t>*> rows;
    for (const auto& c : captions) rows.push_back(&c);
    batch.texts = make_text_batch(rows, k);
    batch.candidates = 2;
    batch.weights = at::tensor({1.5f, 1.0f, 1.5f}).repeat({b, 1}).view({b, 3});
    return batch;
}

std::vector<int32_t> batch_ids(const StepBatch& batch) {
    std::vector<int32_t> ids;
    const at::Tensor masked = batch.texts.ids.masked_select(batch.texts.caption);
    for (int64_t i = 0; i < masked.numel(); ++i) ids.push_back(static_cast<int32_t>(masked[i].item<int64_t>()));
    return ids;
}

struct DcarParts {
    PromptSet prompts;
    Caa caa;
    TokenFeatures features;
    WeightTable table;
    ObjectiveConfig config;
    Optimizer::Parameters trainable() {
        Optimizer::Parameters out = prompts.named_tensors();
        for (auto& p : caa.named_tensors()) out.push_back(p);
        return out;
    }
};

DcarParts dcar_parts(const model::Clip& clip, const StepBatch& batch) {
    PromptConfig pc{2, 2, true, VisualMode::coupled, ""};
    DcarParts p{PromptSet::create(clip, pc, nullptr, 5), Caa::create(clip.config.embed_dim, {}, 6), {}, WeightTable(clip.config.vocab_size), {}};
    p.features.add(clip, batch_ids(batch));
    p.config.lambda = 1.0;
    p.config.dtr = DtrMode::pair;
    p.config.update_table = true;
    return p;
}

// The epoch's batches: every example once (but a dropped last single), deterministic in (seed, epoch), other
// in another epoch; with groups (--hard-batches), no batch mixes two, and every group is cut on its own; with a
// share (--hard-batch-share), that share of the examples is so batched and the rest mixed.
TEST(TrainBatches, OrderCoversEveryExampleAndHardBatchesKeepOneGroup) {
    const size_t count = 103, batch = 8;
    std::vector<std::string> groups;
    for (size_t i = 0; i < count; ++i) groups.push_back(i % 3 == 0 ? "star" : i % 3 == 1 ? "gear" : "tile");
    auto covered = [&](const std::vector<std::vector<size_t>>& batches) {
        std::vector<int> seen(count, 0);
        for (const auto& b : batches) {
            EXPECT_GE(b.size(), 2u);
            EXPECT_LE(b.size(), batch);
            for (size_t i : b) ++seen[i];
        }
        return seen;
    };
    const auto plain = batch_order(count, {}, batch, 7, 0);
    const auto seen = covered(plain);
    EXPECT_EQ(std::count(seen.begin(), seen.end(), 1), 103);  // 12 batches of 8 and one of 7
    EXPECT_EQ(plain, batch_order(count, {}, batch, 7, 0));
    EXPECT_NE(plain, batch_order(count, {}, batch, 7, 1));
    bool mixed = false;
    for (const auto& b : plain)
        for (size_t i : b) mixed = mixed || groups[i] != groups[b[0]];
    EXPECT_TRUE(mixed);

    const auto hard = batch_order(count, groups, batch, 7, 0);
    const auto hard_seen = covered(hard);
    EXPECT_EQ(std::count(hard_seen.begin(), hard_seen.end(), 1), 103);  // groups of 35, 34, 34: none left over
    EXPECT_EQ(hard.size(), 15u);                                        // 5 batches a group
    for (const auto& b : hard)
        for (size_t i : b) EXPECT_EQ(groups[i], groups[b[0]]);
    EXPECT_EQ(hard, batch_order(count, groups, batch, 7, 0));
    EXPECT_EQ(hard.size(), batch_order(count, groups, batch, 7, 3).size());
    EXPECT_EQ(hard, batch_order(count, groups, batch, 7, 0, 1.0));

    // --hard-batch-share 0.5: 52 of the 103 are batched by group, the other 51 mixed; each group's part and the
    // mixed part may drop a last single.
    const auto half = batch_order(count, groups, batch, 7, 0, 0.5);
    const auto half_seen = covered(half);
    EXPECT_GE(std::count(half_seen.begin(), half_seen.end(), 1), 99);
    EXPECT_EQ(std::count(half_seen.begin(), half_seen.end(), 2), 0);
    size_t in_one_group = 0, mixed_batches = 0;
    for (const auto& b : half) {
        const bool one = std::all_of(b.begin(), b.end(), [&](size_t i) { return groups[i] == groups[b[0]]; });
        (one ? in_one_group : mixed_batches) += one ? b.size() : 1;
    }
    EXPECT_GE(in_one_group, 49u);
    EXPECT_LE(in_one_group, 60u);
    EXPECT_GE(mixed_batches, 6u);
    EXPECT_EQ(half, batch_order(count, groups, batch, 7, 0, 0.5));
    EXPECT_NE(half, batch_order(count, groups, batch, 7, 1, 0.5));
}

TEST(TrainObjective, BackboneStaysFrozenAndGradientsReachExactlyTheTrainableSet) {
    model::Clip clip = small_clip();
    const model::TensorMap before = [&] {
        model::TensorMap copy;
        for (const auto& [name, t] : clip.weights()) copy[name] = t.clone();
        return copy;
    }();
    const StepBatch batch = small_batch(2);
    DcarParts parts = dcar_parts(clip, batch);
    const Objective objective(clip, &parts.prompts, &parts.caa, &parts.features, &parts.table, parts.config);
    Optimizer::Parameters trainable = parts.trainable();
    Optimizer optimizer(trainable, {});
    model::TensorMap prompts_before;
    for (const auto& [name, t] : parts.prompts.tensors()) prompts_before[name] = t.clone();

    optimizer.zero_grad();
    const StepLosses losses = objective.forward(batch);
    EXPECT_GT(losses.cate, 0);
    losses.total.backward();
    for (auto& [name, t] : trainable) {
        ASSERT_TRUE(t->grad().defined()) << name << " got no gradient";
        EXPECT_GT(t->grad().abs().sum().item<double>(), 0) << name << " has an all-zero gradient";
    }
    for (auto& [name, t] : clip.named_tensors()) {
        EXPECT_FALSE(t->requires_grad()) << name;
        EXPECT_FALSE(t->grad().defined()) << name << " received a gradient";
    }
    optimizer.step(0.01);
    for (int i = 0; i < 2; ++i) {
        optimizer.zero_grad();
        objective.forward(batch).total.backward();
        optimizer.step(0.01);
    }
    for (const auto& [name, t] : clip.weights()) EXPECT_TRUE(at::equal(t, before.at(name))) << name << " changed";
    for (const auto& [name, t] : parts.prompts.tensors()) EXPECT_FALSE(at::equal(t, prompts_before.at(name))) << name << " did not move";
    EXPECT_GT(parts.table.updated_ids(), 0);
}

TEST(TrainObjective, LossFallsOnATinyOverfitSet) {
    model::Clip clip = small_clip();
    const StepBatch batch = small_batch(2);
    DcarParts parts = dcar_parts(clip, batch);
    const Objective objective(clip, &parts.prompts, &parts.caa, &parts.features, &parts.table, parts.config);
    Optimizer::Parameters trainable = parts.trainable();
    Optimizer optimizer(trainable, {});
    double first = 0, last = 0;
    for (int step = 0; step < 40; ++step) {
        optimizer.zero_grad();
        const StepLosses losses = objective.forward(batch);
        losses.total.backward();
        optimizer.step(0.05);
        (step == 0 ? first : last) = losses.total.item<double>();
    }
    std::cout << "[ overfit ] loss " << first << " -> " << last << "\n";
    EXPECT_LT(last, 0.5 * first);
}

TEST(TrainObjective, FullTrainingReachesEveryWeightAndTheTemperature) {
    model::Clip clip = small_clip();
    for (auto& [name, t] : clip.named_tensors()) *t = t->detach().clone().requires_grad_(true);
    const StepBatch batch = small_batch(0);
    const Objective objective(clip, nullptr, nullptr, nullptr, nullptr, {});
    objective.forward(batch).total.backward();
    for (auto& [name, t] : clip.named_tensors()) {
        ASSERT_TRUE(t->grad().defined()) << name;
        if (name != "token_embedding.weight") EXPECT_GT(t->grad().abs().sum().item<double>(), 0) << name;
    }
}

TEST(TrainObjective, InBatchCandidatesWeighTheImagesOwnClass) {
    // No mined candidates: the category loss comes from the batch's other positives alone. When the images
    // share one class every other positive weighs 1 + alpha in the denominator, so the loss is larger than
    // when every class differs (weight 1); without in-batch candidates there is nothing to compare with.
    model::Clip clip = small_clip();
    StepBatch batch = small_batch(2, 4);
    std::vector<std::vector<int32_t>> positives;
    std::vector<const std::vector<int32_t>*> rows;
    for (int64_t i = 0; i < 4; ++i) positives.push_back({320, static_cast<int32_t>(1000 + 7 * i), 530, static_cast<int32_t>(2000 + i)});
    for (const auto& p : positives) rows.push_back(&p);
    batch.texts = make_text_batch(rows, 2);
    batch.candidates = 0;
    batch.weights = at::full({4, 1}, 1.5f);
    DcarParts parts = dcar_parts(clip, batch);
    parts.config.cate_in_batch = true;
    parts.config.alpha = 0.5;
    parts.config.dtr = DtrMode::none;
    parts.config.update_table = false;
    const Objective objective(clip, &parts.prompts, &parts.caa, nullptr, nullptr, parts.config);
    batch.classes = {"a", "b", "c", "d"};
    const double distinct = objective.forward(batch).cate;
    batch.classes = {"a", "a", "a", "a"};
    const double same = objective.forward(batch).cate;
    EXPECT_GT(distinct, 0);
    EXPECT_GT(same, distinct);
    parts.config.cate_in_batch = false;
    const Objective without(clip, &parts.prompts, &parts.caa, nullptr, nullptr, parts.config);
    EXPECT_EQ(without.forward(batch).cate, 0);  // nothing to compare the positive with
}

TEST(Dtr, WeightsFromScoresKnownCase) {
    // Caption tokens at positions 1, 2 and 4 with Δ = 1, 3, 2: mean 2, so 0.5, 1.5, 1; position 3 is not a
    // caption token (weight 1 whatever its score); a row of zeros gets 1 everywhere.
    const at::Tensor delta = at::tensor({0.0f, 1.0f, 3.0f, 9.0f, 2.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f}).view({2, 5});
    const at::Tensor mask = at::tensor({0, 1, 1, 0, 1, 0, 1, 1, 0, 0}).to(at::kBool).view({2, 5});
    DtrConfig config;
    at::Tensor w = weights_from_scores(delta, mask, config);
    EXPECT_TRUE(at::allclose(w, at::tensor({1.0f, 0.5f, 1.5f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f}).view({2, 5})));
    config.w_min = 0.8;
    config.w_max = 1.2;
    w = weights_from_scores(delta, mask, config);
    EXPECT_TRUE(at::allclose(w, at::tensor({1.0f, 0.8f, 1.2f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f}).view({2, 5})));
}

TEST(Dtr, PairWeightsFollowTheBlankDifference) {
    // With the anchor equal to the blank feature every Δ is 0 and every weight 1; moving the anchor along one
    // token's feature raises exactly that token's weight above the others'.
    model::Clip clip = small_clip();
    TokenFeatures features;
    features.add(clip, {1000, 1001, 1002});
    const std::vector<int32_t> caption = {1000, 1001, 1002};
    const TextBatch texts = make_text_batch({&caption}, 0);
    const at::Tensor blank = normalized(at::randn({1, 32}));
    DtrConfig config;
    EXPECT_TRUE(at::equal(pair_weights(features, texts, blank, blank, 100.0, config), at::ones({1, 5})));
    const at::Tensor u = features.lookup(texts.ids, texts.caption, at::kCPU);  // [1, 5, E]
    const at::Tensor anchor = normalized(blank + 0.3 * u[0][2]);
    const at::Tensor w = pair_weights(features, texts, anchor, blank, 100.0, config);
    const at::Tensor delta = (at::matmul(u[0], (blank[0] - anchor[0]))).abs() * 100.0;
    const double mean = delta.narrow(0, 1, 3).mean().item<double>();
    for (int j = 1; j <= 3; ++j)
        EXPECT_NEAR(w[0][j].item<double>(), std::clamp(delta[j].item<double>() / mean, 0.5, 2.0), 1e-5) << j;
    EXPECT_EQ(w[0][0].item<float>(), 1.0f);  // SOT
    EXPECT_EQ(w[0][4].item<float>(), 1.0f);  // EOT
}

TEST(Dtr, BlankImages) {
    const model::Clip clip = small_clip();
    const at::Tensor mean = blank_image(clip, Blank::mean), white = blank_image(clip, Blank::white);
    const at::Tensor noise = blank_image(clip, Blank::noise);
    EXPECT_EQ(noise.sizes(), (std::vector<int64_t>{1, 3, 32, 32}));
    EXPECT_TRUE(at::equal(mean, at::zeros_like(mean)));
    for (int c = 0; c < 3; ++c) EXPECT_EQ(white[0][c].max().item<float>(), white[0][c].min().item<float>()) << "white is flat";
    // Noise: the same image every time, no flat channel, and each channel's pixels spread over [0, 1]
    // (uniform: mean 0.5, standard deviation 1/sqrt(12) before CLIP's normalisation).
    EXPECT_TRUE(at::equal(noise, blank_image(clip, Blank::noise)));
    const double clip_mean[3] = {0.48145466, 0.4578275, 0.40821073}, clip_std[3] = {0.26862954, 0.26130258, 0.27577711};
    for (int c = 0; c < 3; ++c) {
        const at::Tensor raw = noise[0][c] * clip_std[c] + clip_mean[c];
        EXPECT_NEAR(raw.mean().item<double>(), 0.5, 0.03) << c;
        EXPECT_NEAR(raw.std().item<double>(), 1 / std::sqrt(12.0), 0.02) << c;
        EXPECT_GE(raw.min().item<double>(), 0.0);
        EXPECT_LT(raw.max().item<double>(), 1.0);
    }
    EXPECT_EQ(parse_blank("noise"), Blank::noise);
    EXPECT_STREQ(blank_name(Blank::noise), "noise");
}

TEST(Dtr, TableEmaIsSequentialAndInferenceNormalises) {
    WeightTable table(49408);
    const std::vector<int32_t> a = {500, 600, 500};
    const TextBatch texts = make_text_batch({&a}, 1);  // [SOT, slot, 500, 600, 500, EOT]
    const at::Tensor w = at::tensor({1.0f, 1.0f, 2.0f, 0.5f, 1.5f, 1.0f}).view({1, 6});
    table.update(texts, w, 0.9);
    // 500: 0.9·1 + 0.1·2 = 1.1, then 0.9·1.1 + 0.1·1.5 = 1.14; 600: 0.9 + 0.05 = 0.95.
    EXPECT_NEAR(table.weight(500), 1.14, 1e-6);
    EXPECT_NEAR(table.weight(600), 0.95, 1e-6);
    EXPECT_EQ(table.count(500), 2);
    EXPECT_EQ(table.weight(700), 1.0f);
    const at::Tensor rows_off = at::zeros({1}, at::kBool);
    table.update(texts, w, 0.9, rows_off);
    EXPECT_EQ(table.count(500), 2);
    const auto inference = table.weights_for(std::vector<int32_t>{500, 600, 700}, DtrConfig{});
    const double mean = (1.14 + 0.95 + 1.0) / 3;
    EXPECT_NEAR(inference[0], 1.14 / mean, 1e-6);
    EXPECT_NEAR(inference[1], 0.95 / mean, 1e-6);
    EXPECT_NEAR(inference[2], 1.0 / mean, 1e-6);
    const at::Tensor batch_weights = table.weights_for(texts, DtrConfig{});
    EXPECT_EQ(batch_weights[0][0].item<float>(), 1.0f);
    EXPECT_EQ(batch_weights[0][1].item<float>(), 1.0f);  // the prompt slot
    const model::TensorMap saved = table.tensors();
    const WeightTable loaded = WeightTable::from_tensors(saved, "test");
    EXPECT_EQ(loaded.weight(500), table.weight(500));
    EXPECT_EQ(loaded.count(600), 1);

    // A table file keeps the model and the clamp it was made with.
    const std::string path = (fs::temp_directory_path() / ("dcar-table-" + std::to_string(::getpid()) + ".safetensors")).string();
    save_weight_table(path, table, "clip-0123", DtrConfig{0.7, 1.5, 0.9});
    std::string model;
    DtrConfig read;
    const WeightTable from_file = load_weight_table(path, &model, &read);
    EXPECT_EQ(model, "clip-0123");
    EXPECT_DOUBLE_EQ(read.w_min, 0.7);
    EXPECT_DOUBLE_EQ(read.w_max, 1.5);
    EXPECT_DOUBLE_EQ(read.momentum, 0.9);
    EXPECT_EQ(from_file.weight(500), table.weight(500));
    fs::remove(path);
}

TEST(Losses, CategoryLossFormsMatchTheirFormulas) {
    const at::Tensor z = at::tensor({1.0f, 0.0f, 0.0f, 1.0f}).view({2, 2});
    // Image 0: positive cos 0.9, an attribute negative (same class, w 1.5) cos 0.5, a swap (w 1) cos 0.2.
    // Image 1: positive 0.8, one swap 0.6, and an absent candidate (w 0).
    const at::Tensor g = at::tensor({0.9f, 0.1f, 0.5f, 0.2f, 0.2f, 0.3f, 0.1f, 0.8f, 0.3f, 0.6f, 0.0f, 1.0f}).view({2, 3, 2});
    const at::Tensor weights = at::tensor({1.5f, 1.5f, 1.0f, 1.5f, 1.0f, 0.0f}).view({2, 3});
    const at::Tensor s = at::tensor(10.0f);
    auto e = [](double x) { return std::exp(x); };
    const double l0 = -std::log(e(9) / (e(9) + 1.5 * e(5) + e(2)));
    const double l1 = -std::log(e(8) / (e(8) + e(6)));
    EXPECT_NEAR(category_loss(z, g, weights, s, CateForm::denominator).item<double>(), (l0 + l1) / 2, 1e-5);
    auto softplus = [](double x) { return std::log1p(std::exp(x)); };
    const double p0 = (1.5 * softplus(5 - 9) + softplus(2 - 9)) / 2.5, p1 = softplus(6 - 8);
    EXPECT_NEAR(category_loss(z, g, weights, s, CateForm::per_term).item<double>(), (p0 + p1) / 2, 1e-5);
    const double g0 = -std::log(e(13.5) / (e(13.5) + e(7.5) + e(2))), g1 = -std::log(e(12) / (e(12) + e(6)));
    EXPECT_NEAR(category_loss(z, g, weights, s, CateForm::logit).item<double>(), (g0 + g1) / 2, 1e-4);
}

TEST(Losses, ContrastiveBothDirections) {
    const at::Tensor z = at::tensor({1.0f, 0.0f, 0.0f, 1.0f}).view({2, 2});
    const at::Tensor h = at::tensor({0.6f, 0.8f, 0.0f, 1.0f}).view({2, 2});
    const at::Tensor s = at::tensor(2.0f);
    // logits = s·z·hᵀ = [[1.2, 0], [1.6, 2]].
    auto ce = [](double pos, double other) { return -std::log(std::exp(pos) / (std::exp(pos) + std::exp(other))); };
    const double i2t = (ce(1.2, 0) + ce(2, 1.6)) / 2, t2i = (ce(1.2, 1.6) + ce(2, 0)) / 2;
    EXPECT_NEAR(contrastive_loss(z, h, s, ConMode::i2t).item<double>(), i2t, 1e-5);
    EXPECT_NEAR(contrastive_loss(z, h, s, ConMode::sym).item<double>(), (i2t + t2i) / 2, 1e-5);
}

TEST(Negatives, CategoryWeightOnlyWhereTheClassMatches) {
    Candidate same{"x", "Yorkshire Terrier", NegativeKind::attribute, false, 0};
    Candidate other{"x", "Wheaten Terrier", NegativeKind::swap, true, 0};
    Candidate unknown{"x", "", NegativeKind::released, false, 0};
    EXPECT_EQ(category_weight("Yorkshire Terrier", same, 0.5), 1.5);
    EXPECT_EQ(category_weight("Yorkshire Terrier", other, 0.5), 1.0);  // classes known: the flag is not trusted
    EXPECT_EQ(category_weight("yorkshire terrier", same, 0.5), 1.0);  // exact names
    EXPECT_EQ(category_weight("Yorkshire Terrier", unknown, 0.5), 1.0);
    unknown.same_class = true;
    EXPECT_EQ(category_weight("Yorkshire Terrier", unknown, 0.25), 1.25);
}

TEST(Optimizers, FollowPyTorchsUpdateRules) {
    at::Tensor p = at::tensor({1.0f, -2.0f}).requires_grad_(true);
    Optimizer sgd({{"p", &p}}, {"sgd", 0.9, 0.1});
    // Two steps with gradient 2p: d = g + 0.1 p; buf = d, then 0.9 buf + d; p -= 0.5 buf.
    double v0 = 1.0, buf = 0;
    for (int step = 0; step < 2; ++step) {
        sgd.zero_grad();
        (p * p).sum().backward();
        sgd.step(0.5);
        const double d = 2 * v0 + 0.1 * v0;
        buf = step == 0 ? d : 0.9 * buf + d;
        v0 -= 0.5 * buf;
    }
    EXPECT_NEAR(p[0].item<double>(), v0, 1e-6);
    at::Tensor m = at::tensor({1.0f, 2.0f}).view({1, 2}).requires_grad_(true);
    at::Tensor b = at::tensor({3.0f}).requires_grad_(true);
    Optimizer adamw({{"m", &m}, {"b", &b}}, {"adamw", 0.9, 0.5, 0.9, 0.98, 1e-6});
    adamw.zero_grad();
    (m.sum() + b.sum()).backward();
    adamw.step(0.1);
    // First AdamW step: m̂ = g, v̂ = g², so the step is lr·sign(g) (ε aside); decay only on the matrix.
    EXPECT_NEAR(m[0][0].item<double>(), 1.0 * (1 - 0.1 * 0.5) - 0.1, 1e-5);
    EXPECT_NEAR(b[0].item<double>(), 3.0 - 0.1, 1e-5);
    EXPECT_NEAR(scheduled_lr(0, 100, 10, 0.01, 1e-5), 1e-5, 1e-12);
    EXPECT_NEAR(scheduled_lr(10, 100, 10, 0.01, 1e-5), 0.01, 1e-12);
    EXPECT_NEAR(scheduled_lr(55, 100, 10, 0.01, 1e-5), 0.005, 1e-12);
}

// The GPU path of infer_texts: captions sorted by length into groups, each group one padded call, the rows put
// back in input order. Run here on the CPU with the tower itself: each group padded to its own longest gives the
// embeddings each caption gets alone (the causal mask hides what comes after the end token).
TEST(CaptionGroups, LengthGroupsKeepEveryRowAndTheirEmbeddings) {
    const std::vector<size_t> lengths = {5, 1, 9, 1, 3, 9, 2};
    const auto groups = length_groups(lengths, 3);
    const std::vector<std::vector<size_t>> expected = {{1, 3, 6}, {4, 0, 2}, {5}};  // shortest first, ties in order
    EXPECT_EQ(groups, expected);
    EXPECT_EQ(length_groups({}, 4).size(), 0u);
    EXPECT_THROW(length_groups(lengths, 0), Error);

    const model::Clip clip = small_clip(3);
    std::vector<std::vector<int32_t>> captions;
    for (const size_t n : lengths) {
        captions.emplace_back();
        for (size_t j = 0; j < n; ++j) captions.back().push_back(static_cast<int32_t>(400 + 37 * j + 5 * n));
    }
    std::vector<const std::vector<int32_t>*> rows;
    for (const auto& c : captions) rows.push_back(&c);
    const at::Tensor alone = infer_texts(clip, rows, nullptr);  // the CPU: one caption a call
    const at::Tensor grouped = encode_in_groups(groups, [&](const std::vector<size_t>& group) {
        std::vector<const std::vector<int32_t>*> some;
        for (const size_t i : group) some.push_back(rows[i]);
        return encode_texts(clip, make_text_batch(some, 0), at::Tensor(), nullptr);
    });
    ASSERT_EQ(grouped.sizes(), alone.sizes());
    EXPECT_GE(model::testing::min_cosine(grouped, alone), 0.99999);
    // Not the identity: the rows did move (a group holds rows 1, 3, 6), and a wrong scatter would show.
    EXPECT_LT(model::testing::min_cosine(grouped.roll(1, 0), alone), 0.99);
    // Groups that repeat or miss a row are refused.
    EXPECT_THROW(encode_in_groups({{0, 0}}, [](const std::vector<size_t>& g) { return at::zeros({int64_t(g.size()), 2}); }), Error);
}

TEST(TuneOptions, HelpShowsEachMethodsDefaultFromTheDefaultsThemselves) {
    EXPECT_EQ(default_text(tune_option("lr")), "[0.002/0.0035/0.0035/0.0035/0.0005]");
    EXPECT_EQ(default_text(tune_option("prompt-length")), "[4/2/2/2/-]");  // prompts: not for full
    EXPECT_EQ(default_text(tune_option("visual-prompts")), "[none/independent/coupled/coupled/-]");
    EXPECT_EQ(default_text(tune_option("epochs")), "[20/20/20/20/10]");
    EXPECT_EQ(default_text(tune_option("lambda")), "[0/0/0/1/0]");
    EXPECT_EQ(default_text(tune_option("alpha")), "0.5");
    EXPECT_EQ(default_text(tune_option("method")), "dcar");
    EXPECT_EQ(default_text(tune_option("output")), "");
    EXPECT_EQ(parse_method("maple"), Method::maple);
    EXPECT_STREQ(method_name(Method::full), "full");
    try {
        parse_method("clip");
        ADD_FAILURE() << "an unknown method was accepted";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::usage);
        EXPECT_STREQ(e.what(), "--method is coop, vpt, maple, dcar or full, not 'clip'");
    }
    EXPECT_THROW(tune_option("no-such-option"), Error);
    EXPECT_THROW(recorded_option("output"), Error);  // not a recorded option
}

// checkpoint.json's options: their keys and order are a file format (older checkpoints resume; the tune CLI
// test's checkpoints stay byte-identical), so the table must keep them.
TEST(TuneOptions, RecordedKeysKeepTheCheckpointFormat) {
    std::vector<std::string> keys;
    const auto recorded = options_json(method_defaults(Method::dcar), "clip-0");
    for (const auto& [key, value] : recorded.items()) keys.push_back(key);
    const std::vector<std::string> expected = {
        "method", "backbone", "init_size", "prompt_length", "prompt_depth", "text_prompts", "visual_prompts",
        "visual_init", "cate_in_batch", "prompt_init", "caa", "caa_hidden", "caa_ratio", "con_mode", "lambda",
        "cate_form", "dtr_train", "dtr_table", "dtr_infer", "w_min", "w_max", "ema", "blank", "alpha", "candidates",
        "weight_table", "optimizer", "momentum", "weight_decay", "lr", "warmup_lr", "warmup_epochs", "warmup_steps",
        "warmup", "epochs", "batch", "hard_batches", "hard_batch_share", "shots", "augment", "crop_min", "val_fraction", "val", "seed"};
    EXPECT_EQ(keys, expected);
    EXPECT_EQ(flag_text(recorded_option("dtr_train")), "--dtr");  // resume errors name what the user types
    EXPECT_EQ(flag_text(recorded_option("augment")), "--augment or --no-augment");
}

// What --help shows as a default is what the option reads back as: giving each shown default explicitly, for
// each method, changes nothing that a checkpoint records.
TEST(TuneOptions, EveryShownDefaultReadsBackAsItself) {
    const char* methods[] = {"coop", "vpt", "maple", "dcar", "full"};
    int checked = 0;
    for (const auto& o : tune_options()) {
        if (o.source != TuneOption::Source::own || !o.value_name || o.shown_default == TuneOption::Default::none) continue;
        std::string shown = default_text(o);
        std::vector<std::string> per_method(5, shown);
        if (o.shown_default == TuneOption::Default::per_method) per_method = text::split(shown.substr(1, shown.size() - 2), '/');
        ASSERT_EQ(per_method.size(), 5u) << o.flag;
        for (size_t m = 0; m < 5; ++m) {
            if (o.prompts_only && std::string(methods[m]) == "full") continue;
            const TuneConfig base = tune_config({{"method", methods[m]}});
            const TuneConfig given = tune_config({{"method", methods[m]}, {o.flag, per_method[m]}});
            EXPECT_EQ(options_json(given, "b").dump(), options_json(base, "b").dump()) << "--" << o.flag << " " << per_method[m];
            ++checked;
        }
    }
    EXPECT_GT(checked, 60);
}

TEST(TuneOptions, TheTableParsesChecksAndCombinesOptions) {
    const TuneConfig coop = tune_config({{"method", "coop"}, {"lr", "0.01"}, {"dtr", "table"}, {"no-augment", ""}, {"seed", "7"}});
    EXPECT_EQ(coop.method, Method::coop);
    EXPECT_EQ(coop.prompts.length, 4);  // coop's default, set before the options given
    EXPECT_DOUBLE_EQ(coop.lr, 0.01);
    EXPECT_EQ(coop.objective.dtr, DtrMode::table);
    EXPECT_TRUE(coop.objective.update_table);
    EXPECT_EQ(coop.dtr_infer, "table");  // follows --dtr unless --dtr-infer says otherwise
    EXPECT_EQ(tune_config({{"dtr", "table"}, {"dtr-infer", "none"}}).dtr_infer, "none");
    EXPECT_FALSE(coop.augment);
    EXPECT_EQ(coop.seed, 7u);
    EXPECT_EQ(tune_config({{"no-text-prompts", ""}, {"prompt-init", "a photo"}}).prompts.init, "");  // no text prompts to start
    EXPECT_EQ(tune_config({{"prompt-init", "random"}}).prompts.init, "");
    const auto refused = [](const std::map<std::string, std::string>& given, const std::string& message) {
        try {
            tune_config(given);
            ADD_FAILURE() << "accepted: " << message;
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), ErrorCode::usage);
            EXPECT_EQ(e.what(), message);
        }
    };
    refused({{"lr", "fast"}}, "--lr takes a number of at least 0, not 'fast'");
    refused({{"lr", "-0.1"}}, "--lr takes a number of at least 0, not '-0.1'");
    refused({{"epochs", "0"}}, "--epochs takes a whole number of at least 1, not '0'");
    refused({{"shots", "4x"}}, "--shots takes a whole number of at least 0, not '4x'");
    refused({{"seed", "-1"}}, "--seed takes a whole number of at least 0, not '-1'");
    refused({{"crop-min", "0"}}, "--crop-min takes a fraction in (0, 1], not '0'");
    refused({{"caa", "mlp"}}, "--caa takes adapter or identity, not 'mlp'");
    refused({{"method", "full"}, {"prompt-length", "2"}}, "--prompt-length does not apply to --method full");
    refused({{"init-size", "image=32"}}, "--init-size applies to --method full only");
    refused({{"warmup-steps", "2"}, {"warmup-epochs", "1"}}, "--warmup-steps and --warmup-epochs exclude each other");
    refused({{"augment", ""}, {"no-augment", ""}}, "--no-augment and --augment exclude each other");
    refused({{"hard-batch-share", "0.5"}}, "--hard-batch-share below 1 needs --hard-batches");
    refused({{"hard-batches", ""}, {"hard-batch-share", "0"}}, "--hard-batch-share takes a share in (0, 1], not '0'");
    EXPECT_EQ(tune_config({{"hard-batches", ""}, {"hard-batch-share", "0.5"}}).hard_batch_share, 0.5);
    refused({{"batch", "8"}}, "dcar-tune has no option --batch");  // shared: parsed with the model options
}

TEST(ModelSpec, SizesAndRandomInit) {
    const model::ClipConfig c = model::clip_config_from_spec("image=64,patch=8,width=128,layers=3,text-width=192,embed=96");
    EXPECT_EQ(c.vision_heads, 2);
    EXPECT_EQ(c.text_heads, 3);
    EXPECT_EQ(c.text_layers, 12);
    EXPECT_EQ(c.vision_tokens(), 65);
    expect_error([] { model::clip_config_from_spec("image=60,patch=8"); }, ErrorCode::usage, "model size: image must be a positive multiple of patch");
    expect_error([] { model::clip_config_from_spec("depth=3"); }, ErrorCode::usage,
                 "model size: 'depth=3' is not one of image, patch, width, layers, heads, text-width, text-layers, text-heads, embed, context, vocab, stem, gelu =N");
    const model::ClipConfig small = model::clip_config_from_spec("image=16,patch=8,width=64,layers=1,text-width=64,text-layers=1,embed=16,context=8");
    const auto a = model::random_weights(small, 7), b = model::random_weights(small, 7), other = model::random_weights(small, 8);
    EXPECT_EQ(model::weights_fingerprint(a), model::weights_fingerprint(b));
    EXPECT_NE(model::weights_fingerprint(a), model::weights_fingerprint(other));
    EXPECT_EQ(a.size(), model::clip_tensor_specs(small).size());
    EXPECT_NEAR(a.at("token_embedding.weight").std().item<double>(), 0.02, 0.001);
    // stem=N: N convolutions with width/2^N ... width/2 channels; the weights fit the specs, and a no-stem
    // model's weights are unchanged by the option's existence (same draws as before).
    const model::ClipConfig stem = model::clip_config_from_spec("image=16,patch=8,width=64,layers=1,text-width=64,text-layers=1,embed=16,context=8,stem=2");
    EXPECT_EQ(stem.stem_channels, (std::vector<int64_t>{16, 32}));
    EXPECT_EQ(stem.conv1_kernel(), 2);
    const auto with_stem = model::random_weights(stem, 7);
    EXPECT_EQ(with_stem.size(), model::clip_tensor_specs(stem).size());
    for (const auto& spec : model::clip_tensor_specs(stem)) EXPECT_EQ(with_stem.at(spec.name).sizes().vec(), spec.shape) << spec.name;
    expect_error([] { model::clip_config_from_spec("image=24,patch=12,width=64,stem=3"); }, ErrorCode::usage,
                 "model size: patch must be divisible by 2^stem");
}

TEST(Augmentation, RegionOfTheWholeImageEqualsTheClipTransform) {
    std::vector<uint8_t> rgb(64 * 64 * 3);
    for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<uint8_t>((i * 37) % 251);
    model::PreprocessConfig config;
    config.resolution = 32;
    std::vector<float> expected(3 * 32 * 32), got(3 * 32 * 32);
    model::preprocess_rgb(rgb.data(), 64, 64, config, expected.data());
    model::RgbImage image{64, 64, rgb};
    model::preprocess_region(image, 0, 0, 64, 64, config, got.data());
    EXPECT_EQ(got, expected);
    // A uniform box gives a uniform output whatever its size.
    for (int y = 10; y < 30; ++y)
        for (int x = 5; x < 45; ++x)
            for (int ch = 0; ch < 3; ++ch) image.pixels[(static_cast<size_t>(y) * 64 + x) * 3 + ch] = static_cast<uint8_t>(50 * ch + 20);
    model::preprocess_region(image, 5, 10, 40, 20, config, got.data());
    for (int ch = 0; ch < 3; ++ch)
        EXPECT_FLOAT_EQ(got[static_cast<size_t>(ch) * 1024 + 500], (static_cast<float>(50 * ch + 20) / 255.0f - config.mean[ch]) / config.std[ch]);
}

// --- dcar-tune end to end: a tiny data set on disk --------------------------------------------------------

class TuneRun : public ::testing::Test {
protected:
    void SetUp() override {
        vocab_ = DCAR_VOCAB_FILE;
        if (!fs::exists(vocab_)) GTEST_SKIP() << "no CLIP vocabulary at " << vocab_;
        dir_ = fs::temp_directory_path() / ("dcar-tune-test-" + std::to_string(::getpid()));
        fs::create_directories(dir_ / "img");
        model::Clip clip = small_clip();
        model::write_safetensors((dir_ / "clip.safetensors").string(), clip.weights(), model::clip_metadata(clip.config));
        std::ofstream manifest(dir_ / "train.jsonl");
        const char* classes[] = {"zorblat", "quindle", "mervish"};
        for (int c = 0; c < 3; ++c)
            for (int i = 0; i < 4; ++i) {
                std::vector<uint8_t> pixels(40 * 36 * 3);
                for (size_t p = 0; p < pixels.size(); ++p) pixels[p] = static_cast<uint8_t>((p % 3 == static_cast<size_t>(c) ? 180 : 40) + (p * (i + 1)) % 50);
                const std::string path = (dir_ / "img" / (std::string(classes[c]) + std::to_string(i) + ".jpg")).string();
                vips::VImage::new_from_memory(pixels.data(), pixels.size(), 40, 36, 3, VIPS_FORMAT_UCHAR).jpegsave(path.c_str());
                manifest << R"({"id":")" << classes[c] << i << R"(","image":")" << path << R"(","caption":"This is a )" << classes[c]
                         << (i % 2 ? " with a red rim." : " on a blue ground.") << R"(","class":")" << classes[c] << "\"}\n";
            }
    }
    void TearDown() override {
        std::error_code ec;
        if (!dir_.empty()) fs::remove_all(dir_, ec);
    }
    TuneConfig config(const std::string& out) const {
        TuneConfig c = method_defaults(Method::dcar);
        c.model = (dir_ / "clip.safetensors").string();
        c.input = (dir_ / "mined.jsonl").string();
        c.output = (dir_ / out).string();
        c.vocab = vocab_;
        c.prompts.depth = 2;
        c.epochs = 3;
        c.batch = 4;
        c.device = "cpu";
        c.lr = 0.01;
        return c;
    }
    void mine() const {
        MineJob job;
        job.manifest_path = (dir_ / "train.jsonl").string();
        job.output = (dir_ / "mined.jsonl").string();
        job.config.swaps = 2;
        job.config.attributes = 1;
        run_mine_negatives(job, Log());
    }
    fs::path dir_;
    std::string vocab_;
};

TEST_F(TuneRun, ResumeEqualsAnUninterruptedRun) {
    mine();
    const TuneSummary whole = run_tune(config("whole"), Log());
    EXPECT_EQ(whole.epochs_done, 3);
    TuneConfig first = config("parts");
    first.max_steps = 3;  // one epoch: 12 captions, batch 4
    EXPECT_EQ(run_tune(first, Log()).epochs_done, 1);
    TuneConfig rest = config("parts");
    rest.resume = true;
    EXPECT_EQ(run_tune(rest, Log()).epochs_done, 3);
    const CheckpointInfo a = read_checkpoint((dir_ / "whole").string()), b = read_checkpoint((dir_ / "parts").string());
    EXPECT_EQ(a.epoch, 3);
    EXPECT_EQ(b.step, a.step);
    const auto ta = model::read_safetensors(a.state_file), tb = model::read_safetensors(b.state_file);
    ASSERT_EQ(ta.size(), tb.size());
    for (const auto& [name, t] : ta) EXPECT_TRUE(at::equal(t, tb.at(name))) << name << " differs after resume";
    EXPECT_FALSE(fs::exists(dir_ / "parts" / "state-epoch-0001.safetensors")) << "old epoch state kept";

    // A resume with other options is refused, as is a fresh run over an existing checkpoint.
    TuneConfig changed = config("parts");
    changed.resume = true;
    changed.lr = 0.02;
    expect_error([&] { run_tune(changed, Log()); }, ErrorCode::usage,
                 (dir_ / "parts").string() + ": was trained with lr = 0.01 (--lr), this run has 0.02: resume with the same options");
    expect_error([&] { run_tune(config("parts"), Log()); }, ErrorCode::usage,
                 (dir_ / "parts").string() + ": holds a checkpoint already: add --resume to continue it, or choose another directory");
}

TEST_F(TuneRun, ShotsLimitClassesButNotClasslessItems) {
    // 12 items in 3 classes: 2 shots keep 6; the same items without classes are all kept.
    std::string messages;
    Log log;
    log.set_message_sink([&](LogLevel, const std::string& m) { messages += m + "\n"; });
    TuneConfig c = config("shots");
    c.input = (dir_ / "train.jsonl").string();
    c.shots = 2;
    c.epochs = 1;
    c.objective.lambda = 0;
    run_tune(c, log);
    EXPECT_NE(messages.find("training on 6 captions of 6 images in 3 classes"), std::string::npos) << messages;
    std::ifstream in(dir_ / "train.jsonl");
    std::ofstream out(dir_ / "classless.jsonl");
    for (std::string line; std::getline(in, line);) out << line.substr(0, line.find(",\"class\"")) << "}\n";
    out.close();
    messages.clear();
    c = config("classless");
    c.input = (dir_ / "classless.jsonl").string();
    c.shots = 2;
    c.epochs = 1;
    c.objective.lambda = 0;
    run_tune(c, log);
    EXPECT_NE(messages.find("training on 12 captions of 12 images, none with a class"), std::string::npos) << messages;
}

TEST_F(TuneRun, CheckpointPromptsLoadOnlyOnTheirBackbone) {
    mine();
    run_tune(config("ck"), Log());
    const model::Clip same = model::load_clip((dir_ / "clip.safetensors").string());
    const InferencePrompts loaded = load_inference_prompts((dir_ / "ck").string(), same);
    EXPECT_EQ(loaded.prompts.text.size(), 2u);
    ASSERT_TRUE(loaded.table.has_value());
    EXPECT_GT(loaded.table->updated_ids(), 0);
    model::Clip other = small_clip(4);
    model::write_safetensors((dir_ / "other.safetensors").string(), other.weights(), model::clip_metadata(other.config));
    const model::Clip different = model::load_clip((dir_ / "other.safetensors").string());
    expect_error([&] { load_inference_prompts((dir_ / "ck").string(), different); }, ErrorCode::mismatch,
                 (dir_ / "ck").string() + ": was trained on backbone " + same.fingerprint + ", this model is " + different.fingerprint);
}

}  // namespace
}  // namespace dcar::train
