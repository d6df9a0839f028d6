// Tests for lib/metrics: ranks and recall on hand-computed score matrices (ties, several positives), the three
// ground-truth sources, the whole score pipeline on a toy case whose answer is worked out in the comments,
// chunked scoring against a double-precision reference, the JSON and table reports, and the SVG plot.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "metrics/ground_truth.hpp"
#include "metrics/plot_svg.hpp"
#include "metrics/recall.hpp"
#include "metrics/report.hpp"
#include "metrics/score.hpp"
#include "stream/embeddings.hpp"
#include "test_util.hpp"

using namespace dcar;
using namespace dcar::metrics;
using Json = nlohmann::json;

namespace {

using U64s = std::vector<uint64_t>;

stream::Batch make_batch(const std::vector<std::string>& ids, const std::vector<std::string>& labels,
                         const std::vector<std::vector<float>>& rows) {
    stream::Batch b;
    b.dim = uint32_t(rows.at(0).size());
    for (size_t i = 0; i < ids.size(); ++i) b.add(ids[i], labels.empty() ? "" : labels[i], rows[i].data());
    return b;
}

// The toy case (also in tests/cli/score.sh). Images are unit axes; captions, before normalisation,
//   a#0 = (1,1,0) → scores a .707, b .707, c 0   (exact tie between a and b)
//   b#0 = (2,1,0) → scores a .894, b .447, c 0
//   c#0 = (0,0,1) → scores a 0,    b 0,    c 1
// i2t: a ranks a#0 behind b#0 (rank 1); b ranks b#0 behind a#0 (rank 1); c is first (0). R@1 = 1/3.
// t2i: a#0 finds a tied with b: optimistic 0, pessimistic 1; b#0 finds a first (1); c#0 first (0).
//      R@1 = 2/3 optimistic, 1/3 pessimistic.
stream::Batch toy_images() {
    return make_batch({"a", "b", "c"}, {"cat", "cat", "dog"}, {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}});
}
stream::Batch toy_texts() { return make_batch({"a#0", "b#0", "c#0"}, {}, {{1, 1, 0}, {2, 1, 0}, {0, 0, 1}}); }

ScoreResult score_toy(size_t chunk = 1024) {
    ScoreConfig config;
    config.chunk_rows = chunk;
    config.dataset = "toy";
    config.model = "m";
    return score_matched(toy_images(), toy_texts(), nullptr, config, Log{});
}

// Ranks by brute force in double precision, for comparison with the float/BLAS path.
Ranks reference_ranks(const stream::Batch& q, const stream::Batch& g, const Positives& positives) {
    Ranks r;
    for (size_t i = 0; i < q.size(); ++i) {
        std::vector<double> s(g.size());
        for (size_t j = 0; j < g.size(); ++j) {
            double dot = 0, nq = 0, ng = 0;
            for (uint32_t d = 0; d < q.dim; ++d) {
                dot += double(q.row(i)[d]) * g.row(j)[d];
                nq += double(q.row(i)[d]) * q.row(i)[d];
                ng += double(g.row(j)[d]) * g.row(j)[d];
            }
            s[j] = dot / std::sqrt(nq * ng);
        }
        double best = -1e300;
        for (uint32_t p : positives[i]) best = std::max(best, s[p]);
        uint64_t opt = 0, pess = 0;
        for (size_t j = 0; j < g.size(); ++j) {
            const bool positive = std::find(positives[i].begin(), positives[i].end(), j) != positives[i].end();
            opt += s[j] > best;
            pess += !positive && s[j] >= best;
        }
        r.optimistic.push_back(opt);
        r.pessimistic.push_back(pess);
    }
    return r;
}

}  // namespace

// --- ranks and recall on explicit score matrices -------------------------------------------------------------

