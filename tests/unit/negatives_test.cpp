// Negative mining (lib/negatives): the class-name matching rule on constructed captions (spaces,
// underscores, case, absence, names inside longer words), the category-matching weight, determinism under a
// seed, hard swaps from a constructed set of class embeddings, duplicates and the positive never kept, the
// JSON lines output, the released FDRD caltech101 train file (skipped without $DCAR_TEST_DATA), and the
// shot split that mining and training share.
#include <gtest/gtest.h>
#include "test_util.hpp"

#include <sys/stat.h>

#include <cmath>
#include <cstdlib>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "core/error.hpp"
#include "io/sink.hpp"
#include "manifest/manifest.hpp"
#include "negatives/dataset.hpp"
#include "negatives/negatives.hpp"

namespace dcar::train {
namespace {

manifest::Item item(std::string id, std::string caption, std::string class_name, std::vector<std::string> negatives = {}) {
    manifest::Item it;
    it.id = std::move(id);
    it.image = it.id + ".jpg";
    it.captions = {std::move(caption)};
    it.class_name = std::move(class_name);
    it.negatives = std::move(negatives);
    return it;
}

// Six classes, two items each; every caption names its class in the FDRD template.
manifest::Manifest toy() {
    manifest::Manifest m;
    const std::vector<std::string> classes = {"cat", "dog", "Apply_Eye_Makeup", "sea lion", "ant", "bus"};
    for (const auto& c : classes) {
        m.items.push_back(item(c + "_1", "This is a photo of " + c + ".A " + c + " on grass.", c));
        m.items.push_back(item(c + "_2", "This is a photo of " + c + ".Two things in a room.", c));
    }
    return m;
}

std::string dump(const std::vector<Record>& records) {
    std::string out;
    auto sink = io::string_sink(out);
    write_records(records, *sink);
    sink->commit();
    return out;
}

bool file_exists(const std::string& path) {
    struct stat info;
    return ::stat(path.c_str(), &info) == 0;
}


// --- the matching rule ---------------------------------------------------------------------------------------

TEST(NegativesRule, WholeWordCaseInsensitive) {
    EXPECT_TRUE(find_class_name("This is a photo of cat.A cat", "cat"));
    EXPECT_TRUE(find_class_name("A CAT sits", "cat"));
    EXPECT_TRUE(find_class_name("cat", "Cat"));
    EXPECT_TRUE(find_class_name("(cat)", "cat"));
    EXPECT_FALSE(find_class_name("a category of things", "cat"));
    EXPECT_FALSE(find_class_name("a bobcat", "cat"));
    EXPECT_FALSE(find_class_name("two cats", "cat"));  // no plural forms
    EXPECT_FALSE(find_class_name("cat2", "cat"));      // digits are word bytes
    EXPECT_FALSE(find_class_name("the dog", "cat"));
    EXPECT_FALSE(find_class_name("anything", ""));
    EXPECT_FALSE(find_class_name("anything", " _ "));
    EXPECT_FALSE(find_class_name("caté", "cat"));  // non-ASCII bytes are word bytes
}

TEST(NegativesRule, UnderscoresAndSpacesAreEquivalent) {
    EXPECT_TRUE(find_class_name("This is a photo of Apply_Eye_Makeup.A person", "Apply_Eye_Makeup"));
    EXPECT_TRUE(find_class_name("someone does apply eye makeup here", "Apply_Eye_Makeup"));
    EXPECT_TRUE(find_class_name("APPLY EYE_MAKEUP", "Apply_Eye_Makeup"));
    EXPECT_TRUE(find_class_name("a sea_lion", "sea lion"));
    EXPECT_TRUE(find_class_name("a sea  lion", "sea lion"));
    EXPECT_FALSE(find_class_name("a sealion", "sea lion"));
    EXPECT_FALSE(find_class_name("a sea-lion", "sea lion"));  // hyphens are not separators
    EXPECT_TRUE(find_class_name("An Air France 707-320 airplane", "707-320"));
    EXPECT_FALSE(find_class_name("An Air France 707-3200 airplane", "707-320"));
}

TEST(NegativesRule, ReplaceEveryOccurrenceWithItsSeparators) {
    size_t n = 0;
    EXPECT_EQ(replace_class_name("This is a photo of cat.A cat and a category", "cat", "dog", &n),
              "This is a photo of dog.A dog and a category");
    EXPECT_EQ(n, 2u);
    EXPECT_EQ(replace_class_name("photo of Apply_Eye_Makeup. to apply eye makeup", "Apply_Eye_Makeup", "Sky Diving", &n),
              "photo of Sky_Diving. to Sky Diving");
    EXPECT_EQ(n, 2u);
    EXPECT_EQ(replace_class_name("a Cat", "cat", "sea_lion", &n), "a sea_lion");
    EXPECT_EQ(replace_class_name("no such thing", "cat", "dog", &n), "no such thing");
    EXPECT_EQ(n, 0u);
}

TEST(NegativesRule, ComparisonKey) {
    EXPECT_EQ(comparison_key("  A  Cat\tsits\n"), "a cat sits");
    EXPECT_EQ(comparison_key("A cat sits"), comparison_key("a CAT   sits "));
}

// --- mining --------------------------------------------------------------------------------------------------

TEST(NegativesMine, KindsCountsAndWeights) {
    const auto m = toy();
    MineConfig config;
    config.swaps = 3;
    config.attributes = 2;
    config.alpha = 0.25;
    MineStats stats;
    const auto records = mine_negatives(m, config, nullptr, stats);
    ASSERT_EQ(records.size(), m.items.size());
    for (const auto& r : records) {
        size_t swaps = 0, attributes = 0;
        for (const auto& c : r.negatives) {
            if (c.kind == NegativeKind::swap) {
                ++swaps;
                EXPECT_NE(c.class_name, r.class_name);
                EXPECT_FALSE(c.same_class);
                EXPECT_EQ(c.weight, 1.0);
                EXPECT_FALSE(find_class_name(c.text, r.class_name)) << c.text;
                EXPECT_TRUE(find_class_name(c.text, c.class_name)) << c.text;
            } else {
                ASSERT_EQ(c.kind, NegativeKind::attribute);
                ++attributes;
                EXPECT_EQ(c.class_name, r.class_name);
                EXPECT_TRUE(c.same_class);
                EXPECT_EQ(c.weight, 1.25);
            }
            EXPECT_NE(comparison_key(c.text), comparison_key(r.caption));
        }
        EXPECT_EQ(swaps, 3u);
        EXPECT_EQ(attributes, 1u);  // each class has one other item
    }
    EXPECT_EQ(stats.items, 12u);
    EXPECT_EQ(stats.swaps, 36u);
    EXPECT_EQ(stats.attributes, 12u);
    EXPECT_EQ(stats.class_absent, 0u);
    EXPECT_EQ(stats.duplicates, 0u);
}

// --swaps-within-category: swap classes come from the caption's own meta_category only; a category with one
// other class gives one swap; without the option, swaps cross categories.
TEST(NegativesMine, SwapsWithinTheCategory) {
    auto m = toy();
    for (auto& it : m.items) it.meta_category = (it.class_name == "cat" || it.class_name == "dog" || it.class_name == "ant") ? "animal" : "thing";
    m.items[11].meta_category = "";  // bus_2: no category, draws from all
    MineConfig config;
    config.swaps = 3;
    config.attributes = 0;
    config.swaps_within_category = true;
    MineStats stats;
    const auto records = mine_negatives(m, config, nullptr, stats);
    std::map<std::string, std::string> category;
    for (const auto& it : m.items)
        if (!it.meta_category.empty()) category[it.class_name] = it.meta_category;
    for (size_t i = 0; i < records.size(); ++i) {
        const auto& r = records[i];
        const size_t expected = i == 11 ? 3 : 2;  // two other classes in each category
        EXPECT_EQ(r.negatives.size(), expected) << r.caption_id;
        if (i == 11) continue;
        for (const auto& c : r.negatives)
            EXPECT_EQ(category[c.class_name], category[r.class_name]) << r.caption_id << " → " << c.class_name;
    }
    config.swaps_within_category = false;
    bool crossed_without = false;
    for (const auto& r : mine_negatives(m, config, nullptr, stats))
        for (const auto& c : r.negatives) crossed_without = crossed_without || category[c.class_name] != category[r.class_name];
    EXPECT_TRUE(crossed_without);
}

TEST(NegativesMine, SwapsUseUnderscoreOrSpaceAsTheCaptionDoes) {
    manifest::Manifest m;
    m.items.push_back(item("a", "This is a photo of Apply_Eye_Makeup.A person.", "Apply_Eye_Makeup"));
    m.items.push_back(item("b", "someone is sky diving over fields", "Sky_Diving"));
    MineConfig config;
    config.swaps = 5;
    config.attributes = 0;
    MineStats stats;
    const auto records = mine_negatives(m, config, nullptr, stats);
    ASSERT_EQ(records[0].negatives.size(), 1u);
    EXPECT_EQ(records[0].negatives[0].text, "This is a photo of sky_diving.A person.");
    ASSERT_EQ(records[1].negatives.size(), 1u);
    EXPECT_EQ(records[1].negatives[0].text, "someone is Apply Eye Makeup over fields");
}

TEST(NegativesMine, AbsentClassNameMakesNoSwap) {
    manifest::Manifest m;
    m.items.push_back(item("a", "a category of animals", "cat"));
    m.items.push_back(item("b", "a dog", "dog"));
    m.items.push_back(item("c", "a cat", "cat"));
    m.items.push_back(item("d", "an unlabelled thing", ""));
    MineConfig config;
    MineStats stats;
    const auto records = mine_negatives(m, config, nullptr, stats);
    ASSERT_EQ(records.size(), 4u);
    for (const auto& c : records[0].negatives) EXPECT_EQ(c.kind, NegativeKind::attribute);
    ASSERT_EQ(records[0].negatives.size(), 1u);
    EXPECT_EQ(records[0].negatives[0].text, "a cat");
    ASSERT_EQ(records[1].negatives.size(), 1u);  // one other class, no other dog
    EXPECT_EQ(records[1].negatives[0].text, "a cat");
    EXPECT_EQ(records[1].negatives[0].class_name, "cat");
    EXPECT_EQ(records[1].negatives[0].weight, 1.0);
    EXPECT_TRUE(records[3].negatives.empty());
    EXPECT_EQ(stats.class_absent, 1u);
    EXPECT_EQ(stats.no_class, 1u);
}

TEST(NegativesMine, DuplicatesAndThePositiveAreDropped) {
    manifest::Manifest m;
    m.items.push_back(item("a", "A cat sits.", "cat"));
    m.items.push_back(item("b", "a  CAT sits.", "cat"));   // equal to a's positive: not an attribute negative
    m.items.push_back(item("c", "A cat runs.", "cat"));
    m.items.push_back(item("d", "A cat runs. ", "cat"));  // equal to c's
    m.items.push_back(item("e", "A dog sits.", "dog", {"A cat sits.", "A Dog sits.", "a bird sits.", "a bird  sits."}));
    MineConfig config;
    config.swaps = 3;
    config.attributes = 5;
    config.keep_released = true;
    MineStats stats;
    const auto records = mine_negatives(m, config, nullptr, stats);
    std::vector<std::string> a;
    for (const auto& c : records[0].negatives) a.push_back(c.text);
    EXPECT_EQ(a.size(), 2u);  // swap "A dog sits." and one of c/d
    for (const auto& r : records) {
        std::set<std::string> keys{comparison_key(r.caption)};
        for (const auto& c : r.negatives) EXPECT_TRUE(keys.insert(comparison_key(c.text)).second) << c.text;
    }
    // e: swap "A cat sits." (kept), released: "A cat sits." duplicate, "A Dog sits." = positive, bird twice.
    const auto& e = records[4].negatives;
    ASSERT_EQ(e.size(), 2u);
    EXPECT_EQ(e[0].kind, NegativeKind::swap);
    EXPECT_EQ(e[1].kind, NegativeKind::released);
    EXPECT_EQ(e[1].text, "a bird sits.");
    EXPECT_EQ(e[1].class_name, "");
    EXPECT_FALSE(e[1].same_class);
    EXPECT_GT(stats.duplicates, 3u);
}

TEST(NegativesMine, ReleasedNegativesGetTheClassTheyName) {
    manifest::Manifest m;
    m.items.push_back(item("a", "A cat sits.", "cat", {"A sea lion sits.", "A cat lies."}));
    m.items.push_back(item("b", "A sea lion swims.", "sea lion"));
    MineConfig config;
    config.swaps = 0;
    config.attributes = 0;
    config.keep_released = true;
    config.alpha = 1.0;
    MineStats stats;
    const auto records = mine_negatives(m, config, nullptr, stats);
    ASSERT_EQ(records[0].negatives.size(), 2u);
    EXPECT_EQ(records[0].negatives[0].class_name, "sea lion");
    EXPECT_EQ(records[0].negatives[0].weight, 1.0);
    EXPECT_EQ(records[0].negatives[1].class_name, "cat");
    EXPECT_TRUE(records[0].negatives[1].same_class);
    EXPECT_EQ(records[0].negatives[1].weight, 2.0);
    config.keep_released = false;
    EXPECT_TRUE(mine_negatives(m, config, nullptr, stats)[0].negatives.empty());
}

TEST(NegativesMine, DeterministicUnderSeed) {
    const auto m = toy();
    MineConfig config;
    MineStats s1, s2, s3;
    const std::string a = dump(mine_negatives(m, config, nullptr, s1));
    const std::string b = dump(mine_negatives(m, config, nullptr, s2));
    EXPECT_EQ(a, b);
    config.seed = 2;
    EXPECT_NE(a, dump(mine_negatives(m, config, nullptr, s3)));
}

TEST(NegativesMine, HardSwapsComeFromTheNearestNames) {
    const auto m = toy();  // classes in byte order: Apply_Eye_Makeup ant bus cat dog sea lion
    ClassEmbeddings e;
    e.dim = 3;
    // cat and dog are near each other, ant near both; the rest far away.
    const std::map<std::string, std::vector<float>> v = {
        {"cat", {1, 0.1f, 0}}, {"dog", {1, 0, 0.1f}}, {"ant", {0.9f, 0.3f, 0.3f}},
        {"bus", {0, 1, 0}},    {"sea_lion", {0, 0, 1}}, {"Apply Eye Makeup", {0, -1, 0}},
    };
    for (const auto& [name, vec] : v) {
        e.names.push_back(name);
        float norm = 0;
        for (float x : vec) norm += x * x;
        for (float x : vec) e.vectors.push_back(x / std::sqrt(norm));
    }
    std::vector<std::string> classes = {"Apply_Eye_Makeup", "ant", "bus", "cat", "dog", "sea lion"};
    const auto near = nearest_classes(classes, e, 2);
    EXPECT_EQ(near[3], (std::vector<size_t>{4, 1}));  // cat: dog, ant
    EXPECT_EQ(near[4], (std::vector<size_t>{3, 1}));  // dog: cat, ant

    MineConfig config;
    config.hard_swap_p = 1.0;
    config.hard_pool = 2;
    config.swaps = 2;
    config.attributes = 0;
    MineStats stats;
    const auto records = mine_negatives(m, config, &e, stats);
    for (const auto& r : records) {
        if (r.class_name != "cat") continue;
        ASSERT_EQ(r.negatives.size(), 2u);
        std::set<std::string> got;
        for (const auto& c : r.negatives) {
            EXPECT_EQ(c.kind, NegativeKind::hard_swap);
            got.insert(c.class_name);
        }
        EXPECT_EQ(got, (std::set<std::string>{"dog", "ant"}));
    }
    EXPECT_EQ(stats.hard_swaps, stats.swaps);
    // More swaps than the pool: the rest are uniform.
    config.swaps = 4;
    MineStats more;
    const auto wider = mine_negatives(m, config, &e, more);
    EXPECT_EQ(wider.size(), 12u);
    EXPECT_EQ(more.swaps, 48u);
    EXPECT_EQ(more.hard_swaps, 24u);

    // No embedding for a class: an error naming it; p > 0 without embeddings: a usage error.
    ClassEmbeddings partial = e;
    partial.names[0] = "zebra";
    try {
        nearest_classes(classes, partial, 2);
        FAIL() << "no error";
    } catch (const Error& err) {
        EXPECT_EQ(err.code(), ErrorCode::mismatch);
        EXPECT_NE(std::string(err.what()).find("Apply_Eye_Makeup"), std::string::npos) << err.what();
    }
    try {
        mine_negatives(m, config, nullptr, stats);
        FAIL() << "no error";
    } catch (const Error& err) {
        EXPECT_EQ(err.code(), ErrorCode::usage);
    }
}

TEST(NegativesMine, JsonLines) {
    manifest::Manifest m;
    m.items.push_back(item("a", "a \"cat\"", "cat"));
    m.items.push_back(item("b", "a dog", "dog"));
    MineConfig config;
    MineStats stats;
    const std::string out = dump(mine_negatives(m, config, nullptr, stats));
    EXPECT_EQ(out,
              "{\"id\":\"a\",\"caption_id\":\"a#0\",\"image\":\"a.jpg\",\"caption\":\"a \\\"cat\\\"\",\"class\":\"cat\","
              "\"negatives\":[{\"text\":\"a \\\"dog\\\"\",\"class\":\"dog\",\"kind\":\"swap\",\"same_class\":false,"
              "\"weight\":1.0}]}\n"
              "{\"id\":\"b\",\"caption_id\":\"b#0\",\"image\":\"b.jpg\",\"caption\":\"a dog\",\"class\":\"dog\","
              "\"negatives\":[{\"text\":\"a cat\",\"class\":\"cat\",\"kind\":\"swap\",\"same_class\":false,"
              "\"weight\":1.0}]}\n");
}

// --- the released FDRD data ----------------------------------------------------------------------------------

TEST(NegativesSharedData, EveryCaltechTrainItemGetsNegatives) {
    if (test::test_data_dir().empty()) GTEST_SKIP() << test::no_test_data;
    const std::string path = test::test_data_dir() + "/data/fdrd/caltech101_train.json";
    ASSERT_TRUE(file_exists(path)) << path;
    const auto m = manifest::read_manifest(path, {}, Log{});
    ASSERT_EQ(m.items.size(), 5777u);
    MineConfig config;
    MineStats stats;
    const auto records = mine_negatives(m, config, nullptr, stats);
    ASSERT_EQ(records.size(), m.items.size());
    for (const auto& r : records) {
        ASSERT_FALSE(r.negatives.empty()) << r.id;
        size_t swaps = 0;
        for (const auto& c : r.negatives) {
            EXPECT_NE(comparison_key(c.text), comparison_key(r.caption)) << r.id;
            EXPECT_EQ(c.same_class, c.class_name == r.class_name);
            swaps += c.kind == NegativeKind::swap;
        }
        EXPECT_EQ(swaps, 3u) << r.id;
    }
    EXPECT_EQ(stats.class_absent, 0u);
    EXPECT_EQ(stats.swaps, 3 * 5777u);
    std::cout << "[ caltech101_train ] " << stats.summary() << "\n";
}

}  // namespace
}  // namespace dcar::train

