// The world's classes and splits, and writing it all out (docs/WORLD.md §4, §6–§8). Images are rendered in
// parallel (OpenMP); everything they depend on is drawn from per-image generators, so the thread count cannot
// change a byte. The split files and world.json are built in a fixed order on one thread.
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <dirent.h>
#include <exception>
#include <iterator>
#include <nlohmann/json.hpp>
#include <numeric>
#include <omp.h>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.hpp"
#include "core/text.hpp"
#include "io/sink.hpp"
#include "io/source.hpp"
#include "world/detail.hpp"
#include "world/world.hpp"

namespace dcar::world {

namespace {

using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

// Purpose tags for derive_seed: each kind of draw has its own generators.
enum Purpose : uint64_t {
    purpose_classes = 1,
    purpose_base = 2,
    purpose_names = 3,
    purpose_scene = 4,
    purpose_caption = 5,
    purpose_filler = 6,        // v2: which filler sentences, and where
    purpose_name_mention = 7,  // v2: whether a novel class's pretraining caption names it
    purpose_silhouette = 8,    // v2: whether a pretraining caption describes the silhouette alone
    purpose_random_attributes = 9,  // v2: whether a base pretraining image draws its class attributes, and which
    purpose_pretrain_filler = 10,   // v2: whether a pretraining caption carries a filler sentence, which, and where
    purpose_without_parts = 11,     // v2: whether a pretraining caption leaves out the part count
};
// Scene and caption seeds take the split's number; a novel class's pretraining images (v2) take this one, so
// they never share a draw with a base class of the same family and rank.
constexpr uint64_t novel_in_pretrain = 3;

constexpr int max_per_class = 1000000;

int code_of(const ClassAttributes& a) { return (a.parts - 3) * 64 + a.rim * 16 + a.mark_colour * 4 + a.mark_shape; }

ClassAttributes combination(int code) {
    ClassAttributes a;
    a.parts = 3 + code / 64;
    a.rim = (code / 16) % 4;
    a.mark_colour = (code / 4) % 4;
    a.mark_shape = code % 4;
    return a;
}

void shuffle(std::vector<int>& v, detail::Rng& rng) {
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.below(i)]);
}

// True when every value of every class attribute occurs among `codes`.
bool covers_all_values(const std::vector<int>& codes) {
    for (int shift : {64, 16, 4, 1}) {
        bool seen[values_per_attribute] = {false, false, false, false};
        for (int code : codes) seen[(code / shift) % 4] = true;
        for (bool s : seen)
            if (!s) return false;
    }
    return true;
}

std::string invent_name(detail::Rng& rng) {
    static const char* const onsets[] = {"b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s",
                                         "t", "v", "z", "br", "dr", "gr", "kr", "tr", "pl", "st"};
    static const char* const vowels[] = {"a", "e", "i", "o", "u"};
    static const char* const codas[] = {"n", "r", "l", "s", "k", "m"};
    const int syllables = rng.below(10) < 7 ? 2 : 3;
    std::string name;
    for (int i = 0; i < syllables; ++i) {
        name += onsets[rng.below(std::size(onsets))];
        name += vowels[rng.below(std::size(vowels))];
        if (rng.chance(i + 1 == syllables ? 0.6 : 0.3)) name += codas[rng.below(std::size(codas))];
    }
    return name;
}

// Images per class of a split: `novel` picks the novel classes' count (the pretraining split holds novel
// classes only from version 2 on).
int per_class(const WorldConfig& c, Split split, bool novel) {
    if (split == Split::pretrain) return novel ? (c.version == 1 ? 0 : c.pretrain_per_novel) : c.pretrain_per_class;
    if (!novel) return 0;
    return split == Split::train ? c.train_per_class : c.test_per_class;
}

const Split all_splits[] = {Split::pretrain, Split::train, Split::test};

// --- files ---

bool exists(const std::string& path) {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0;
}