TEST(MetricsRanks, ThreeByThreeKnownAnswer) {
    // Row q's positive is column q. Row 0: 0.9 is the best → 0. Row 1: 0.8 and 0.7 beat 0.5 → 2.
    // Row 2: 0.6 beats 0.4 → 1.
    const float s[] = {0.9f, 0.1f, 0.2f,  //
                       0.8f, 0.5f, 0.7f,  //
                       0.6f, 0.3f, 0.4f};
    const Ranks r = ranks_from_scores(s, 3, 3, {{0}, {1}, {2}});
    EXPECT_EQ(r.optimistic, (U64s{0, 2, 1}));
    EXPECT_EQ(r.pessimistic, (U64s{0, 2, 1}));
    EXPECT_EQ(recall_at(r.optimistic, {1, 2, 3}), (std::vector<double>{1.0 / 3, 2.0 / 3, 1.0}));
    EXPECT_DOUBLE_EQ(mean_rank(r.optimistic), 2.0);  // (1 + 3 + 2) / 3
    EXPECT_DOUBLE_EQ(median_rank(r.optimistic), 2.0);
}

TEST(MetricsRanks, TiesFavourGroundTruthOptimisticallyOnly) {
    // Row 0: positive 0.5 ties with two others and loses to 0.7: optimistic 1, pessimistic 3.
    // Row 1: everything ties: optimistic 0, pessimistic 3.
    const float s[] = {0.5f, 0.5f, 0.7f, 0.5f,  //
                       0.2f, 0.2f, 0.2f, 0.2f};
    const Ranks r = ranks_from_scores(s, 2, 4, {{0}, {3}});
    EXPECT_EQ(r.optimistic, (U64s{1, 0}));
    EXPECT_EQ(r.pessimistic, (U64s{3, 3}));
    EXPECT_EQ(recall_at(r.optimistic, {1}), std::vector<double>{0.5});
    EXPECT_EQ(recall_at(r.pessimistic, {1, 4}), (std::vector<double>{0.0, 1.0}));
}

TEST(MetricsRanks, SeveralPositivesCountFromTheBestOne) {
    // Positives 1 and 3 (0.4, 0.8); only 0.9 is above 0.8 → 1. A second positive tied with the best does not
    // push the pessimistic rank: row 1 has positives 0 and 2 both at 0.6, one wrong item at 0.6 → 1.
    const float s[] = {0.9f, 0.4f, 0.1f, 0.8f,  //
                       0.6f, 0.3f, 0.6f, 0.6f};
    const Ranks r = ranks_from_scores(s, 2, 4, {{1, 3}, {0, 2}});
    EXPECT_EQ(r.optimistic, (U64s{1, 0}));
    EXPECT_EQ(r.pessimistic, (U64s{1, 1}));
}

TEST(MetricsRanks, RejectsQueriesWithoutPositives) {
    const float s[] = {1, 2};
    try {
        ranks_from_scores(s, 1, 2, {{}});
        FAIL() << "no throw";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::internal);
    }
    EXPECT_THROW(ranks_from_scores(s, 1, 2, {{0}, {1}}), Error);
    EXPECT_THROW(ranks_from_scores(s, 1, 2, {{2}}), Error);
}

TEST(MetricsRanks, CurveMedianAndSummary) {
    const U64s ranks = {0, 0, 3, 7};
    EXPECT_EQ(recall_curve(ranks, 5), (std::vector<double>{0.5, 0.5, 0.5, 0.75, 0.75}));
    EXPECT_DOUBLE_EQ(median_rank(ranks), 2.5);  // 1-based ranks 1 1 4 8: middle two 1 and 4
    EXPECT_DOUBLE_EQ(mean_rank(ranks), 3.5);
    EXPECT_EQ(recall_at({}, {1}), std::vector<double>{0.0});
    const DirectionMetrics m = summarize({ranks, {1, 1, 4, 8}}, {1, 5}, 10);
    EXPECT_EQ(m.count, 4u);
    EXPECT_EQ(m.recall, (std::vector<double>{0.5, 0.75}));
    EXPECT_EQ(m.recall_pessimistic, (std::vector<double>{0.0, 0.75}));
    EXPECT_DOUBLE_EQ(m.mean_rank_pessimistic, 4.5);
    EXPECT_EQ(m.curve.size(), 10u);
}