namespace {
std::map<std::string, std::string> pool_of(int classes, int per_class, int classless) {
    std::map<std::string, std::string> pool;
    for (int c = 0; c < classes; ++c)
        for (int i = 0; i < per_class; ++i) pool["c" + std::to_string(c) + "_" + std::to_string(i)] = "class" + std::to_string(c);
    for (int i = 0; i < classless; ++i) pool["free_" + std::to_string(i)] = "";
    return pool;
}
}  // namespace

TEST(SplitShots, HoldsOutThenTakesShotsPerClassAndKeepsClasslessItems) {
    const auto pool = pool_of(4, 10, 3);
    const dcar::train::ShotSplit split = dcar::train::split_shots(pool, 2, 0.25, 9);
    EXPECT_EQ(split.val.size(), 11u);  // round(0.25 x 43)
    for (const auto& item : split.val) EXPECT_EQ(split.train.count(item), 0u) << item;
    std::map<std::string, int> per_class;
    for (const auto& item : split.train) ++per_class[pool.at(item)];
    for (int c = 0; c < 4; ++c) EXPECT_LE(per_class["class" + std::to_string(c)], 2);
    int classless_left = 0;
    for (const auto& [item, name] : pool)
        if (name.empty() && !split.val.count(item)) ++classless_left;
    EXPECT_EQ(per_class[""], classless_left);
}