bool is_directory(const std::string& path) {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

void make_directories(const std::string& path) {
    std::string prefix;
    for (const std::string& part : text::split(path, '/')) {
        prefix += part;
        if (!part.empty() && part != "." && !is_directory(prefix)) {
            if (::mkdir(prefix.c_str(), 0777) != 0 && !(errno == EEXIST && is_directory(prefix)))
                throw_errno(prefix, "cannot create directory");
        }
        prefix += '/';
    }
}

bool directory_is_empty(const std::string& path) {
    DIR* dir = ::opendir(path.c_str());
    if (!dir) throw_errno(path, "cannot read directory");
    bool empty = true;
    while (const dirent* entry = ::readdir(dir)) {
        const std::string name = entry->d_name;
        if (name != "." && name != "..") {
            empty = false;
            break;
        }
    }
    ::closedir(dir);
    return empty;
}

std::string read_file(const std::string& path) {
    const auto source = io::open_source(path);
    std::string text;
    char buffer[65536];
    while (const size_t n = source->read(buffer, sizeof buffer)) text.append(buffer, n);
    return text;
}

void write_file(const std::string& path, const std::string& bytes) {
    const auto sink = io::open_sink(path);
    sink->write(bytes);
    sink->commit();
}

// A JSON document, or null when the file is missing or is not JSON.
Json read_json(const std::string& path) {
    if (!exists(path)) return nullptr;
    try {
        return Json::parse(read_file(path));
    } catch (const Json::exception&) {
        return nullptr;
    }
}

// Only paths of the form the generator writes are ever removed: images/<split>/<class>/<file>.jpg.
bool is_generated_image_path(const std::string& path) {
    const auto parts = text::split(path, '/');
    if (parts.size() != 4 || parts[0] != "images") return false;
    if (parts[1] != "pretrain" && parts[1] != "train" && parts[1] != "test") return false;
    for (const auto& p : parts)
        if (p.empty() || p == "." || p == "..") return false;
    return text::ends_with(parts[3], ".jpg");
}

// --- JSON ---

// Version 1's keys as they were, so that a v1 world.json written before version 2 existed still matches.
OrderedJson options_json(const WorldConfig& c) {
    OrderedJson o;
    o["seed"] = c.seed;
    o["size"] = c.size;
    o["families"] = c.families;
    o["base_per_family"] = c.base_per_family;
    o["novel_per_family"] = c.novel_per_family;
    o["pretrain_per_class"] = c.pretrain_per_class;
    if (c.version >= 2) o["pretrain_per_novel"] = c.pretrain_per_novel;
    o["train_per_class"] = c.train_per_class;
    o["test_per_class"] = c.test_per_class;
    o["mention_class"] = c.mention_class;
    o["mention_nuisance"] = c.mention_nuisance;
    if (c.version >= 2) o["filler"] = c.filler;
    o["pretrain_mention_class"] = c.pretrain_mention_class;
    o["pretrain_mention_nuisance"] = c.pretrain_mention_nuisance;
    if (c.version >= 2) o["pretrain_mention_name"] = c.pretrain_mention_name;
    if (c.version >= 2) o["pretrain_silhouette"] = c.pretrain_silhouette;
    if (c.version >= 2 && c.pretrain_random_attributes > 0) o["pretrain_random_attributes"] = c.pretrain_random_attributes;
    if (c.version >= 2 && c.pretrain_filler > 0) o["pretrain_filler"] = c.pretrain_filler;
    if (c.version >= 2 && c.pretrain_without_parts > 0) o["pretrain_without_parts"] = c.pretrain_without_parts;
    if (c.version >= 2 && c.pretrain_category != "family") o["pretrain_category"] = c.pretrain_category;
    o["quality"] = c.quality;
    return o;
}

// The options that change the manifests only, never pixels (each caption draw has its own generator): a world
// remade with only these changed keeps its images.
Json image_options(Json options) {
    for (const char* key : {"mention_class", "mention_nuisance", "filler", "pretrain_mention_class",
                            "pretrain_mention_nuisance", "pretrain_mention_name", "pretrain_silhouette", "pretrain_filler",
                            "pretrain_without_parts", "pretrain_category"})
        options.erase(key);
    return options;
}

OrderedJson attributes_json(const ClassAttributes& a) {
    OrderedJson o;
    o["parts"] = a.parts;
    o["rim"] = rim_name(a.rim);
    o["mark_colour"] = mark_colour_name(a.mark_colour);
    o["mark_shape"] = mark_shape_name(a.mark_shape);
    return o;
}

OrderedJson world_json(const WorldConfig& c, const std::vector<ClassSpec>& classes, bool complete) {
    OrderedJson w;
    w["generator"] = "dcar-world";
    w["world_version"] = c.version;
    w["definition"] = "docs/WORLD.md";
    w["complete"] = complete;
    w["options"] = options_json(c);
    OrderedJson families = OrderedJson::array();
    for (int f = 0; f < c.families; ++f) families.push_back({{"name", family_name(f)}, {"parts_are", part_noun(f)}});
    w["families"] = families;
    OrderedJson values;
    values["parts"] = {3, 4, 5, 6};
    for (const char* key : {"rim", "mark_colour", "mark_shape"}) values[key] = OrderedJson::array();
    for (int i = 0; i < values_per_attribute; ++i) {
        values["rim"].push_back(rim_name(i));
        values["mark_colour"].push_back(mark_colour_name(i));
        values["mark_shape"].push_back(mark_shape_name(i));
    }
    w["class_attributes"] = values;
    OrderedJson nuisance;
    auto list = [](const char* (*name)(int), int n) {
        OrderedJson a = OrderedJson::array();
        for (int i = 0; i < n; ++i) a.push_back(name(i));
        return a;
    };
    nuisance["size"] = list(size_name, size_count);
    nuisance["orientation"] = list(orientation_name, orientation_count);
    nuisance["tint"] = list(tint_name, tint_count);
    nuisance["position"] = list(position_name, position_count);
    nuisance["background"] = list(background_name, background_count);
    nuisance["pattern"] = list(pattern_name, pattern_count);
    w["nuisance"] = nuisance;
    OrderedJson splits;
    for (Split s : all_splits) {
        size_t images = 0;
        for (const auto& k : classes) images += size_t(per_class(c, s, k.novel));
        OrderedJson split = {{"file", std::string(split_name(s)) + ".json"}};
        if (s != Split::pretrain) {
            split["classes"] = "novel";
            split["per_class"] = per_class(c, s, true);
        } else if (c.version == 1) {
            split["classes"] = "base";
            split["per_class"] = per_class(c, s, false);
        } else {
            split["classes"] = "base and novel";
            split["per_base_class"] = per_class(c, s, false);
            split["per_novel_class"] = per_class(c, s, true);
        }
        split["images"] = images;
        splits[split_name(s)] = split;
    }
    w["splits"] = splits;
    OrderedJson list_of_classes = OrderedJson::array();
    for (const auto& k : classes) {
        OrderedJson o;
        o["name"] = k.name;
        o["family"] = family_name(k.family);
        o["kind"] = k.novel ? "novel" : "base";
        const OrderedJson attributes = attributes_json(k.attributes);
        for (const auto& [key, value] : attributes.items()) o[key] = value;
        list_of_classes.push_back(o);
    }
    w["classes"] = list_of_classes;
    return w;
}

std::string split_json(const std::vector<ImagePlan>& plans, const std::vector<ClassSpec>& classes, const WorldConfig& config) {
    std::string out = "{\n";
    for (size_t i = 0; i < plans.size(); ++i) {
        const ImagePlan& p = plans[i];
        const ClassSpec& k = classes[p.class_index];
        const Nuisance& n = p.scene.nuisance;
        const bool silhouette = p.split == Split::pretrain && config.pretrain_category == "silhouette";
        OrderedJson r;
        r["file_name"] = p.file_name;
        r["class_name"] = k.name;
        r["meta_category"] = family_name(k.family) + (silhouette ? "/" + std::to_string(p.scene.attributes.parts) : "");
        r["file_path"] = p.path;
        r["positive"] = p.caption;
        r["negative"] = OrderedJson::array();
        OrderedJson a = attributes_json(p.scene.attributes);  // what is drawn (a base image may draw its own)
        a["size"] = size_name(n.size);
        a["orientation"] = orientation_name(n.orientation);
        a["tint"] = tint_name(n.tint);
        a["position"] = position_name(n.position);
        a["background"] = background_name(n.background);
        a["pattern"] = pattern_name(n.pattern);
        r["attributes"] = a;
        r["mentioned"] = p.description.mentioned;
        out += "  " + Json(p.id).dump() + ": " + r.dump() + (i + 1 < plans.size() ? ",\n" : "\n");
    }
    return out + "}\n";
}

// "--seed 1, now 2" for the first option that differs.
std::string option_difference(const Json& old_world, const OrderedJson& now, int version) {
    if (old_world.value("world_version", 0) != version)
        return "world version " + std::to_string(old_world.value("world_version", 0)) + ", now " + std::to_string(version);
    const Json old_options = old_world.value("options", Json::object());
    for (const auto& [key, value] : now.items()) {
        const auto it = old_options.find(key);
        const Json was = it == old_options.end() ? Json() : *it;
        if (was != Json::parse(value.dump())) {
            std::string flag = "--" + key;
            std::replace(flag.begin(), flag.end(), '_', '-');
            return flag + " " + (was.is_null() ? std::string("unset") : was.dump()) + ", now " + value.dump();
        }
    }
    return "other options";
}

}  // namespace