TEST(MetricsRanks, ScoreBlockIsQueriesTimesGalleryTransposed) {
    const float q[] = {1, 2, 0,  //
                       0, 1, 3};
    const float g[] = {1, 0, 0,  //
                       0, 1, 0,  //
                       1, 1, 1,  //
                       2, 0, 1};
    float out[8];
    score_block(q, 2, g, 4, 3, out);
    const float expected[] = {1, 2, 3, 2, 0, 1, 4, 3};
    for (int i = 0; i < 8; ++i) EXPECT_FLOAT_EQ(out[i], expected[i]) << i;
}

// --- ground truth ---------------------------------------------------------------------------------------------

TEST(MetricsGroundTruth, ByIdsExcludesUnmatched) {
    // "z" has no caption; "q#0" has no image; "a" (no "#j") is not a caption id; b has two captions.
    const GroundTruth gt = match_by_ids({"x", "b", "z"}, {"k1", "k2", ""}, {"b#1", "x#0", "q#0", "b#0", "a"}, "img");
    EXPECT_EQ(gt.image_rows, (std::vector<size_t>{0, 1}));
    EXPECT_EQ(gt.text_rows, (std::vector<size_t>{0, 1, 3}));
    EXPECT_EQ(gt.image_positives, (Positives{{1}, {0, 2}}));
    EXPECT_EQ(gt.text_positives, (Positives{{1}, {0}, {1}}));
    EXPECT_EQ(gt.image_classes, (std::vector<std::string>{"k1", "k2"}));
    EXPECT_EQ(gt.images_excluded, 1u);
    EXPECT_EQ(gt.texts_excluded, 2u);
    EXPECT_EQ(gt.excluded_image_examples, std::vector<std::string>{"z"});
    EXPECT_EQ(gt.excluded_text_examples, (std::vector<std::string>{"q#0", "a"}));
    EXPECT_EQ(gt.pairs(), 3u);
}

TEST(MetricsGroundTruth, DuplicateImageIdIsFormatError) {
    try {
        match_by_ids({"x", "x"}, {"", ""}, {"x#0"}, "img.npy");
        FAIL() << "no throw";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::format);
        EXPECT_NE(std::string(e.what()).find("img.npy"), std::string::npos);
    }
}

TEST(MetricsGroundTruth, ByLabelsMatchesWholeClasses) {
    // Images: i0 cat, i1 dog, i2 cat, i3 (none), i4 fox (no caption says fox). Texts: cat, "", cat, dog, emu.
    const GroundTruth gt = match_by_labels({"i0", "i1", "i2", "i3", "i4"}, {"cat", "dog", "cat", "", "fox"},
                                           {"t0", "t1", "t2", "t3", "t4"}, {"cat", "", "cat", "dog", "emu"});
    EXPECT_EQ(gt.image_rows, (std::vector<size_t>{0, 1, 2}));
    EXPECT_EQ(gt.text_rows, (std::vector<size_t>{0, 2, 3}));
    EXPECT_EQ(gt.image_positives, (Positives{{0, 1}, {2}, {0, 1}}));
    EXPECT_EQ(gt.text_positives, (Positives{{0, 2}, {0, 2}, {1}}));
    EXPECT_EQ(gt.images_excluded, 2u);
    EXPECT_EQ(gt.texts_excluded, 2u);
    EXPECT_EQ(gt.excluded_text_examples, (std::vector<std::string>{"t1", "t4"}));
    EXPECT_EQ(gt.pairs(), 5u);
}

