// The synthetic world (lib/world, docs/WORLD.md): class structure, nuisance independence, caption grammar,
// rendering that shows the attributes, the files dcar reads, determinism, and reruns.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <omp.h>
#include <set>
#include <sstream>
#include <sys/stat.h>
#include <tuple>

#include "core/error.hpp"
#include "core/fnv.hpp"
#include "manifest/manifest.hpp"
#include "test_util.hpp"
#include "negatives/negatives.hpp"
#include "world/world.hpp"

namespace dcar::world {
namespace {

using Json = nlohmann::json;

WorldConfig small_config(int version = latest_world_version) {
    WorldConfig c = defaults_of_version(version);
    if (version >= 2) c.pretrain_per_novel = 2;
    c.size = 32;
    c.families = 3;
    c.base_per_family = 4;
    c.novel_per_family = 3;
    c.pretrain_per_class = 3;
    c.train_per_class = 4;
    c.test_per_class = 2;
    return c;
}

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

bool exists(const std::string& path) {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0;
}

// A pretraining option leaves the train and test splits as they were: the same captions and the same class
// attributes, image for image.
void expect_same_downstream(const WorldConfig& plain, const WorldConfig& changed, const std::vector<ClassSpec>& classes) {
    for (Split split : {Split::train, Split::test}) {
        const auto b = plan_split(plain, classes, split), a = plan_split(changed, classes, split);
        ASSERT_EQ(a.size(), b.size());
        for (size_t i = 0; i < a.size(); ++i) {
            EXPECT_EQ(a[i].caption, b[i].caption);
            EXPECT_EQ(a[i].scene.attributes, b[i].scene.attributes);
        }
    }
}

// The pretraining plans of `plain` and `changed`, image for image as (before, after), checked to share their ids
// and scene noise: for pretraining options that leave the nuisance of every image alone.
std::vector<std::pair<ImagePlan, ImagePlan>> same_pretraining_images(const WorldConfig& plain, const WorldConfig& changed,
                                                                     const std::vector<ClassSpec>& classes) {
    const auto before = plan_split(plain, classes, Split::pretrain), after = plan_split(changed, classes, Split::pretrain);
    EXPECT_EQ(before.size(), after.size());
    std::vector<std::pair<ImagePlan, ImagePlan>> pairs;
    for (size_t i = 0; i < std::min(before.size(), after.size()); ++i) {
        EXPECT_EQ(after[i].id, before[i].id);
        EXPECT_EQ(after[i].scene.nuisance.noise_seed, before[i].scene.nuisance.noise_seed) << after[i].id;
        pairs.emplace_back(before[i], after[i]);
    }
    return pairs;
}

// Every file a generated world consists of, relative to its directory.
std::vector<std::string> world_files(const std::string& dir) {
    std::vector<std::string> files = {"world.json", "pretrain.json", "train.json", "test.json"};
    for (const char* split : {"pretrain.json", "train.json", "test.json"}) {
        const Json records = Json::parse(slurp(dir + "/" + split));
        for (const auto& record : records) files.push_back(record["file_path"]);
    }
    return files;
}

bool has_word(const std::string& text, const std::string& word) { return train::find_class_name(text, word); }

uint64_t fnv1a(const std::string& bytes) {
    Fnv1a64 h;
    h.add(bytes);
    return h.value();
}

// --- classes -------------------------------------------------------------------------------------------

TEST(WorldClasses, NamesAreUniqueInventedWords) {
    const auto classes = make_classes(WorldConfig{});
    ASSERT_EQ(classes.size(), 96u);
    const auto& words = caption_words();
    std::set<std::string> names;
    for (const auto& k : classes) {
        EXPECT_TRUE(names.insert(k.name).second) << "repeated name " << k.name;
        EXPECT_GE(k.name.size(), 5u);
        for (char ch : k.name) EXPECT_TRUE(ch >= 'a' && ch <= 'z') << k.name;
        EXPECT_EQ(std::string("aeiou").find(k.name[0]), std::string::npos) << k.name << " starts with a vowel";
        EXPECT_EQ(std::find(words.begin(), words.end(), k.name), words.end()) << k.name << " is a caption word";
    }
}

TEST(WorldClasses, FamiliesHoldDistinctCombinationsAndBaseShowsEveryValue) {
    const auto classes = make_classes(WorldConfig{});
    std::map<int, std::vector<ClassAttributes>> by_family;
    std::map<int, int> novel, base;
    bool seen_base = false;
    for (const auto& k : classes) {
        if (!k.novel) seen_base = true;
        EXPECT_FALSE(k.novel && seen_base) << "novel classes come first";
        for (const auto& other : by_family[k.family]) EXPECT_FALSE(other == k.attributes) << k.name << " repeats a combination";
        by_family[k.family].push_back(k.attributes);
        ++(k.novel ? novel : base)[k.family];
    }
    ASSERT_EQ(by_family.size(), 6u);
    for (int f = 0; f < 6; ++f) {
        EXPECT_EQ(novel[f], 8);
        EXPECT_EQ(base[f], 8);
        std::set<int> parts, rims, colours, shapes;
        for (const auto& k : classes)
            if (k.family == f && !k.novel) {
                parts.insert(k.attributes.parts);
                rims.insert(k.attributes.rim);
                colours.insert(k.attributes.mark_colour);
                shapes.insert(k.attributes.mark_shape);
            }
        EXPECT_EQ(parts.size(), 4u) << family_name(f);
        EXPECT_EQ(rims.size(), 4u) << family_name(f);
        EXPECT_EQ(colours.size(), 4u) << family_name(f);
        EXPECT_EQ(shapes.size(), 4u) << family_name(f);
    }
}

TEST(WorldClasses, NovelClassesDoNotDependOnTheBaseCount) {
    WorldConfig a, b;
    b.base_per_family = 3;
    const auto ka = make_classes(a), kb = make_classes(b);
    for (size_t i = 0; i < 48; ++i) {
        ASSERT_TRUE(ka[i].novel && kb[i].novel);
        EXPECT_EQ(ka[i].name, kb[i].name);
        EXPECT_TRUE(ka[i].attributes == kb[i].attributes);
    }
    WorldConfig c;
    c.seed = 2;
    const auto kc = make_classes(c);
    size_t same = 0;
    for (size_t i = 0; i < ka.size(); ++i) same += ka[i].name == kc[i].name;
    EXPECT_LT(same, 3u) << "another seed gives other classes";
}

TEST(WorldClasses, RejectsBadOptions) {
    auto bad = [](auto change) {
        WorldConfig c;
        change(c);
        try {
            check_config(c);
        } catch (const Error& e) {
            return e.code() == ErrorCode::usage;
        }
        return false;
    };
    EXPECT_TRUE(bad([](WorldConfig& c) { c.size = 8; }));
    EXPECT_TRUE(bad([](WorldConfig& c) { c.families = 7; }));
    EXPECT_TRUE(bad([](WorldConfig& c) { c.families = 0; }));
    EXPECT_TRUE(bad([](WorldConfig& c) { c.base_per_family = 200, c.novel_per_family = 57; }));
    EXPECT_TRUE(bad([](WorldConfig& c) { c.train_per_class = -1; }));
    EXPECT_TRUE(bad([](WorldConfig& c) { c.mention_class = 1.5; }));
    EXPECT_TRUE(bad([](WorldConfig& c) { c.quality = 0; }));
    EXPECT_FALSE(bad([](WorldConfig&) {}));
}

// --- nuisance and captions ---------------------------------------------------------------------------------

TEST(WorldNuisance, DrawsDoNotDependOnTheClassAttributes) {
    const WorldConfig config = small_config();
    auto classes = make_classes(config);
    const auto before = plan_split(config, classes, Split::train);
    classes[0].attributes.parts = classes[0].attributes.parts == 3 ? 6 : 3;
    classes[0].attributes.mark_colour = (classes[0].attributes.mark_colour + 1) % 4;
    const auto after = plan_split(config, classes, Split::train);
    ASSERT_EQ(before.size(), after.size());
    for (size_t i = 0; i < before.size(); ++i) {
        const Nuisance &a = before[i].scene.nuisance, &b = after[i].scene.nuisance;
        EXPECT_EQ(a.size, b.size);
        EXPECT_EQ(a.size_factor, b.size_factor);
        EXPECT_EQ(a.tint, b.tint);
        EXPECT_EQ(a.orientation, b.orientation);
        EXPECT_EQ(a.turn, b.turn);
        EXPECT_EQ(a.position, b.position);
        EXPECT_EQ(a.background, b.background);
        EXPECT_EQ(a.pattern, b.pattern);
        EXPECT_EQ(a.noise_seed, b.noise_seed);
        EXPECT_EQ(before[i].description.mentioned, after[i].description.mentioned);
    }
}

TEST(WorldNuisance, EveryValueOccursInEverySplit) {
    const WorldConfig config;
    const auto classes = make_classes(config);
    for (Split split : {Split::pretrain, Split::train, Split::test}) {
        std::set<int> sizes, tints, orientations, positions, backgrounds, patterns;
        for (const auto& p : plan_split(config, classes, split)) {
            const Nuisance& n = p.scene.nuisance;
            sizes.insert(n.size);
            tints.insert(n.tint);
            orientations.insert(n.orientation);
            positions.insert(n.position);
            backgrounds.insert(n.background);
            patterns.insert(n.pattern);
        }
        EXPECT_EQ(sizes.size(), size_t(size_count)) << split_name(split);
        EXPECT_EQ(tints.size(), size_t(tint_count)) << split_name(split);
        EXPECT_EQ(orientations.size(), size_t(orientation_count)) << split_name(split);
        EXPECT_EQ(positions.size(), size_t(position_count)) << split_name(split);
        EXPECT_EQ(backgrounds.size(), size_t(background_count)) << split_name(split);
        EXPECT_EQ(patterns.size(), size_t(pattern_count)) << split_name(split);
    }
}

TEST(WorldCaptions, FdrdFormDownstreamAndNoClassNamesInPretrainingV1) {
    const WorldConfig config = defaults_of_version(1);
    const auto classes = make_classes(config);
    const auto pretrain = plan_split(config, classes, Split::pretrain);
    ASSERT_EQ(pretrain.size(), 4800u);
    for (const auto& p : pretrain) {
        EXPECT_EQ(p.caption, p.description.text);
        EXPECT_EQ(p.caption.find("This is a"), std::string::npos) << p.caption;
        for (const auto& k : classes) ASSERT_FALSE(has_word(p.caption, k.name)) << k.name << " in " << p.caption;
    }
    for (Split split : {Split::train, Split::test}) {
        const auto plans = plan_split(config, classes, split);
        EXPECT_EQ(plans.size(), split == Split::train ? 1536u : 1200u);
        for (const auto& p : plans) {
            const ClassSpec& k = classes[p.class_index];
            EXPECT_TRUE(k.novel);
            ASSERT_EQ(p.caption.rfind("This is a " + k.name + ". ", 0), 0u) << p.caption;
            EXPECT_EQ(p.caption.substr(12 + k.name.size()), p.description.text);
            EXPECT_LE(p.caption.size(), 240u);
        }
    }
}

// Version 2: novel classes appear in pretraining, named some of the time as "{name} {family}. ...", base class
// names never; downstream captions are the name sentence, the description and `filler` distinct sentences of
// the bank, each whole, around the description.
TEST(WorldCaptions, V2NamesInPretrainingAndFillerDownstream) {
    WorldConfig config;
    config.pretrain_per_class = 5;
    config.pretrain_per_novel = 7;
    const auto classes = make_classes(config);
    const auto pretrain = plan_split(config, classes, Split::pretrain);
    ASSERT_EQ(pretrain.size(), 6u * 8 * 5 + 6u * 8 * 7);
    size_t named = 0, novel_images = 0;
    std::set<std::string> ids;
    for (const auto& p : pretrain) {
        const ClassSpec& k = classes[p.class_index];
        ASSERT_TRUE(ids.insert(p.id).second) << p.id;
        for (const auto& other : classes)
            if (other.name != k.name) ASSERT_FALSE(has_word(p.caption, other.name)) << other.name << " in " << p.caption;
        if (!k.novel) {
            EXPECT_EQ(p.caption, p.description.text);
            continue;
        }
        ++novel_images;
        if (p.caption == p.description.text) continue;
        ++named;
        EXPECT_EQ(p.caption, k.name + " " + family_name(k.family) + ". " + p.description.text);
    }
    EXPECT_EQ(novel_images, 6u * 8 * 7);
    EXPECT_GT(named, novel_images / 3);  // p = 0.5 over 336 images
    EXPECT_LT(named, novel_images * 2 / 3);
    // Every class attribute is named in pretraining (p = 1).
    for (const auto& p : pretrain) EXPECT_EQ(p.description.mentioned.size() >= 4u, true) << p.caption;

    // The novel classes' pretraining images are other draws than the base classes' and the downstream ones.
    std::set<uint64_t> scenes;
    for (Split split : {Split::pretrain, Split::train, Split::test})
        for (const auto& p : plan_split(config, classes, split)) EXPECT_TRUE(scenes.insert(p.scene.nuisance.noise_seed).second) << p.id;

    for (int filler : {0, 2, 4}) {
        config.filler = filler;
        for (const auto& p : plan_split(config, classes, Split::test)) {
            const ClassSpec& k = classes[p.class_index];
            const std::string head = "This is a " + k.name + ". ";
            ASSERT_EQ(p.caption.rfind(head, 0), 0u) << p.caption;
            std::string rest = p.caption.substr(head.size());
            const size_t at = rest.find(p.description.text);
            ASSERT_NE(at, std::string::npos) << p.caption;
            rest.erase(at, p.description.text.size());
            std::set<int> used;
            for (int i = 0; i < filler_bank_size; ++i) {
                const size_t where = rest.find(filler_sentence(i));
                if (where == std::string::npos) continue;
                used.insert(i);
                rest.erase(where, std::string(filler_sentence(i)).size());
            }
            EXPECT_EQ(int(used.size()), filler) << p.caption;
            EXPECT_EQ(rest.find_first_not_of(' '), std::string::npos) << "left over: '" << rest << "' in " << p.caption;
        }
    }
    // No filler sentence names an attribute value or a class.
    for (int i = 0; i < filler_bank_size; ++i) {
        for (const auto& word : caption_words(1))
            if (word.size() > 3 && word != "this" && word != "there" && word != "with" && word != "shown")
                EXPECT_FALSE(has_word(filler_sentence(i), word)) << word << " in " << filler_sentence(i);
        for (const auto& k : classes) EXPECT_FALSE(has_word(filler_sentence(i), k.name));
    }
}

// --pretrain-silhouette: that share of pretraining captions names the family and part count and nothing else;
// the pixels, the downstream captions and the other pretraining captions stay as they were.
TEST(WorldCaptions, SilhouetteOnlyPretrainingCaptions) {
    WorldConfig plain;
    plain.pretrain_per_class = 6;
    plain.pretrain_per_novel = 2;
    WorldConfig silhouette = plain;
    silhouette.pretrain_silhouette = 0.5;
    const auto classes = make_classes(plain);
    ASSERT_EQ(make_classes(silhouette).size(), classes.size());
    const auto pairs = same_pretraining_images(plain, silhouette, classes);
    size_t alone = 0;
    for (const auto& [b, a] : pairs) {
        if (a.description.text == b.description.text) {
            EXPECT_EQ(a.caption, b.caption);
            continue;
        }
        ++alone;
        EXPECT_EQ(a.description.mentioned, std::vector<std::string>{"parts"}) << a.caption;
        const ClassSpec& k = classes[a.class_index];
        EXPECT_TRUE(has_word(a.caption, family_name(k.family))) << a.caption;
        EXPECT_NE(a.caption.find(std::string(number_word(k.attributes.parts)) + " " + part_noun(k.family)), std::string::npos)
            << a.caption;
        for (int v = 0; v < values_per_attribute; ++v) {
            EXPECT_FALSE(has_word(a.caption, mark_colour_name(v))) << a.caption;
            EXPECT_FALSE(has_word(a.caption, rim_name(v))) << a.caption;
        }
        for (int t = 0; t < tint_count; ++t) EXPECT_FALSE(has_word(a.caption, tint_name(t))) << a.caption;
        EXPECT_FALSE(has_word(a.caption, "background")) << a.caption;
    }
    EXPECT_GT(alone, pairs.size() / 3);  // p = 0.5 over 384 images
    EXPECT_LT(alone, pairs.size() * 2 / 3);
    expect_same_downstream(plain, silhouette, classes);
    silhouette.pretrain_silhouette = 1;
    for (const auto& p : plan_split(silhouette, classes, Split::pretrain))
        ASSERT_EQ(p.description.mentioned, std::vector<std::string>{"parts"}) << p.caption;
    WorldConfig v1 = defaults_of_version(1);
    v1.pretrain_silhouette = 0.5;
    EXPECT_THROW(check_config(v1), Error);
    silhouette.pretrain_silhouette = 1.5;
    EXPECT_THROW(check_config(silhouette), Error);
}

// --pretrain-without-parts: that share of all pretraining captions is the caption it would be without the part
// count (the family, the other attributes and the nuisance as drawn), drawn among the captions that
// --pretrain-silhouette leaves; the silhouette-only ones stay as they were.
TEST(WorldCaptions, PretrainingCaptionsWithoutThePartCount) {
    WorldConfig plain;
    plain.pretrain_per_class = 6;
    plain.pretrain_per_novel = 2;
    plain.pretrain_silhouette = 0.5;
    WorldConfig without = plain;
    without.pretrain_without_parts = 0.25;
    const auto classes = make_classes(plain);
    const auto pairs = same_pretraining_images(plain, without, classes);
    size_t silhouette_only = 0, without_parts = 0, with_nuisance = 0;
    for (const auto& [b, a] : pairs) {
        if (b.description.mentioned == std::vector<std::string>{"parts"}) {
            ++silhouette_only;
            EXPECT_EQ(a.caption, b.caption);
            continue;
        }
        if (a.description.text == b.description.text) {
            EXPECT_EQ(a.caption, b.caption);
            continue;
        }
        ++without_parts;
        std::vector<std::string> expected = b.description.mentioned;
        ASSERT_EQ(expected.front(), "parts") << b.caption;  // pretraining names every class attribute
        expected.erase(expected.begin());
        EXPECT_EQ(a.description.mentioned, expected) << a.caption;
        with_nuisance += expected.size() > 3;
        const std::string part_count = std::string(number_word(a.scene.attributes.parts)) + " " + part_noun(a.scene.family);
        EXPECT_NE(b.caption.find(part_count), std::string::npos) << b.caption;
        EXPECT_EQ(a.caption.find(part_count), std::string::npos) << a.caption;
        EXPECT_FALSE(has_word(a.caption, part_noun(a.scene.family))) << a.caption;
        EXPECT_TRUE(has_word(a.caption, family_name(a.scene.family))) << a.caption;
        EXPECT_TRUE(has_word(a.caption, rim_name(a.scene.attributes.rim))) << a.caption;
        EXPECT_TRUE(has_word(a.caption, mark_colour_name(a.scene.attributes.mark_colour))) << a.caption;
    }
    // Over 384 captions: half silhouette-only, a quarter of all without the part count, some naming nuisance.
    EXPECT_GT(silhouette_only, pairs.size() * 4 / 10);
    EXPECT_LT(silhouette_only, pairs.size() * 6 / 10);
    EXPECT_GT(without_parts, pairs.size() * 3 / 20);
    EXPECT_LT(without_parts, pairs.size() * 7 / 20);
    EXPECT_GT(with_nuisance, 0u);
    expect_same_downstream(plain, without, classes);
    without.pretrain_without_parts = 0.5;  // with the silhouette's 0.5: no caption names the part count and more
    for (const auto& p : plan_split(without, classes, Split::pretrain))
        EXPECT_TRUE(p.description.mentioned == std::vector<std::string>{"parts"} ||
                    std::find(p.description.mentioned.begin(), p.description.mentioned.end(), "parts") == p.description.mentioned.end())
            << p.caption;
    without.pretrain_without_parts = 0.6;  // 0.5 + 0.6 > 1
    EXPECT_THROW(check_config(without), Error);
    WorldConfig v1 = defaults_of_version(1);
    v1.pretrain_without_parts = 0.5;
    EXPECT_THROW(check_config(v1), Error);
}

// --pretrain-filler: that share of pretraining captions is the same caption with one sentence of the filler bank
// before or after it; the pixels, the downstream captions and the other pretraining captions stay as they were.
TEST(WorldCaptions, FillerInPretrainingCaptions) {
    WorldConfig plain;
    plain.pretrain_per_class = 6;
    plain.pretrain_per_novel = 2;
    WorldConfig chatter = plain;
    chatter.pretrain_filler = 0.5;
    const auto classes = make_classes(plain);
    const auto pairs = same_pretraining_images(plain, chatter, classes);
    size_t with = 0, in_front = 0;
    for (const auto& [b, a] : pairs) {
        EXPECT_EQ(a.description.text, b.description.text);
        if (a.caption == b.caption) continue;
        ++with;
        int found = 0;
        for (int s = 0; s < filler_bank_size; ++s) {
            const std::string sentence = filler_sentence(s);
            if (a.caption == sentence + " " + b.caption) ++found, ++in_front;
            if (a.caption == b.caption + " " + sentence) ++found;
        }
        EXPECT_EQ(found, 1) << a.caption;
    }
    EXPECT_GT(with, pairs.size() / 3);  // p = 0.5 over 384 images
    EXPECT_LT(with, pairs.size() * 2 / 3);
    EXPECT_GT(in_front, with / 4);  // each side with p = 0.5
    EXPECT_LT(in_front, with * 3 / 4);
    expect_same_downstream(plain, chatter, classes);
    WorldConfig v1 = defaults_of_version(1);
    v1.pretrain_filler = 0.5;
    EXPECT_THROW(check_config(v1), Error);
    chatter.pretrain_filler = -0.1;
    EXPECT_THROW(check_config(chatter), Error);
}

// --pretrain-random-attributes: that share of base pretraining images takes a combination drawn in its family,
// never a novel class's; with 1 the part count no longer follows from the other class attributes. Novel classes'
// pretraining images, every nuisance and the downstream splits stay as they were.
TEST(WorldPretraining, BaseImagesWithRandomAttributes) {
    WorldConfig plain;
    plain.pretrain_per_class = 20;
    plain.pretrain_per_novel = 2;
    WorldConfig random = plain;
    random.pretrain_random_attributes = 1;
    const auto classes = make_classes(plain);
    std::set<std::tuple<int, int, int, int, int>> novel_combinations;
    for (const auto& k : classes)
        if (k.novel)
            novel_combinations.insert({k.family, k.attributes.parts, k.attributes.rim, k.attributes.mark_colour,
                                       k.attributes.mark_shape});
    const auto pairs = same_pretraining_images(plain, random, classes);
    size_t changed = 0;
    // For each (family, rim, mark colour, mark shape) seen, the part counts seen with it.
    std::map<std::tuple<int, int, int, int>, std::set<int>> parts_given_rest;
    for (const auto& [b, a] : pairs) {
        const ClassSpec& k = classes[a.class_index];
        EXPECT_EQ(a.scene.family, k.family) << a.id;
        if (k.novel) {
            EXPECT_EQ(a.scene.attributes, k.attributes) << a.id;
            EXPECT_EQ(a.caption, b.caption) << a.id;
            continue;
        }
        const ClassAttributes& x = a.scene.attributes;
        EXPECT_EQ(novel_combinations.count({k.family, x.parts, x.rim, x.mark_colour, x.mark_shape}), 0u) << a.id;
        if (!(x == k.attributes)) ++changed;
        parts_given_rest[{k.family, x.rim, x.mark_colour, x.mark_shape}].insert(x.parts);
        // The caption describes what is drawn.
        if (std::find(a.description.mentioned.begin(), a.description.mentioned.end(), "parts") != a.description.mentioned.end())
            EXPECT_NE(a.caption.find(number_word(x.parts)), std::string::npos) << a.caption;
    }
    const size_t base_images = size_t(plain.families) * plain.base_per_family * plain.pretrain_per_class;
    EXPECT_GT(changed, base_images * 9 / 10);  // a class's own combination is 1 of about 248
    size_t ambiguous = 0;
    for (const auto& [rest, parts] : parts_given_rest) ambiguous += parts.size() > 1;
    EXPECT_GT(ambiguous, parts_given_rest.size() / 4);  // with fixed classes: none
    expect_same_downstream(plain, random, classes);
    random.pretrain_random_attributes = 0.5;
    size_t half = 0;
    for (const auto& p : plan_split(random, classes, Split::pretrain))
        half += !classes[p.class_index].novel && !(p.scene.attributes == classes[p.class_index].attributes);
    EXPECT_GT(half, base_images / 3);
    EXPECT_LT(half, base_images * 2 / 3);
    WorldConfig v1 = defaults_of_version(1);
    v1.pretrain_random_attributes = 0.5;
    EXPECT_THROW(check_config(v1), Error);
    random.pretrain_random_attributes = -0.1;
    EXPECT_THROW(check_config(random), Error);
}

// Version 1 as it was: the split files of a small v1 world are those the generator wrote before version 2
// existed (the same bytes, recorded as FNV-1a hashes; the full default v1 world was compared file by file,
// images included, when version 2 was added).
TEST(WorldFiles, Version1Unchanged) {
    test::TempDir dir;
    GenerateJob job;
    job.config = defaults_of_version(1);
    job.config.size = 32;
    job.config.families = 2;
    job.config.base_per_family = 4;
    job.config.novel_per_family = 2;
    job.config.pretrain_per_class = 3;
    job.config.train_per_class = 2;
    job.config.test_per_class = 2;
    job.out_dir = dir.file("v1");
    generate_world(job, Log());
    for (const auto& [file, hash] : std::vector<std::pair<std::string, uint64_t>>{
             {"pretrain.json", 3405849740819150985ull}, {"train.json", 18102071181855092182ull}, {"test.json", 4691300057131777527ull}})
        EXPECT_EQ(fnv1a(slurp(dir.file("v1/" + file))), hash) << file;
    EXPECT_EQ(Json::parse(slurp(dir.file("v1/world.json")))["world_version"], 1);

    GenerateJob bad = job;
    bad.config.filler = 2;
    EXPECT_THROW(generate_world(bad, Log()), Error);
    EXPECT_THROW(defaults_of_version(3), Error);
}

// A mentioned attribute's words are in the caption; an unmentioned class attribute's are not.
TEST(WorldCaptions, DescribeExactlyWhatIsMentioned) {
    const WorldConfig config;
    const auto classes = make_classes(config);
    size_t class_mentions = 0, class_slots = 0;
    for (Split split : {Split::pretrain, Split::train}) {
        for (const auto& p : plan_split(config, classes, split)) {
            const std::string& t = p.description.text;
            const std::set<std::string> m(p.description.mentioned.begin(), p.description.mentioned.end());
            const ClassAttributes& a = p.scene.attributes;
            const Nuisance& n = p.scene.nuisance;
            EXPECT_TRUE(has_word(t, family_name(p.scene.family))) << t;
            const std::string parts = std::string(number_word(a.parts)) + " " + part_noun(p.scene.family);
            EXPECT_EQ(has_word(t, parts), m.count("parts") > 0) << t;
            EXPECT_EQ(has_word(t, "rim"), m.count("rim") > 0) << t;
            if (m.count("rim")) EXPECT_TRUE(has_word(t, std::string(rim_name(a.rim)) + " rim")) << t;
            EXPECT_EQ(has_word(t, mark_colour_name(a.mark_colour)), m.count("mark_colour") > 0) << t;
            EXPECT_EQ(has_word(t, mark_shape_name(a.mark_shape)), m.count("mark_shape") > 0) << t;
            if (m.count("tint")) EXPECT_TRUE(has_word(t, tint_name(n.tint))) << t;
            if (m.count("orientation")) EXPECT_TRUE(has_word(t, orientation_name(n.orientation))) << t;
            if (m.count("background")) EXPECT_TRUE(has_word(t, background_name(n.background))) << t;
            if (m.count("pattern")) EXPECT_TRUE(has_word(t, pattern_name(n.pattern))) << t;
            if (m.count("position")) EXPECT_TRUE(has_word(t, position_name(n.position))) << t;
            EXPECT_EQ(has_word(t, "background"), m.count("background") + m.count("pattern") > 0) << t;
            if (split == Split::train) {
                class_slots += 4;
                for (const char* key : {"parts", "rim", "mark_colour", "mark_shape"}) class_mentions += m.count(key);
            }
        }
    }
    // --mention-class 0.5 over 1536 captions × 4 attributes.
    EXPECT_NEAR(double(class_mentions) / class_slots, 0.5, 0.03);
}

TEST(WorldCaptions, MentionProbabilitiesZeroAndOne) {
    WorldConfig config = small_config();
    config.mention_class = 1;
    config.mention_nuisance = 0;
    const auto classes = make_classes(config);
    for (const auto& p : plan_split(config, classes, Split::test))
        EXPECT_EQ(p.description.mentioned, (std::vector<std::string>{"parts", "rim", "mark_colour", "mark_shape"}));
    config.mention_class = 0;
    config.mention_nuisance = 1;
    for (const auto& p : plan_split(config, classes, Split::test)) {
        EXPECT_EQ(p.description.mentioned.size(), 6u);
        EXPECT_EQ(p.description.mentioned.front(), "size");
    }
}

// --- rendering ---------------------------------------------------------------------------------------------

Scene plain_scene(int family, int parts, int mark_colour, int mark_shape, int version = latest_world_version) {
    Scene s;
    s.version = version;
    s.family = family;
    s.attributes.parts = parts;
    s.attributes.rim = 0;
    s.attributes.mark_colour = mark_colour;
    s.attributes.mark_shape = mark_shape;
    s.nuisance.size = 2;
    s.nuisance.position = 4;
    s.nuisance.tint = 0;      // grey body
    s.nuisance.background = 0;  // white
    s.nuisance.pattern = 0;
    s.nuisance.noise_seed = 7;
    return s;
}

std::array<int, 3> pixel(const std::vector<uint8_t>& rgb, int size, double x, double y) {
    const int ix = int(x), iy = int(y);
    const uint8_t* p = &rgb[(size_t(iy) * size + ix) * 3];
    return {p[0], p[1], p[2]};
}

void expect_near(std::array<int, 3> got, Rgb want, int tolerance, const std::string& what) {
    EXPECT_NEAR(got[0], want.r, tolerance) << what;
    EXPECT_NEAR(got[1], want.g, tolerance) << what;
    EXPECT_NEAR(got[2], want.b, tolerance) << what;
}

TEST(WorldRender, DeterministicAndNoiseSeeded) {
    const Scene s = plain_scene(0, 5, 0, 2);
    EXPECT_EQ(render(s, 64), render(s, 64));
    Scene t = s;
    t.nuisance.noise_seed = 8;
    EXPECT_NE(render(s, 64), render(t, 64));
}

TEST(WorldRender, MarkColourShowsWhereTheMarkIs) {
    const int size = 64;
    for (int family = 0; family < max_families; ++family)
        for (int colour = 0; colour < values_per_attribute; ++colour) {
            for (int version = 1; version <= latest_world_version; ++version) {
            const Scene s = plain_scene(family, 3 + colour, colour, 0, version);  // a dot
            const auto rgb = render(s, size);
            const Layout l = layout_of(s, size);
            const std::string what = std::string(family_name(family)) + " " + mark_colour_name(colour) + " v" + std::to_string(version);
            expect_near(pixel(rgb, size, l.cx, l.cy), mark_colour_rgb(colour), 8, what + " at the centre");
            // Between the dot (radius 0.26 R at most) and the rim (0.35 R from the centre at least): the body's grey.
            expect_near(pixel(rgb, size, l.cx, l.cy - 0.31 * l.radius), tint_rgb(0), 8, what + " body");
          }
        }
}

TEST(WorldRender, RingIsHollowAndBarIsLong) {
    const int size = 96;
    Scene ring = plain_scene(3, 6, 1, 1);
    auto rgb = render(ring, size);
    Layout l = layout_of(ring, size);
    expect_near(pixel(rgb, size, l.cx, l.cy), tint_rgb(0), 8, "inside the ring");
    expect_near(pixel(rgb, size, l.cx + 0.78 * l.mark_radius, l.cy), mark_colour_rgb(1), 12, "on the ring");

    Scene bar = plain_scene(3, 6, 2, 3);
    bar.nuisance.mark_angle = 0;  // along x
    rgb = render(bar, size);
    l = layout_of(bar, size);
    expect_near(pixel(rgb, size, l.cx + 0.8 * l.mark_radius, l.cy), mark_colour_rgb(2), 12, "along the bar");
    expect_near(pixel(rgb, size, l.cx, l.cy + 0.8 * l.mark_radius), tint_rgb(0), 8, "across the bar");
}

// Walking round a circle near the outer radius crosses the body once per part.
TEST(WorldRender, PartCountShows) {
    const int size = 128;
    for (int version = 1; version <= latest_world_version; ++version)
    for (int family = 0; family < max_families; ++family)
        for (int parts = 3; parts <= 6; ++parts) {
            Scene s = plain_scene(family, parts, 0, 0, version);
            s.nuisance.turn = 0.1;
            const auto rgb = render(s, size);
            const Layout l = layout_of(s, size);
            const double r = (family == 4 ? 0.95 : 0.92) * l.radius;  // cushion lobes are shallow
            constexpr int steps = 1440;
            std::vector<bool> body(steps);
            for (int i = 0; i < steps; ++i) {
                const double angle = 2 * 3.14159265358979 * i / steps;
                const auto p = pixel(rgb, size, l.cx + r * std::sin(angle), l.cy - r * std::cos(angle));
                body[i] = p[0] < 200 || p[1] < 200 || p[2] < 200;
            }
            // Majority over ±12 samples (about two pixels each way): the circle grazes the silhouette in places
            // (the shallow cushion lobes of version 2's larger bodies most), where anti-aliased edge pixels
            // would otherwise count as extra crossings. The narrowest lobe or gap is 60 samples wide.
            std::vector<bool> smooth(steps);
            for (int i = 0; i < steps; ++i) {
                int votes = 0;
                for (int d = -12; d <= 12; ++d) votes += body[(i + d + steps) % steps];
                smooth[i] = votes > 12;
            }
            int runs = 0;
            for (int i = 0; i < steps; ++i) runs += smooth[i] && !smooth[(i + steps - 1) % steps];
            EXPECT_EQ(runs, parts) << family_name(family) << ", world version " << version;
        }
}

// Rim patterns cover the band differently: solid > dashed > dotted in dark pixels, and double differs from all.
TEST(WorldRender, RimPatternsShow) {
    const int size = 96;
    size_t dark[4];
    std::vector<std::vector<uint8_t>> images;
    for (int rim = 0; rim < 4; ++rim) {
        Scene s = plain_scene(0, 5, 0, 0);
        s.attributes.rim = rim;
        images.push_back(render(s, size));
        dark[rim] = 0;
        for (size_t i = 0; i < images.back().size(); i += 3)
            dark[rim] += images.back()[i] < 100 && images.back()[i + 1] < 100 && images.back()[i + 2] < 100;
    }
    EXPECT_GT(dark[0], dark[1]);
    EXPECT_GT(dark[1], dark[2]);
    EXPECT_GT(dark[2], dark[0] / 5) << "dots are drawn";
    for (int a = 0; a < 4; ++a)
        for (int b = a + 1; b < 4; ++b) EXPECT_NE(images[a], images[b]) << rim_name(a) << " vs " << rim_name(b);
}

// --- files -------------------------------------------------------------------------------------------------

TEST(WorldFiles, ManifestsReadBackWithEveryImage) {
    test::TempDir dir;
    GenerateJob job;
    job.config = small_config();
    job.out_dir = dir.file("w");
    const GenerateStats stats = generate_world(job, Log());
    EXPECT_EQ(stats.classes, 21u);
    EXPECT_EQ(stats.images[0], 12u * 3 + 9u * 2);  // base and (version 2) novel classes
    EXPECT_EQ(stats.images[1], 9u * 4);
    EXPECT_EQ(stats.images[2], 9u * 2);
    EXPECT_EQ(stats.written, 54u + 36 + 18);

    const auto classes = make_classes(job.config);
    const std::map<std::string, int> expected = {{"pretrain", 3}, {"train", 4}, {"test", 2}};
    std::set<std::string> novel_names;
    for (const auto& k : classes)
        if (k.novel) novel_names.insert(k.name);
    for (const auto& [split, count] : expected) {
        for (const char* layout : {"as-is", "auto"}) {
            manifest::ReadOptions options;
            options.image_root = job.out_dir;
            options.layout = layout;
            options.strict = true;
            const manifest::Manifest m = manifest::read_manifest(job.out_dir + "/" + split + ".json", options, Log());
            std::map<std::string, int> per_class;
            for (const auto& item : m.items) {
                ASSERT_TRUE(exists(item.image)) << item.image;
                ASSERT_EQ(item.captions.size(), 1u);
                ++per_class[item.class_name];
            }
            EXPECT_EQ(per_class.size(), split == "pretrain" ? 21u : 9u);
            for (const auto& [name, n] : per_class)
                EXPECT_EQ(n, split == "pretrain" && novel_names.count(name) ? 2 : count) << split << " " << name;
        }
    }
    // Version 1: novel class names appear nowhere in the pretraining file.
    GenerateJob v1 = job;
    v1.config = small_config(1);
    v1.out_dir = dir.file("v1");
    EXPECT_EQ(generate_world(v1, Log()).images[0], 12u * 3);
    const std::string pretrain = slurp(v1.out_dir + "/pretrain.json");
    for (const auto& k : make_classes(v1.config))
        if (k.novel) EXPECT_EQ(pretrain.find(k.name), std::string::npos) << k.name;

    const Json world = Json::parse(slurp(job.out_dir + "/world.json"));
    EXPECT_EQ(world["complete"], true);
    EXPECT_EQ(world["options"]["seed"], 1);
    ASSERT_EQ(world["classes"].size(), 21u);
    EXPECT_EQ(world["classes"][0]["name"], classes[0].name);
    EXPECT_EQ(world["splits"]["test"]["images"], 18);

    // The JPEG shows the mark's colour at the body's centre.
    const auto plans = plan_split(job.config, classes, Split::train);
    int checked = 0;
    for (const auto& p : plans) {
        if (p.scene.attributes.mark_shape != 0 || p.scene.nuisance.size == 0) continue;  // a dot, not small
        int w = 0, h = 0;
        const auto rgb = decode_rgb(job.out_dir + "/" + p.path, w, h);
        ASSERT_EQ(w, 32);
        ASSERT_EQ(h, 32);
        const Layout l = layout_of(p.scene, 32);
        expect_near(pixel(rgb, 32, l.cx, l.cy), mark_colour_rgb(p.scene.attributes.mark_colour), 40, p.path);
        ++checked;
    }
    EXPECT_GT(checked, 0);
}

TEST(WorldFiles, PretrainingRecordsListTheDrawnAttributes) {
    // A base image with random attributes is described in its record by what is drawn, not by its class.
    test::TempDir dir;
    GenerateJob job;
    job.config = small_config();
    job.config.pretrain_random_attributes = 1;
    job.out_dir = dir.file("w");
    generate_world(job, Log());
    const Json records = Json::parse(slurp(job.out_dir + "/pretrain.json"));
    const auto classes = make_classes(job.config);
    size_t differing = 0;
    for (const auto& p : plan_split(job.config, classes, Split::pretrain)) {
        const Json& a = records.at(p.id).at("attributes");
        const ClassAttributes& drawn = p.scene.attributes;
        EXPECT_EQ(a.at("parts"), drawn.parts) << p.id;
        EXPECT_EQ(a.at("rim"), rim_name(drawn.rim)) << p.id;
        EXPECT_EQ(a.at("mark_colour"), mark_colour_name(drawn.mark_colour)) << p.id;
        EXPECT_EQ(a.at("mark_shape"), mark_shape_name(drawn.mark_shape)) << p.id;
        differing += !(drawn == classes[p.class_index].attributes);
    }
    EXPECT_GT(differing, 0u);
}

TEST(WorldFiles, ByteIdenticalAcrossRunsAndThreadCounts) {
    test::TempDir dir;
    GenerateJob job;
    job.config = small_config();
    const int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    job.out_dir = dir.file("one");
    generate_world(job, Log());
    omp_set_num_threads(std::max(2, threads));
    job.out_dir = dir.file("two");
    generate_world(job, Log());
    omp_set_num_threads(threads);
    const auto files = world_files(dir.file("one"));
    EXPECT_EQ(files, world_files(dir.file("two")));
    for (const auto& f : files) EXPECT_EQ(slurp(dir.file("one/" + f)), slurp(dir.file("two/" + f))) << f;

    job.config.seed = 2;
    job.out_dir = dir.file("three");
    generate_world(job, Log());
    EXPECT_NE(slurp(dir.file("one/world.json")), slurp(dir.file("three/world.json")));
    EXPECT_NE(slurp(dir.file("one/test.json")), slurp(dir.file("three/test.json")));
    const auto other = world_files(dir.file("three"));
    EXPECT_NE(slurp(dir.file("one/" + files[4])), slurp(dir.file("three/" + other[4])));
}

TEST(WorldFiles, RerunsResumeRefuseAndReplace) {
    test::TempDir dir;
    GenerateJob job;
    job.config = small_config();
    job.out_dir = dir.file("w");
    const GenerateStats first = generate_world(job, Log());
    const size_t total = first.written;
    const std::string world_before = slurp(dir.file("w/world.json"));

    // Same options: nothing to do.
    GenerateStats again = generate_world(job, Log());
    EXPECT_TRUE(again.up_to_date);
    EXPECT_EQ(again.written, 0u);
    EXPECT_EQ(slurp(dir.file("w/world.json")), world_before);

    // A missing image is made again; the rest are kept.
    const auto files = world_files(dir.file("w"));
    const std::string lost = dir.file("w/" + files[7]), lost_bytes = slurp(lost);
    ASSERT_EQ(::unlink(lost.c_str()), 0);
    again = generate_world(job, Log());
    EXPECT_FALSE(again.up_to_date);
    EXPECT_EQ(again.written, 1u);
    EXPECT_EQ(again.kept, total - 1);
    EXPECT_EQ(slurp(lost), lost_bytes);

    // Options that change captions only: refused, then with --force every image is kept, and the files are
    // those of a fresh world made with these options.
    GenerateJob captions = job;
    captions.config.filler = 0;
    captions.config.pretrain_silhouette = 0.5;
    captions.config.pretrain_filler = 0.5;
    captions.config.pretrain_without_parts = 0.25;
    captions.config.pretrain_category = "silhouette";
    captions.config.mention_class = 1;
    EXPECT_THROW(generate_world(captions, Log()), Error);
    const std::string train_before = slurp(dir.file("w/train.json"));
    captions.force = true;
    const GenerateStats recaptioned = generate_world(captions, Log());
    EXPECT_EQ(recaptioned.written, 0u);
    EXPECT_EQ(recaptioned.kept, total);
    GenerateJob fresh = captions;
    fresh.out_dir = dir.file("fresh");
    EXPECT_EQ(generate_world(fresh, Log()).written, total);
    EXPECT_NE(slurp(dir.file("w/train.json")), train_before);
    for (const auto& f : world_files(dir.file("fresh"))) EXPECT_EQ(slurp(dir.file("w/" + f)), slurp(dir.file("fresh/" + f))) << f;
    // --pretrain-category silhouette: a pretraining record's meta_category is its family and the part count it
    // draws; the downstream records keep the family.
    std::map<std::string, std::string> family_of;
    const Json world = Json::parse(slurp(dir.file("w/world.json")));
    for (const auto& k : world["classes"]) family_of[k["name"].get<std::string>()] = k["family"].get<std::string>();
    const Json pretrain = Json::parse(slurp(dir.file("w/pretrain.json"))), train = Json::parse(slurp(dir.file("w/train.json")));
    ASSERT_FALSE(pretrain.empty());
    std::set<std::string> silhouettes;
    for (const auto& [id, r] : pretrain.items()) {
        EXPECT_EQ(r["meta_category"], family_of.at(r["class_name"].get<std::string>()) + "/" + std::to_string(r["attributes"]["parts"].get<int>())) << id;
        silhouettes.insert(r["meta_category"]);
    }
    EXPECT_GT(silhouettes.size(), 1u);
    for (const auto& [id, r] : train.items()) EXPECT_EQ(r["meta_category"], family_of.at(r["class_name"].get<std::string>())) << id;
    WorldConfig category = captions.config;
    category.pretrain_category = "parts";
    EXPECT_THROW(check_config(category), Error);
    category = defaults_of_version(1);
    category.pretrain_category = "silhouette";
    EXPECT_THROW(check_config(category), Error);
    job.force = true;
    EXPECT_EQ(generate_world(job, Log()).kept, total);  // and back
    GenerateJob pixels = job;
    pixels.config.quality = 80;  // an option that changes pixels: nothing kept
    EXPECT_EQ(generate_world(pixels, Log()).written, total);
    EXPECT_EQ(generate_world(job, Log()).written, total);
    job.force = false;

    // Other options: refused, then replaced with --force; the old world's images go.
    job.config.seed = 5;
    try {
        generate_world(job, Log());
        ADD_FAILURE() << "other options were accepted";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::mismatch);
        EXPECT_NE(std::string(e.what()).find("--seed 1, now 5"), std::string::npos) << e.what();
    }
    job.force = true;
    const GenerateStats replaced = generate_world(job, Log());
    EXPECT_EQ(replaced.written, total);
    EXPECT_EQ(replaced.removed, total);  // another seed: other class names, so other paths
    EXPECT_FALSE(exists(lost));
    for (const auto& f : world_files(dir.file("w"))) EXPECT_TRUE(exists(dir.file("w/" + f))) << f;

    // A directory that is not a world: refused unless forced, and nothing of it is removed.
    std::ofstream(dir.file("mine.txt")) << "keep";
    job.out_dir = dir.path();
    job.force = false;
    EXPECT_THROW(generate_world(job, Log()), Error);
    job.force = true;
    job.out_dir = dir.path();
    generate_world(job, Log());
    EXPECT_EQ(slurp(dir.file("mine.txt")), "keep");
}

}  // namespace
}  // namespace dcar::world