WorldConfig defaults_of_version(int version) {
    if (version < 1 || version > latest_world_version)
        throw Error(ErrorCode::usage, "--world-version must be 1 or " + std::to_string(latest_world_version));
    WorldConfig c;
    if (version == 1) {
        c.version = 1;
        c.size = 64;
        c.pretrain_per_class = 100;
        c.pretrain_per_novel = 0;
        c.filler = 0;
        c.pretrain_mention_class = 0.75;
        c.pretrain_mention_nuisance = 0.5;
        c.pretrain_mention_name = 0;
    }
    return c;
}

void check_config(const WorldConfig& c) {
    auto need = [](bool ok, const std::string& message) {
        if (!ok) throw Error(ErrorCode::usage, message);
    };
    need(c.version >= 1 && c.version <= latest_world_version,
         "--world-version must be 1 or " + std::to_string(latest_world_version));
    if (c.version == 1)
        need(c.pretrain_per_novel == 0 && c.filler == 0 && c.pretrain_mention_name == 0 && c.pretrain_silhouette == 0 &&
                 c.pretrain_random_attributes == 0 && c.pretrain_filler == 0 && c.pretrain_without_parts == 0 &&
                 c.pretrain_category == "family",
             "--pretrain-per-novel, --filler, --pretrain-mention-name, --pretrain-silhouette, --pretrain-without-parts, "
             "--pretrain-random-attributes, --pretrain-filler and --pretrain-category need --world-version 2 or later");
    need(c.pretrain_category == "family" || c.pretrain_category == "silhouette",
         "--pretrain-category must be family or silhouette, not '" + c.pretrain_category + "'");
    need(c.filler >= 0 && c.filler <= filler_bank_size, "--filler must be between 0 and " + std::to_string(filler_bank_size));
    need(c.size >= 16 && c.size <= 1024, "--size must be between 16 and 1024");
    need(c.families >= 1 && c.families <= max_families, "--families must be between 1 and " + std::to_string(max_families));
    need(c.base_per_family >= 0 && c.novel_per_family >= 0, "--base-per-family and --novel-per-family must not be negative");
    need(c.base_per_family + c.novel_per_family >= 1, "--base-per-family plus --novel-per-family must be at least 1");
    need(c.base_per_family + c.novel_per_family <= combinations_per_family,
         "--base-per-family plus --novel-per-family must be at most " + std::to_string(combinations_per_family) +
             " (the attribute combinations of a family)");
    for (const auto& [value, flag] : {std::pair<int, const char*>{c.pretrain_per_class, "--pretrain-per-class"},
                                      {c.pretrain_per_novel, "--pretrain-per-novel"},
                                      {c.train_per_class, "--train-per-class"},
                                      {c.test_per_class, "--test-per-class"}})
        need(value >= 0 && value <= max_per_class, std::string(flag) + " must be between 0 and " + std::to_string(max_per_class));
    for (const auto& [value, flag] : {std::pair<double, const char*>{c.mention_class, "--mention-class"},
                                      {c.mention_nuisance, "--mention-nuisance"},
                                      {c.pretrain_mention_class, "--pretrain-mention-class"},
                                      {c.pretrain_mention_nuisance, "--pretrain-mention-nuisance"},
                                      {c.pretrain_mention_name, "--pretrain-mention-name"},
                                      {c.pretrain_silhouette, "--pretrain-silhouette"},
                                      {c.pretrain_random_attributes, "--pretrain-random-attributes"},
                                      {c.pretrain_filler, "--pretrain-filler"},
                                      {c.pretrain_without_parts, "--pretrain-without-parts"}})
        need(value >= 0 && value <= 1, std::string(flag) + " must be a probability between 0 and 1");
    need(c.pretrain_silhouette + c.pretrain_without_parts <= 1 + 1e-9,
         "--pretrain-silhouette plus --pretrain-without-parts must be at most 1 (each is a share of the pretraining captions)");
    need(c.quality >= 1 && c.quality <= 100, "--quality must be between 1 and 100");
}