TEST(MetricsGroundTruth, ByManifestUsesItsCaptionsAndClasses) {
    manifest::Manifest m;
    m.items.push_back({"p", "", {"a dog", "another dog"}, "dog", {}});
    m.items.push_back({"q", "", {"a cat"}, "cat", {}});
    m.items.push_back({"absent", "", {"x"}, "emu", {}});
    // "p#2" is beyond p's two captions; "r" is not in the manifest; "absent#0" has no image present.
    const GroundTruth gt = match_by_manifest(m, {"q", "p", "r"}, {"p#1", "p#2", "q#0", "p#0", "absent#0"}, "img");
    EXPECT_EQ(gt.image_rows, (std::vector<size_t>{0, 1}));
    EXPECT_EQ(gt.image_classes, (std::vector<std::string>{"cat", "dog"}));
    EXPECT_EQ(gt.text_rows, (std::vector<size_t>{0, 2, 3}));
    EXPECT_EQ(gt.image_positives, (Positives{{1}, {0, 2}}));
    EXPECT_EQ(gt.images_excluded, 1u);
    EXPECT_EQ(gt.texts_excluded, 2u);
}

// --- the score pipeline ---------------------------------------------------------------------------------------

TEST(MetricsScore, ToyCaseByIds) {
    const ScoreResult r = score_toy();
    EXPECT_EQ(r.i2t_ranks.optimistic, (U64s{1, 1, 0}));
    EXPECT_EQ(r.i2t_ranks.pessimistic, (U64s{1, 1, 0}));
    EXPECT_EQ(r.t2i_ranks.optimistic, (U64s{0, 1, 0}));
    EXPECT_EQ(r.t2i_ranks.pessimistic, (U64s{1, 1, 0}));
    EXPECT_EQ(r.ks, (std::vector<int>{1, 5, 10}));
    EXPECT_EQ(r.i2t.recall, (std::vector<double>{1.0 / 3, 1, 1}));
    EXPECT_EQ(r.t2i.recall, (std::vector<double>{2.0 / 3, 1, 1}));
    EXPECT_EQ(r.t2i.recall_pessimistic, (std::vector<double>{1.0 / 3, 1, 1}));
    EXPECT_DOUBLE_EQ(r.i2t.mean_rank, 5.0 / 3);
    EXPECT_DOUBLE_EQ(r.i2t.median_rank, 2.0);
    EXPECT_DOUBLE_EQ(r.t2i.mean_rank, 4.0 / 3);
    EXPECT_DOUBLE_EQ(r.t2i.median_rank_pessimistic, 2.0);
    EXPECT_EQ(r.images, 3u);
    EXPECT_EQ(r.texts, 3u);
    EXPECT_EQ(r.pairs, 3u);
    EXPECT_FALSE(r.partial());
    EXPECT_EQ(r.i2t.curve.size(), 50u);

    // Per class (the images' labels): cat = a, b with captions a#0, b#0; dog = c with c#0.
    ASSERT_EQ(r.per_class.size(), 2u);
    EXPECT_EQ(r.per_class[0].name, "cat");
    EXPECT_EQ(r.per_class[0].images, 2u);
    EXPECT_EQ(r.per_class[0].texts, 2u);
    EXPECT_EQ(r.per_class[0].i2t_recall, (std::vector<double>{0, 1, 1}));
    EXPECT_EQ(r.per_class[0].t2i_recall, (std::vector<double>{0.5, 1, 1}));
    EXPECT_EQ(r.per_class[1].name, "dog");
    EXPECT_EQ(r.per_class[1].i2t_recall, (std::vector<double>{1, 1, 1}));
}