TEST(SplitShots, DependsOnTheSeedOnlyAndKeepsAPoolThatIsTheShots) {
    const auto pool = pool_of(5, 12, 0);
    const auto a = dcar::train::split_shots(pool, 3, 0.0, 4), b = dcar::train::split_shots(pool, 3, 0.0, 4);
    EXPECT_EQ(a.train, b.train);
    EXPECT_NE(dcar::train::split_shots(pool, 3, 0.0, 5).train, a.train);
    EXPECT_EQ(a.train.size(), 15u);
    // The shots, drawn again from themselves with the same seed and count: every item stays.
    std::map<std::string, std::string> shots;
    for (const auto& item : a.train) shots[item] = pool.at(item);
    EXPECT_EQ(dcar::train::split_shots(shots, 3, 0.0, 4).train, a.train);
    EXPECT_EQ(dcar::train::split_shots(pool, 0, 0.0, 4).train.size(), pool.size());
}

// --- attribute swaps -----------------------------------------------------------------------------------------

namespace {
dcar::manifest::Item captioned(const std::string& id, const std::string& caption, const std::string& class_name) {
    dcar::manifest::Item it;
    it.id = id;
    it.image = id + ".jpg";
    it.captions = {caption};
    it.class_name = class_name;
    return it;
}

std::vector<std::string> words_of(const std::string& text) {
    std::vector<std::string> out;
    std::string word;
    for (char c : text + " ") {
        if (c == ' ' || c == '.' || c == ',') {
            if (!word.empty()) out.push_back(word);
            word.clear();
        } else {
            word += c;
        }
    }
    return out;
}
}  // namespace

