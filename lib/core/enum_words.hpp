// Enums written as words (options, checkpoints, logs, records): one table of value–word pairs per enum gives
// both directions, and the list of words an error message offers. The first word of a value is its name; later
// entries with the same value are accepted spellings that are never written.
#pragma once
#include <cstddef>
#include <optional>
#include <string>

#include "core/error.hpp"

namespace dcar {

template <typename E>
struct EnumWord {
    E value;
    const char* word;
};

template <typename E, size_t N>
const char* enum_word(E value, const EnumWord<E> (&words)[N]) {
    for (const auto& w : words)
        if (w.value == value) return w.word;
    return "?";
}

template <typename E, size_t N>
std::optional<E> find_enum(const std::string& text, const EnumWord<E> (&words)[N]) {
    for (const auto& w : words)
        if (text == w.word) return w.value;
    return std::nullopt;
}

// The names, as "a, b or c".
template <typename E, size_t N>
std::string enum_word_list(const EnumWord<E> (&words)[N]) {
    std::string names[N];
    size_t count = 0;
    for (size_t i = 0; i < N; ++i)
        if (enum_word(words[i].value, words) == words[i].word) names[count++] = words[i].word;
    std::string list;
    for (size_t i = 0; i < count; ++i) list += (i == 0 ? "" : i + 1 == count ? " or " : ", ") + names[i];
    return list;
}

// what: the subject and its verb, as in "the warm-up is"; a word not in the table is a usage error
// "the warm-up is constant or linear, not 'x'".
template <typename E, size_t N>
E parse_enum(const std::string& text, const EnumWord<E> (&words)[N], const std::string& what) {
    if (const auto value = find_enum(text, words)) return *value;
    throw Error(ErrorCode::usage, what + " " + enum_word_list(words) + ", not '" + text + "'");
}

}  // namespace dcar