std::vector<ClassSpec> make_classes(const WorldConfig& config) {
    check_config(config);
    std::vector<std::vector<int>> novel_codes(config.families), base_codes(config.families);
    for (int f = 0; f < config.families; ++f) {
        std::vector<int> codes(combinations_per_family);
        std::iota(codes.begin(), codes.end(), 0);
        detail::Rng rng(detail::derive_seed(config.seed, {purpose_classes, uint64_t(f)}));
        shuffle(codes, rng);
        novel_codes[f].assign(codes.begin(), codes.begin() + config.novel_per_family);
        const std::vector<int> rest(codes.begin() + config.novel_per_family, codes.end());
        detail::Rng base_rng(detail::derive_seed(config.seed, {purpose_base, uint64_t(f)}));
        // Every attribute value in the family's base classes, so pretraining shows them all (up to 1000 draws).
        for (int attempt = 0; attempt < 1000; ++attempt) {
            std::vector<int> draw = rest;
            shuffle(draw, base_rng);
            draw.resize(config.base_per_family);
            base_codes[f] = draw;
            if (config.base_per_family < values_per_attribute || covers_all_values(draw)) break;
        }
    }

    const std::vector<std::string>& vocabulary = caption_words(config.version);
    std::set<std::string> taken(vocabulary.begin(), vocabulary.end());
    detail::Rng names(detail::derive_seed(config.seed, {purpose_names}));
    auto fresh_name = [&] {
        while (true) {
            std::string name = invent_name(names);
            if (name.size() >= 5 && name.size() <= 10 && taken.insert(name).second) return name;
        }
    };
    std::vector<ClassSpec> classes;
    for (bool novel : {true, false}) {
        for (int f = 0; f < config.families; ++f) {
            const auto& codes = novel ? novel_codes[f] : base_codes[f];
            for (size_t r = 0; r < codes.size(); ++r) {
                ClassSpec k;
                k.name = fresh_name();
                k.family = f;
                k.novel = novel;
                k.rank = int(r);
                k.attributes = combination(codes[r]);
                classes.push_back(std::move(k));
            }
        }
    }
    return classes;
}