TEST(AttributeSwaps, ReplaceOneWordByAnotherValueOfItsListThatThePoolUses) {
    dcar::manifest::Manifest m;
    m.items.push_back(captioned("a", "This is a red fox. It has a Red tail on the left, grey fur.", "red fox"));
    m.items.push_back(captioned("b", "This is a red fox. It has a blue tail on the right, gray fur.", "red fox"));
    m.items.push_back(captioned("c", "This is a kit fox. Three legs.", "kit fox"));
    dcar::train::MineConfig config;
    config.swaps = 0;
    config.attributes = 0;
    config.attribute_swaps = 10;
    config.alpha = 0.5;
    dcar::train::MineStats stats;
    const auto records = dcar::train::mine_negatives(m, config, nullptr, stats);
    const auto& negatives = records[0].negatives;
    // Colours in the pool: red, blue, grey (as first written; "gray" is the same value). "Red" (tail) → Blue or
    // Grey, "grey" (fur) → red or blue, never gray; "left" → right; the "red" of the class name stays; "green"
    // is in the lexicon but not in the pool; "Three" is a count, and no other count is in the pool.
    std::set<std::string> texts;
    for (const auto& n : negatives) {
        EXPECT_EQ(n.kind, dcar::train::NegativeKind::attribute_swap);
        EXPECT_EQ(n.class_name, "red fox");
        EXPECT_DOUBLE_EQ(n.weight, 1.5);
        texts.insert(n.text);
    }
    EXPECT_EQ(texts, (std::set<std::string>{"This is a red fox. It has a Blue tail on the left, grey fur.",
                                            "This is a red fox. It has a Grey tail on the left, grey fur.",
                                            "This is a red fox. It has a Red tail on the left, blue fur.",
                                            "This is a red fox. It has a Red tail on the left, red fur.",
                                            "This is a red fox. It has a Red tail on the right, grey fur."}));
    EXPECT_EQ(stats.attribute_swaps, 5u + 5u);  // b likewise: blue, right and gray
    EXPECT_EQ(stats.no_attribute_word, 0u);     // c has "Three", which has no other value to become
    for (const auto& n : negatives) {
        const auto a = words_of(records[0].caption), b = words_of(n.text);
        ASSERT_EQ(a.size(), b.size());
        size_t changed = 0;
        for (size_t i = 0; i < a.size(); ++i) changed += a[i] != b[i];
        EXPECT_EQ(changed, 1u) << n.text;
    }
    EXPECT_TRUE(records[2].negatives.empty());
}

