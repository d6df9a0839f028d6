// The caption grammar of docs/WORLD.md §5: a random subset of the class attributes and of the nuisance, in
// one of three templates. Every draw is made whether or not its result is used, so the stream of draws (and
// so every caption) depends only on the seed.
#include <cctype>

#include "core/text.hpp"
#include "world/detail.hpp"
#include "world/world.hpp"

namespace dcar::world {

namespace {

const char* const size_words[] = {"small", "medium-sized", "large"};
const char* const place_phrases[] = {"in the top left", "at the top",       "in the top right",
                                     "on the left",     "in the centre",    "on the right",
                                     "in the bottom left", "at the bottom", "in the bottom right"};
const char* const mark_places[] = {"in the middle", "at its centre"};
const char* const prepositions[] = {"on", "against"};

// Version 2's filler: sentences about where the picture came from, as web and catalogue text has them. None
// names a class attribute or a nuisance value, so they dilute a caption without changing what it says.
const char* const filler_bank[filler_bank_size] = {
    "The photo was taken last spring.",
    "It came from an old family collection.",
    "Someone posted it on a forum for hobbyists.",
    "The owner says it is quite rare.",
    "This picture was shared with friends.",
    "It was bought at a weekend market.",
    "Many collectors look for pieces like this.",
    "The image was scanned from a printed catalogue.",
    "Nobody knows exactly how old it is.",
    "It had been kept in a box for years.",
    "The seller described it in some detail.",
    "A visitor asked about it at the museum.",
    "It appears in several online galleries.",
    "The photographer used natural light.",
    "It was a gift from a neighbour.",
    "More examples can be found in the archive.",
};

bool starts_with_vowel(const std::string& s) {
    return !s.empty() && std::string("aeiou").find(char(std::tolower(static_cast<unsigned char>(s[0])))) != std::string::npos;
}
std::string with_article(const std::string& phrase) { return (starts_with_vowel(phrase) ? "an " : "a ") + phrase; }
std::string capitalised(std::string s) {
    if (!s.empty()) s[0] = char(std::toupper(static_cast<unsigned char>(s[0])));
    return s;
}
// "x", "x and y", "x, y and z"
std::string join_and(const std::vector<std::string>& items) {
    std::string out;
    for (size_t i = 0; i < items.size(); ++i) {
        if (i > 0) out += i + 1 == items.size() ? " and " : ", ";
        out += items[i];
    }
    return out;
}

}  // namespace

namespace {

struct Mentions {
    bool parts, rim, colour, shape, size, orientation, tint, position, background, pattern;
};

Description describe_mentions(const Scene& scene, Mentions m, size_t form, const char* mark_place, const char* preposition);

}  // namespace

Description describe(const Scene& scene, double p_class, double p_nuisance, uint64_t seed, bool part_count) {
    detail::Rng rng(seed);
    // Draw order: the four class attributes, the six nuisance attributes, template, mark place, preposition.
    Mentions m;
    m.parts = rng.chance(p_class), m.rim = rng.chance(p_class), m.colour = rng.chance(p_class),
    m.shape = rng.chance(p_class);
    m.size = rng.chance(p_nuisance), m.orientation = rng.chance(p_nuisance), m.tint = rng.chance(p_nuisance),
    m.position = rng.chance(p_nuisance), m.background = rng.chance(p_nuisance), m.pattern = rng.chance(p_nuisance);
    const size_t form = rng.below(3);
    const char* mark_place = mark_places[rng.below(2)];
    const char* preposition = prepositions[rng.below(2)];
    m.parts = m.parts && part_count;
    return describe_mentions(scene, m, form, mark_place, preposition);
}

Description describe_silhouette(const Scene& scene, uint64_t seed) {
    detail::Rng rng(seed);
    Mentions m{};
    m.parts = true;
    return describe_mentions(scene, m, rng.below(3), mark_places[0], prepositions[0]);
}

namespace {

Description describe_mentions(const Scene& scene, Mentions m, size_t form, const char* mark_place, const char* preposition) {
    const ClassAttributes& a = scene.attributes;
    const Nuisance& n = scene.nuisance;
    const bool parts = m.parts, rim = m.rim, colour = m.colour, shape = m.shape, size = m.size,
               orientation = m.orientation, tint = m.tint, position = m.position, background = m.background,
               pattern = m.pattern;

    Description d;
    auto mention = [&d](bool on, const char* key) {
        if (on) d.mentioned.emplace_back(key);
        return on;
    };
    mention(parts, "parts");
    mention(rim, "rim");
    mention(colour, "mark_colour");
    mention(shape, "mark_shape");
    mention(size, "size");
    mention(orientation, "orientation");
    mention(tint, "tint");
    mention(position, "position");
    mention(background, "background");
    mention(pattern, "pattern");

    std::vector<std::string> noun;
    if (size) noun.emplace_back(size_words[n.size]);
    if (orientation) noun.emplace_back(orientation_name(n.orientation));
    if (tint) noun.emplace_back(tint_name(n.tint));
    noun.emplace_back(family_name(scene.family));
    const std::string noun_phrase = text::join(noun, " ");

    std::vector<std::string> features;
    if (parts) features.push_back(std::string(number_word(a.parts)) + " " + part_noun(scene.family));
    if (rim) features.push_back(std::string("a ") + rim_name(a.rim) + " rim");
    if (colour || shape) {
        std::string mark = colour && shape ? std::string(mark_colour_name(a.mark_colour)) + " " + mark_shape_name(a.mark_shape)
                           : colour        ? std::string(mark_colour_name(a.mark_colour)) + " mark"
                                           : std::string(mark_shape_name(a.mark_shape));
        features.push_back(with_article(mark) + " " + mark_place);
    }
    const std::string feature_text = join_and(features);
    const std::string place = position ? place_phrases[n.position] : "";
    std::string ground;
    if (background || pattern) {
        std::vector<std::string> words;
        if (pattern) words.emplace_back(pattern_name(n.pattern));
        if (background) words.emplace_back(background_name(n.background));
        words.emplace_back("background");
        ground = std::string(preposition) + " " + with_article(text::join(words, " "));
    }

    std::string& t = d.text;
    if (form == 0) {
        t = capitalised(with_article(noun_phrase));
        if (!feature_text.empty()) t += " with " + feature_text;
        if (!place.empty()) t += ", " + place;
        if (!ground.empty()) t += ", " + ground;
        t += ".";
    } else if (form == 1) {
        t = "The " + noun_phrase + " is " + (place.empty() ? std::string("shown") : place);
        if (!ground.empty()) t += " " + ground;
        t += ".";
        if (!feature_text.empty()) t += " It has " + feature_text + ".";
    } else {
        t = "There is " + with_article(noun_phrase);
        if (!place.empty()) t += " " + place;
        if (!ground.empty()) t += " " + ground;
        if (!feature_text.empty()) t += ", with " + feature_text;
        t += ".";
    }
    return d;
}

}  // namespace

std::string downstream_caption(const std::string& class_name, const std::string& description) {
    return "This is a " + class_name + ". " + description;
}

const char* filler_sentence(int i) { return filler_bank[i]; }

std::string with_filler(const std::string& text, int count, uint64_t seed) {
    detail::Rng rng(seed);
    // A partial Fisher-Yates shuffle picks `count` distinct sentences; each goes before or after the text.
    int order[filler_bank_size];
    for (int i = 0; i < filler_bank_size; ++i) order[i] = i;
    std::vector<std::string> before, after;
    for (int i = 0; i < count && i < filler_bank_size; ++i) {
        std::swap(order[i], order[i + int(rng.below(uint64_t(filler_bank_size - i)))]);
        (rng.chance(0.5) ? before : after).emplace_back(filler_bank[order[i]]);
    }
    std::vector<std::string> sentences = std::move(before);
    sentences.push_back(text);
    sentences.insert(sentences.end(), after.begin(), after.end());
    return text::join(sentences, " ");
}

std::string downstream_caption(const std::string& class_name, const std::string& description, int filler, uint64_t seed) {
    return "This is a " + class_name + ". " + with_filler(description, filler, seed);
}

std::string named_pretrain_caption(const std::string& class_name, int family, const std::string& description) {
    return class_name + " " + family_name(family) + ". " + description;
}

namespace {

std::vector<std::string> grammar_words() {
    std::vector<std::string> w = {"a",     "an",    "the", "this", "is",      "there", "it",     "has",
                                  "with",  "and",   "shown", "rim", "mark",   "in",    "at",     "its",
                                  "middle", "centre", "on",  "against", "background", "top", "bottom",
                                  "left",  "right", "medium", "sized"};
    auto add_words = [&w](const std::string& phrase) {
        for (const std::string& word : text::split(phrase, ' '))
            if (!word.empty()) w.push_back(word);
    };
    for (int i = 0; i < max_families; ++i) {
        add_words(family_name(i));
        add_words(part_noun(i));
    }
    for (int p = 3; p <= 6; ++p) add_words(number_word(p));
    for (int i = 0; i < values_per_attribute; ++i) {
        add_words(rim_name(i));
        add_words(mark_colour_name(i));
        add_words(mark_shape_name(i));
    }
    for (const char* s : size_words) add_words(s);
    for (int i = 0; i < tint_count; ++i) add_words(tint_name(i));
    for (int i = 0; i < orientation_count; ++i) add_words(orientation_name(i));
    for (int i = 0; i < position_count; ++i) add_words(position_name(i));
    for (int i = 0; i < background_count; ++i) add_words(background_name(i));
    for (int i = 0; i < pattern_count; ++i) add_words(pattern_name(i));
    return w;
}

std::vector<std::string> filler_words() {
    std::vector<std::string> w;
    for (const char* sentence : filler_bank)
        for (const std::string& word : text::split(sentence, ' ')) {
            std::string lower;
            for (char c : word)
                if (std::isalpha(static_cast<unsigned char>(c))) lower += char(std::tolower(static_cast<unsigned char>(c)));
            if (!lower.empty()) w.push_back(lower);
        }
    return w;
}

}  // namespace

const std::vector<std::string>& caption_words(int version) {
    static const std::vector<std::string> v1 = grammar_words();
    static const std::vector<std::string> v2 = [] {
        std::vector<std::string> w = grammar_words(), filler = filler_words();
        w.insert(w.end(), filler.begin(), filler.end());
        return w;
    }();
    return version == 1 ? v1 : v2;
}

}  // namespace dcar::world