TEST(MetricsScore, ChunkSizeDoesNotChangeTheAnswer) {
    const ScoreResult whole = score_toy(1024);
    for (size_t chunk : {1, 2}) {
        const ScoreResult part = score_toy(chunk);
        EXPECT_EQ(part.i2t_ranks.optimistic, whole.i2t_ranks.optimistic) << chunk;
        EXPECT_EQ(part.i2t_ranks.pessimistic, whole.i2t_ranks.pessimistic) << chunk;
        EXPECT_EQ(part.t2i_ranks.optimistic, whole.t2i_ranks.optimistic) << chunk;
        EXPECT_EQ(part.t2i_ranks.pessimistic, whole.t2i_ranks.pessimistic) << chunk;
    }

    // Random vectors with two captions per image (noisy copies), so ranks are spread out.
    const stream::Batch images = test::random_batch(60, 24, 7, "img");
    stream::Batch texts;
    texts.dim = 24;
    const stream::Batch noise = test::random_batch(120, 24, 8, "n");
    for (size_t t = 0; t < 120; ++t) {
        std::vector<float> row(24);
        for (uint32_t d = 0; d < 24; ++d) row[d] = images.row(t / 2)[d] + 1.5f * noise.row(t)[d];
        texts.add("img" + std::to_string(t / 2) + "#" + std::to_string(t % 2), "", row.data());
    }
    const GroundTruth gt = match_by_ids(images.ids, images.labels, texts.ids, "img");
    ASSERT_EQ(gt.pairs(), 120u);
    const Ranks ref_i2t = reference_ranks(images, texts, gt.image_positives);
    const Ranks ref_t2i = reference_ranks(texts, images, gt.text_positives);
    std::vector<ScoreResult> results;
    for (size_t chunk : {1, 2, 7, 1024}) {
        ScoreConfig config;
        config.chunk_rows = chunk;
        const ScoreResult r = score_batches(images, texts, gt, config, Log{});
        EXPECT_EQ(r.i2t_ranks.optimistic, ref_i2t.optimistic) << chunk;
        EXPECT_EQ(r.t2i_ranks.optimistic, ref_t2i.optimistic) << chunk;
        EXPECT_EQ(r.i2t_ranks.pessimistic, ref_i2t.pessimistic) << chunk;
        EXPECT_EQ(r.t2i_ranks.pessimistic, ref_t2i.pessimistic) << chunk;
        results.push_back(r);
    }
    // The case must be non-trivial, or the comparison above proves little.
    EXPECT_GT(results[0].i2t.recall[0], 0.1);
    EXPECT_LT(results[0].i2t.recall[0], 0.9);
    EXPECT_EQ(results[0].i2t.recall, results[3].i2t.recall);
    EXPECT_EQ(results[0].t2i.curve, results[3].t2i.curve);
}

TEST(MetricsScore, ByLabelPerClass) {
    // Images: c1 cat (1,0), c2 cat (0.6,0.8), d1 dog (0,1). Captions: tc "cat" (1,0), td "dog" (0,1).
    // i2t: c1 → tc first (0); c2 scores tc .6 below td .8 (1); d1 → td first (0).
    // t2i: tc's correct images are c1 and c2, the best (c1, 1.0) is first (0); td → d1 first (0).
    ScoreConfig config;
    config.ground_truth = GroundTruthSource::labels;
    config.ks = {1, 2};
    const auto images = make_batch({"c1", "c2", "d1"}, {"cat", "cat", "dog"}, {{1, 0}, {0.6f, 0.8f}, {0, 1}});
    const auto texts = make_batch({"tc", "td"}, {"cat", "dog"}, {{1, 0}, {0, 1}});
    const ScoreResult r = score_matched(images, texts, nullptr, config, Log{});
    EXPECT_EQ(r.i2t_ranks.optimistic, (U64s{0, 1, 0}));
    EXPECT_EQ(r.t2i_ranks.optimistic, (U64s{0, 0}));
    EXPECT_EQ(r.pairs, 3u);
    ASSERT_EQ(r.per_class.size(), 2u);
    EXPECT_EQ(r.per_class[0].name, "cat");
    EXPECT_EQ(r.per_class[0].images, 2u);
    EXPECT_EQ(r.per_class[0].texts, 1u);
    EXPECT_EQ(r.per_class[0].i2t_recall, (std::vector<double>{0.5, 1}));
    EXPECT_EQ(r.per_class[0].t2i_recall, (std::vector<double>{1, 1}));
    EXPECT_EQ(r.per_class[1].name, "dog");
    EXPECT_EQ(r.per_class[1].i2t_recall, (std::vector<double>{1, 1}));
}