TEST(AttributeSwaps, LexiconFileAndItsErrors) {
    const std::string dir = ::testing::TempDir();
    auto write = [&](const std::string& name, const std::string& body) {
        std::string out;
        auto sink = dcar::io::open_sink(dir + name);
        sink->write(body);
        sink->commit();
        return dir + name;
    };
    const auto lexicon = dcar::train::read_attribute_lexicon(
        write("lex.tsv", "# world\nrim\tsolid\nrim\tdashed|broken\n\nmark\tdot\nmark\tring\n"));
    ASSERT_EQ(lexicon.groups.size(), 2u);
    EXPECT_EQ(lexicon.groups[0].name, "rim");
    EXPECT_EQ(lexicon.groups[0].values[1], (std::vector<std::string>{"dashed", "broken"}));
    dcar::manifest::Manifest m;
    m.items.push_back(captioned("a", "A zorblat with a solid rim and a dot.", "zorblat"));
    m.items.push_back(captioned("b", "A zorblat with a dashed rim and a ring.", "zorblat"));
    dcar::train::MineConfig config;
    config.swaps = config.attributes = 0;
    config.attribute_swaps = 5;
    config.lexicon = lexicon;
    dcar::train::MineStats stats;
    const auto records = dcar::train::mine_negatives(m, config, nullptr, stats);
    std::set<std::string> texts;
    for (const auto& n : records[0].negatives) texts.insert(n.text);
    EXPECT_EQ(texts, (std::set<std::string>{"A zorblat with a dashed rim and a dot.", "A zorblat with a solid rim and a ring."}));
    for (const auto& [name, body, message] : std::vector<std::tuple<std::string, std::string, std::string>>{
             {"no_tab.tsv", "rim solid\n", "no_tab.tsv:1: expected GROUP<TAB>word|word"},
             {"twice.tsv", "rim\tsolid\nmark\tsolid\n", "twice.tsv:2: 'solid' is listed twice"},
             {"phrase.tsv", "rim\tsolid|very solid\n", "twice"},
             {"empty.tsv", "# nothing\n", "no attribute values"}}) {
        try {
            dcar::train::read_attribute_lexicon(write(name, body));
            ADD_FAILURE() << name << " was accepted";
        } catch (const dcar::Error& e) {
            if (name != "phrase.tsv") EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
            else EXPECT_NE(std::string(e.what()).find("is not one word"), std::string::npos) << e.what();
        }
    }
}