std::vector<ImagePlan> plan_split(const WorldConfig& config, const std::vector<ClassSpec>& classes, Split split) {
    int widest = 0;
    for (bool novel : {false, true}) widest = std::max(widest, per_class(config, split, novel));
    const int width = std::max<int>(4, int(std::to_string(std::max(0, widest - 1)).size()));
    const std::string split_text = split_name(split);
    // The combinations a base image may draw instead of its class's: its family's, less the novel classes'.
    std::vector<std::vector<int>> base_drawable(config.families);
    if (split == Split::pretrain && config.pretrain_random_attributes > 0) {
        for (int f = 0; f < config.families; ++f) {
            std::vector<bool> novel(combinations_per_family, false);
            for (const ClassSpec& k : classes)
                if (k.novel && k.family == f) novel[code_of(k.attributes)] = true;
            for (int code = 0; code < combinations_per_family; ++code)
                if (!novel[code]) base_drawable[f].push_back(code);
        }
    }
    std::vector<ImagePlan> plans;
    for (size_t ci = 0; ci < classes.size(); ++ci) {
        const ClassSpec& k = classes[ci];
        const int count = per_class(config, split, k.novel);
        const bool downstream = split != Split::pretrain;
        const double p_class = downstream ? config.mention_class : config.pretrain_mention_class;
        const double p_nuisance = downstream ? config.mention_nuisance : config.pretrain_mention_nuisance;
        // Seeded by where the image is, never by its class's attributes.
        const uint64_t s = k.novel && !downstream ? novel_in_pretrain : uint64_t(split), f = uint64_t(k.family),
                       r = uint64_t(k.rank);
        for (int i = 0; i < count; ++i) {
            ImagePlan p;
            p.split = split;
            p.class_index = ci;
            p.number = i;
            const std::string number = text::zero_padded(static_cast<uint64_t>(i), width);
            p.id = split_text + "_" + k.name + "_" + number;
            p.file_name = k.name + "_" + number + ".jpg";
            p.path = "images/" + split_text + "/" + k.name + "/" + number + ".jpg";
            p.scene.version = config.version;
            p.scene.family = k.family;
            p.scene.attributes = k.attributes;
            const uint64_t n = uint64_t(i);
            if (!downstream && !k.novel && config.pretrain_random_attributes > 0) {
                detail::Rng attributes_rng(detail::derive_seed(config.seed, {purpose_random_attributes, s, f, r, n}));
                const auto& drawable = base_drawable[k.family];
                if (attributes_rng.chance(config.pretrain_random_attributes))
                    p.scene.attributes = combination(drawable[attributes_rng.below(drawable.size())]);
            }
            p.scene.nuisance = draw_nuisance(detail::derive_seed(config.seed, {purpose_scene, s, f, r, n}));
            const uint64_t caption_seed = detail::derive_seed(config.seed, {purpose_caption, s, f, r, n});
            // Pretraining captions may name the silhouette alone, or everything but the part count; each share
            // of all pretraining captions, the second drawn among the rest at the share it takes of them.
            const bool silhouette_only =
                !downstream && config.pretrain_silhouette > 0 &&
                detail::Rng(detail::derive_seed(config.seed, {purpose_silhouette, s, f, r, n})).chance(config.pretrain_silhouette);
            const bool without_parts =
                !downstream && !silhouette_only && config.pretrain_without_parts > 0 &&
                detail::Rng(detail::derive_seed(config.seed, {purpose_without_parts, s, f, r, n}))
                    .chance(std::min(1.0, config.pretrain_without_parts / (1 - config.pretrain_silhouette)));
            p.description = silhouette_only ? describe_silhouette(p.scene, caption_seed)
                                            : describe(p.scene, p_class, p_nuisance, caption_seed, !without_parts);
            if (!downstream) {
                detail::Rng name_rng(detail::derive_seed(config.seed, {purpose_name_mention, s, f, r, n}));
                const bool named = k.novel && name_rng.chance(config.pretrain_mention_name);
                p.caption = named ? named_pretrain_caption(k.name, k.family, p.description.text) : p.description.text;
                if (config.pretrain_filler > 0) {
                    detail::Rng filler_rng(detail::derive_seed(config.seed, {purpose_pretrain_filler, s, f, r, n}));
                    if (filler_rng.chance(config.pretrain_filler)) p.caption = with_filler(p.caption, 1, filler_rng.next());
                }
            } else if (config.version == 1) {
                p.caption = downstream_caption(k.name, p.description.text);
            } else {
                p.caption = downstream_caption(k.name, p.description.text, config.filler,
                                               detail::derive_seed(config.seed, {purpose_filler, s, f, r, n}));
            }
            plans.push_back(std::move(p));
        }
    }
    return plans;
}

