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

Description describe(const Scene& scene, double p_class, double p_nuisance, uint64_t seed) {
    detail::Rng rng(seed);
    const ClassAttributes& a = scene.attributes;
    const Nuisance& n = scene.nuisance;
    // Draw order: the four class attributes, the six nuisance attributes, template, mark place, preposition.
    const bool parts = rng.chance(p_class), rim = rng.chance(p_class), colour = rng.chance(p_class),
               shape = rng.chance(p_class);
    const bool size = rng.chance(p_nuisance), orientation = rng.chance(p_nuisance), tint = rng.chance(p_nuisance),
               position = rng.chance(p_nuisance), background = rng.chance(p_nuisance),
               pattern = rng.chance(p_nuisance);
    const size_t form = rng.below(3);
    const char* mark_place = mark_places[rng.below(2)];
    const char* preposition = prepositions[rng.below(2)];

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

std::string downstream_caption(const std::string& class_name, const std::string& description) {
    return "This is a " + class_name + ". " + description;
}

const std::vector<std::string>& caption_words() {
    static const std::vector<std::string> words = [] {
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
    }();
    return words;
}

}  // namespace dcar::world