TEST(MetricsScore, ExclusionsAreWarnedAndMakeThePartialFlag) {
    std::vector<std::string> warnings;
    Log log;
    log.set_message_sink([&](LogLevel level, const std::string& m) {
        if (level == LogLevel::warn) warnings.push_back(m);
    });
    auto texts = toy_texts();
    const float row[] = {1, 0, 0};
    texts.add("zz#0", "", row);
    const ScoreResult r = score_matched(toy_images(), texts, nullptr, ScoreConfig{}, log, "img.npy", "txt.npy");
    EXPECT_TRUE(r.partial());
    EXPECT_EQ(r.texts_excluded, 1u);
    EXPECT_EQ(r.texts, 3u);
    // The extra caption is out of the gallery too, so the ranks are those of the toy case.
    EXPECT_EQ(r.i2t_ranks.optimistic, (U64s{1, 1, 0}));
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_EQ(warnings[0], "1 caption of txt.npy without an image in img.npy excluded (e.g. zz#0)");
}

TEST(MetricsScore, ErrorsNameTheProblem) {
    // No caption id matches an image id.
    try {
        score_matched(toy_images(), make_batch({"x#0"}, {}, {{1, 0, 0}}), nullptr, ScoreConfig{}, Log{}, "i.npy", "t.npy");
        FAIL() << "no throw";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::format);
        EXPECT_NE(std::string(e.what()).find("i.npy, t.npy: no image-caption pairs"), std::string::npos) << e.what();
    }
    // Dimensions differ.
    try {
        score_matched(toy_images(), make_batch({"a#0"}, {}, {{1, 0}}), nullptr, ScoreConfig{}, Log{});
        FAIL() << "no throw";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::mismatch);
    }
    // A NaN names the record.
    try {
        score_matched(toy_images(), make_batch({"a#0"}, {}, {{1, NAN, 0}}), nullptr, ScoreConfig{}, Log{}, "i", "t.npy");
        FAIL() << "no throw";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::format);
        EXPECT_EQ(std::string(e.what()), "t.npy: record 'a#0': value 1 is not finite");
    }
}

TEST(MetricsScore, ParseKs) {
    EXPECT_EQ(parse_ks({"1,5,10"}), (std::vector<int>{1, 5, 10}));
    EXPECT_EQ(parse_ks({"10", "1, 5", "5"}), (std::vector<int>{1, 5, 10}));
    for (const char* bad : {"0", "-1", "a", "1,,5", "", "3x"}) {
        try {
            parse_ks({bad});
            FAIL() << bad;
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), ErrorCode::usage) << bad;
        }
    }
}

TEST(MetricsScore, FilesAreCheckedForDimensionModelAndModality) {
    test::TempDir dir;
    const auto write = [&](const std::string& name, const stream::Batch& b, const std::string& model, stream::Modality m) {
        stream::Header h = test::header_for(b.dim);
        h.model = model;
        h.modality = m;
        std::ofstream(dir.file(name), std::ios::binary) << test::stream_bytes(b, h);
        return dir.file(name);
    };
    ScoreConfig config;
    config.images_path = write("img.dcs", toy_images(), "clip-a", stream::Modality::image);
    config.texts_path = write("txt.dcs", toy_texts(), "clip-a", stream::Modality::text);
    const ScoreResult ok = score(config, Log{});
    EXPECT_EQ(ok.model, "clip-a");
    EXPECT_EQ(ok.i2t_ranks.optimistic, (U64s{1, 1, 0}));

    const auto code_of = [&](const ScoreConfig& c) {
        try {
            score(c, Log{});
        } catch (const Error& e) {
            return e.code();
        }
        return ErrorCode::internal;
    };
    ScoreConfig other_model = config;
    other_model.texts_path = write("txt-b.dcs", toy_texts(), "clip-b", stream::Modality::text);
    EXPECT_EQ(code_of(other_model), ErrorCode::mismatch);
    ScoreConfig other_dim = config;
    other_dim.texts_path = write("txt-2d.dcs", make_batch({"a#0"}, {}, {{1, 0}}), "clip-a", stream::Modality::text);
    EXPECT_EQ(code_of(other_dim), ErrorCode::mismatch);
    ScoreConfig swapped = config;
    std::swap(swapped.images_path, swapped.texts_path);
    EXPECT_EQ(code_of(swapped), ErrorCode::mismatch);
    ScoreConfig two_stdin = config;
    two_stdin.images_path = two_stdin.texts_path = "-";
    EXPECT_EQ(code_of(two_stdin), ErrorCode::usage);
}