std::string GenerateStats::summary(const std::string& out_dir) const {
    const size_t total = images[0] + images[1] + images[2];
    std::string s = out_dir + ": " + (up_to_date ? "up to date: " : "") + std::to_string(classes) + " classes, " +
                    std::to_string(total) + " images (" + std::to_string(images[0]) + " pretrain, " +
                    std::to_string(images[1]) + " train, " + std::to_string(images[2]) + " test)";
    if (!up_to_date) {
        s += ": " + std::to_string(written) + " written, " + std::to_string(kept) + " kept";
        if (removed) s += ", " + std::to_string(removed) + " of the replaced world removed";
    }
    if (not_rendered) s += "; " + std::to_string(not_rendered) + " pretraining images not rendered";
    return s;
}

GenerateStats generate_world(const GenerateJob& job, const Log& log) {
    const WorldConfig& config = job.config;
    check_config(config);
    std::string out = job.out_dir;
    while (out.size() > 1 && out.back() == '/') out.pop_back();
    if (out.empty()) throw Error(ErrorCode::usage, "empty output directory name");
    if (out == "-") throw Error(ErrorCode::usage, "the world is a directory: OUT cannot be - (standard output)");

    const std::vector<ClassSpec> classes = make_classes(config);
    std::vector<ImagePlan> plans[3];
    GenerateStats stats;
    stats.classes = classes.size();
    for (Split s : all_splits) {
        plans[int(s)] = plan_split(config, classes, s);
        stats.images[int(s)] = plans[int(s)].size();
    }

    if (exists(out) && !is_directory(out)) throw_error(ErrorCode::io, out, "not a directory");
    make_directories(out);
    const std::string world_path = out + "/world.json";
    const Json old_world = read_json(world_path);
    const bool ours = old_world.is_object() && old_world.value("generator", "") == "dcar-world";
    const OrderedJson options = options_json(config);
    const bool same_version = ours && old_world.value("world_version", 0) == config.version;
    const Json old_options = old_world.is_object() ? old_world.value("options", Json()) : Json();
    const bool same = same_version && old_options == Json::parse(options.dump());
    const bool same_images = same_version && image_options(old_options) == image_options(Json::parse(options.dump()));
    if (!same && !job.force) {
        if (ours)
            throw_error(ErrorCode::mismatch, out,
                        "holds a world made with other options (" + option_difference(old_world, options, config.version) +
                            "); --force replaces it");
        if (!directory_is_empty(out))
            throw_error(ErrorCode::mismatch, out, "not empty and holds no world.json; use an empty directory, or --force");
    }

    auto path_of = [&out](const std::string& relative) { return out + "/" + relative; };
    // The images this run renders (or keeps): all of them, or all but the pretraining split's.
    auto rendered = [&job](const ImagePlan& p) { return job.pretrain_images || p.split != Split::pretrain; };
    if (!job.pretrain_images) stats.not_rendered = plans[int(Split::pretrain)].size();
    if (same && old_world.value("complete", false)) {
        bool all_there = true;
        for (Split s : all_splits) all_there = all_there && exists(path_of(std::string(split_name(s)) + ".json"));
        for (const auto& split_plans : plans)
            for (const ImagePlan& p : split_plans)
                if (all_there && rendered(p) && !exists(path_of(p.path))) all_there = false;
        if (all_there) {
            stats.up_to_date = true;
            log.info(stats.summary(out));
            return stats;
        }
    }

    // Images the files of a world already here list: the ones the new world lacks are removed at the end.
    std::set<std::string> old_paths;
    if (ours) {
        for (Split s : all_splits) {
            const Json records = read_json(path_of(std::string(split_name(s)) + ".json"));
            if (!records.is_object()) continue;
            for (const auto& record : records) {
                if (!record.is_object()) continue;
                const std::string path = record.value("file_path", "");
                if (is_generated_image_path(path)) old_paths.insert(path);
            }
        }
    }

    write_file(world_path, world_json(config, classes, false).dump(2) + "\n");
    std::vector<const ImagePlan*> todo;
    std::set<std::string> made_dirs;
    for (const auto& split_plans : plans) {
        for (const ImagePlan& p : split_plans) {
            if (!rendered(p)) continue;
            const std::string dir = path_of(p.path.substr(0, p.path.rfind('/')));
            if (made_dirs.insert(dir).second) make_directories(dir);
            // Same options, or other captions only: an image already there is the one we would write (files
            // appear only whole).
            if (same_images && exists(path_of(p.path)))
                ++stats.kept;
            else
                todo.push_back(&p);
        }
    }

    std::atomic<size_t> done{0};
    std::atomic<bool> failed{false};
    std::exception_ptr error;
    const int64_t n_todo = int64_t(todo.size());
#pragma omp parallel for schedule(dynamic, 4)
    for (int64_t i = 0; i < n_todo; ++i) {
        if (failed) continue;
        try {
            const ImagePlan& p = *todo[size_t(i)];
            const std::vector<uint8_t> rgb = render(p.scene, config.size);
            write_file(path_of(p.path), encode_jpeg(rgb, config.size, config.size, config.quality));
            const size_t finished = ++done;
            if (omp_get_thread_num() == 0) log.progress("images", finished, size_t(n_todo));
        } catch (...) {
#pragma omp critical(dcar_world_error)
            if (!error) error = std::current_exception();
            failed = true;
        }
    }
    if (error) std::rethrow_exception(error);
    stats.written = done;

    std::set<std::string> new_paths;
    for (Split s : all_splits) {
        write_file(path_of(std::string(split_name(s)) + ".json"), split_json(plans[int(s)], classes, config));
        // An image left out but already there stays only if it is the one this world would render.
        for (const ImagePlan& p : plans[int(s)])
            if (rendered(p) || same_images) new_paths.insert(p.path);
    }
    std::set<std::string> emptied;
    for (const std::string& path : old_paths) {
        if (new_paths.count(path)) continue;
        if (::unlink(path_of(path).c_str()) == 0) ++stats.removed;
        else if (errno != ENOENT) throw_errno(path_of(path), "cannot remove an image of the replaced world");
        emptied.insert(path.substr(0, path.rfind('/')));
    }
    for (const std::string& dir : emptied) {
        ::rmdir(path_of(dir).c_str());  // only succeeds when empty
        ::rmdir(path_of(dir.substr(0, dir.rfind('/'))).c_str());
    }
    write_file(world_path, world_json(config, classes, true).dump(2) + "\n");
    log.info(stats.summary(out));
    return stats;
}

}  // namespace dcar::world