TEST(MetricsScore, ManifestFileGivesGroundTruthAndClasses) {
    test::TempDir dir;
    std::ofstream(dir.file("m.tsv")) << "id\tcaption\tclass\na\tx\tpets\nb\ty\tpets\nc\tz\tcars\n";
    const auto write = [&](const std::string& name, const stream::Batch& b, stream::Modality m) {
        stream::Header h = test::header_for(b.dim);
        h.modality = m;
        std::ofstream(dir.file(name), std::ios::binary) << test::stream_bytes(b, h);
        return dir.file(name);
    };
    ScoreConfig config;
    config.images_path = write("img.dcs", toy_images(), stream::Modality::image);
    config.texts_path = write("txt.dcs", toy_texts(), stream::Modality::text);
    config.ground_truth = GroundTruthSource::manifest;
    config.manifest_path = dir.file("m.tsv");
    const ScoreResult r = score(config, Log{});
    EXPECT_EQ(r.t2i_ranks.optimistic, (U64s{0, 1, 0}));
    ASSERT_EQ(r.per_class.size(), 2u);
    EXPECT_EQ(r.per_class[0].name, "cars");
    EXPECT_EQ(r.per_class[1].name, "pets");
    EXPECT_EQ(r.per_class[1].t2i_recall, (std::vector<double>{0.5, 1, 1}));
}

// --- reports --------------------------------------------------------------------------------------------------

TEST(MetricsReport, JsonHasClipBenchmarkAndDcarKeys) {
    const Json j = Json::parse(format_json(score_toy()));
    EXPECT_EQ(j["dataset"], "toy");
    EXPECT_EQ(j["model"], "m");
    EXPECT_EQ(j["task"], "zeroshot_retrieval");
    const Json& m = j["metrics"];
    // CLIP_benchmark: image retrieval = text → image.
    EXPECT_DOUBLE_EQ(m["image_retrieval_recall@1"].get<double>(), 2.0 / 3);
    EXPECT_DOUBLE_EQ(m["text_retrieval_recall@1"].get<double>(), 1.0 / 3);
    EXPECT_DOUBLE_EQ(m["image_retrieval_recall@10"].get<double>(), 1.0);
    EXPECT_DOUBLE_EQ(m["i2t_recall@1"].get<double>(), 1.0 / 3);
    EXPECT_DOUBLE_EQ(m["t2i_recall_pessimistic@1"].get<double>(), 1.0 / 3);
    EXPECT_DOUBLE_EQ(m["i2t_mean_rank"].get<double>(), 5.0 / 3);
    EXPECT_DOUBLE_EQ(m["t2i_median_rank"].get<double>(), 1.0);
    EXPECT_DOUBLE_EQ(m["t2i_median_rank_pessimistic"].get<double>(), 2.0);
    EXPECT_EQ(m.size(), 6u + 4 * 3 + 2 * 4);
    EXPECT_EQ(j["counts"]["images"], 3);
    EXPECT_EQ(j["counts"]["pairs"], 3);
    EXPECT_EQ(j["counts"]["texts_excluded"], 0);
    EXPECT_EQ(j["per_class"]["cat"]["images"], 2);
    EXPECT_DOUBLE_EQ(j["per_class"]["cat"]["t2i_recall@1"].get<double>(), 0.5);
    EXPECT_DOUBLE_EQ(j["per_class"]["dog"]["i2t_recall@5"].get<double>(), 1.0);
    // One line.
    const std::string text = format_json(score_toy());
    EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1);
}

TEST(MetricsReport, TableIsAligned) {
    const std::string table = format_table(score_toy(), true);
    EXPECT_EQ(table,
              "dataset: toy  model: m\n"
              "images: 3  captions: 3  pairs: 3\n"
              "\n"
              "direction          R@1     R@5    R@10  mean rank  median rank  N\n"
              "i2t              33.33  100.00  100.00       1.67          2.0  3\n"
              "i2t pessimistic  33.33  100.00  100.00       1.67          2.0  3\n"
              "t2i              66.67  100.00  100.00       1.33          1.0  3\n"
              "t2i pessimistic  33.33  100.00  100.00       1.67          2.0  3\n"
              "\n"
              "class  images  captions  i2t R@1  i2t R@5  i2t R@10  t2i R@1  t2i R@5  t2i R@10\n"
              "cat         2         2     0.00   100.00    100.00    50.00   100.00    100.00\n"
              "dog         1         1   100.00   100.00    100.00   100.00   100.00    100.00\n");
    // Without --per-class the class table is left out.
    EXPECT_EQ(format_table(score_toy(), false).find("class"), std::string::npos);
}

TEST(MetricsReport, SvgHasBothCurvesAxesAndLegend) {
    ScoreResult r = score_toy();
    r.dataset = "a<b&c";
    const std::string svg = format_recall_svg(r);
    EXPECT_EQ(svg.rfind("<?xml", 0), 0u);
    EXPECT_NE(svg.find("<svg xmlns=\"http://www.w3.org/2000/svg\""), std::string::npos);
    EXPECT_EQ(svg.substr(svg.size() - 7), "</svg>\n");
    EXPECT_NE(svg.find("a&lt;b&amp;c"), std::string::npos);  // the title is escaped
    EXPECT_EQ(svg.find("a<b"), std::string::npos);
    for (const char* id : {"id=\"i2t\"", "id=\"t2i\""}) {
        const size_t at = svg.find(std::string("<path ") + id);
        ASSERT_NE(at, std::string::npos) << id;
        const std::string path = svg.substr(at, svg.find("/>", at) - at);
        EXPECT_EQ(std::count(path.begin(), path.end(), 'L'), 49) << id;  // K = 1 … 50
    }
    EXPECT_NE(svg.find("class=\"legend\""), std::string::npos);
    EXPECT_NE(svg.find(">50</text>"), std::string::npos);   // last x tick
    EXPECT_NE(svg.find(">100</text>"), std::string::npos);  // top y tick
    // Every opened element is closed (self-closing or with an end tag).
    size_t opens = 0, closes = 0;
    for (size_t i = 0; i + 1 < svg.size(); ++i) {
        if (svg[i] != '<') continue;
        if (svg[i + 1] == '/') ++closes;
        else if (svg[i + 1] != '?') {
            const size_t end = svg.find('>', i);
            if (svg[end - 1] != '/') ++opens;
        }
    }
    EXPECT_EQ(opens, closes);

    // A larger K stretches the curves.
    ScoreConfig config;
    config.ks = {1, 70};
    const ScoreResult wide = score_matched(toy_images(), toy_texts(), nullptr, config, Log{});
    EXPECT_EQ(wide.t2i.curve.size(), 70u);
    EXPECT_NE(format_recall_svg(wide).find(">70</text>"), std::string::npos);  // an x tick (y ticks step by 20)
}

TEST(MetricsReport, WriteRecallSvgCommitsTheFile) {
    test::TempDir dir;
    const std::string path = dir.file("p.svg");
    write_recall_svg(score_toy(), *io::open_sink(path));
    std::ifstream in(path);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(text, format_recall_svg(score_toy()));
}
