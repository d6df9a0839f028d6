// CLIP's byte-level BPE tokenizer. The aim is identity with OpenAI's simple_tokenizer.py, so every step below
// follows what the Python code does rather than what would be tidier: text is cleaned as ftfy (subset),
// html.unescape twice, re.sub(r'\s+', ' ') and str.lower() would clean it; split by the pre-tokenisation pattern;
// each piece's UTF-8 bytes are mapped to the 256 printable stand-ins of bytes_to_unicode and merged by rank.
// Unicode data comes from glib; where glib and Python disagree (which characters are spaces, how Σ and a few
// symbols lowercase) the Python behaviour is written out here, and tests compare against OpenAI's outputs.
#include "model/tokenizer.hpp"

#include <glib.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <shared_mutex>
#include <string_view>
#include <unordered_map>

#include "core/error.hpp"

namespace dcar::model {
namespace {

using U32 = std::u32string;

constexpr int kMerges = 49152 - 256 - 2;  // OpenAI reads lines[1 : 49152-256-2+1]
constexpr char32_t kReplacement = 0xFFFD;
constexpr std::string_view kEndOfWord = "</w>";
constexpr std::string_view kStartText = "<|startoftext|>";
constexpr std::string_view kEndText = "<|endoftext|>";

// ---- UTF-8 ------------------------------------------------------------------------------------------------------

// Decodes one sequence at s[i]. Returns the code point and advances i, or returns -1 and advances i past the
// maximal ill-formed subpart, which is how Python's errors="replace" counts replacement characters.
long decode_one(std::string_view s, size_t& i) {
    const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char b0 = byte(i);
    if (b0 < 0x80) {
        ++i;
        return b0;
    }
    int len;
    unsigned char lo = 0x80, hi = 0xBF;  // the range allowed for the second byte
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        len = 2;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        len = 3;
        if (b0 == 0xE0) lo = 0xA0;  // overlong
        if (b0 == 0xED) hi = 0x9F;  // surrogates
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        len = 4;
        if (b0 == 0xF0) lo = 0x90;  // overlong
        if (b0 == 0xF4) hi = 0x8F;  // beyond U+10FFFF
    } else {
        ++i;
        return -1;
    }
    long cp = b0 & (0xFF >> (len + 1));
    size_t k = i + 1;
    for (int n = 1; n < len; ++n, ++k) {
        if (k >= s.size()) break;
        const unsigned char b = byte(k);
        if (b < (n == 1 ? lo : 0x80) || b > (n == 1 ? hi : 0xBF)) break;
        cp = (cp << 6) | (b & 0x3F);
        if (n == len - 1) {
            i = k + 1;
            return cp;
        }
    }
    i = k;
    return -1;
}

// Input text must be valid UTF-8: a caption with broken bytes is an input error worth reporting, not guessing at.
U32 decode_strict(std::string_view s) {
    U32 out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size();) {
        const size_t at = i;
        const long cp = decode_one(s, i);
        if (cp < 0)
            throw_error(ErrorCode::format, "text", "invalid UTF-8 at byte " + std::to_string(at));
        out.push_back(static_cast<char32_t>(cp));
    }
    return out;
}

void append_utf8(std::string& out, char32_t c) {
    char buf[8];
    const int n = g_unichar_to_utf8(c, buf);
    out.append(buf, static_cast<size_t>(n));
}

std::string encode_utf8(const U32& s) {
    std::string out;
    out.reserve(s.size());
    for (char32_t c : s) append_utf8(out, c);
    return out;
}

U32 glib_normalize(const U32& s, GNormalizeMode mode) {
    const std::string utf8 = encode_utf8(s);
    gchar* p = g_utf8_normalize(utf8.data(), static_cast<gssize>(utf8.size()), mode);
    if (!p) throw_error(ErrorCode::internal, "text", "Unicode normalisation failed");
    U32 out = decode_strict(p);
    g_free(p);
    return out;
}

// ---- character classes --------------------------------------------------------------------------------------

bool is_letter(char32_t c) {  // \p{L}
    switch (g_unichar_type(c)) {
        case G_UNICODE_UPPERCASE_LETTER:
        case G_UNICODE_LOWERCASE_LETTER:
        case G_UNICODE_TITLECASE_LETTER:
        case G_UNICODE_MODIFIER_LETTER:
        case G_UNICODE_OTHER_LETTER:
            return true;
        default:
            return false;
    }
}

bool is_number(char32_t c) {  // \p{N}
    switch (g_unichar_type(c)) {
        case G_UNICODE_DECIMAL_NUMBER:
        case G_UNICODE_LETTER_NUMBER:
        case G_UNICODE_OTHER_NUMBER:
            return true;
        default:
            return false;
    }
}

// Python's str.isspace, which re's \s follows. glib's test leaves out \v, the information separators U+1C..1F
// and NEL, which Python folds like any space.
bool is_space(char32_t c) {
    return c == 0x0B || (c >= 0x1C && c <= 0x1F) || c == 0x85 || g_unichar_isspace(c);
}

// Python's Cased property. glib knows no property of that name; letters with a case and characters with a
// case mapping cover it except for the ordinal indicators and the letter-like symbols below.
bool is_cased(char32_t c) {
    switch (g_unichar_type(c)) {
        case G_UNICODE_UPPERCASE_LETTER:
        case G_UNICODE_LOWERCASE_LETTER:
        case G_UNICODE_TITLECASE_LETTER:
            return true;
        default:
            break;
    }
    if (g_unichar_tolower(c) != c || g_unichar_toupper(c) != c) return true;
    return c == 0xAA || c == 0xBA || (c >= 0x2160 && c <= 0x217F) || (c >= 0x24B6 && c <= 0x24E9) ||
           (c >= 0x1F130 && c <= 0x1F149) || (c >= 0x1F150 && c <= 0x1F169) || (c >= 0x1F170 && c <= 0x1F189);
}

// Python's Case_Ignorable property: marks, format characters, modifiers and the word-internal punctuation.
bool is_case_ignorable(char32_t c) {
    switch (g_unichar_type(c)) {
        case G_UNICODE_NON_SPACING_MARK:
        case G_UNICODE_ENCLOSING_MARK:
        case G_UNICODE_FORMAT:
        case G_UNICODE_MODIFIER_LETTER:
        case G_UNICODE_MODIFIER_SYMBOL:
            return true;
        default:
            break;
    }
    switch (c) {
        case 0x27: case 0x2E: case 0x3A: case 0xB7: case 0x387: case 0x55F: case 0x5F4: case 0x2018:
        case 0x2019: case 0x2024: case 0x2027: case 0xFE13: case 0xFE52: case 0xFE55: case 0xFF07:
        case 0xFF0E: case 0xFF1A:
            return true;
        default:
            return false;
    }
}

// ---- str.lower() ----------------------------------------------------------------------------------------------

// Σ lowercases to ς at the end of a word, by Python's reading of Final_Sigma: a cased letter before it and none
// after it, skipping case-ignorable characters both ways.
bool final_sigma(const U32& s, size_t i) {
    size_t j = i;
    while (j > 0 && is_case_ignorable(s[j - 1])) --j;
    if (j == 0 || !is_cased(s[j - 1])) return false;
    size_t k = i + 1;
    while (k < s.size() && is_case_ignorable(s[k])) ++k;
    return k == s.size() || !is_cased(s[k]);
}

// Not g_utf8_strdown: it reads the locale (Turkish dotless i), decides final sigma from the next character only,
// and leaves Roman numerals and circled letters alone, where Python lowercases them.
U32 python_lower(const U32& s) {
    U32 out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size(); ++i) {
        const char32_t c = s[i];
        if (c == 0x130) {  // İ: the one unconditional multi-character lowercase mapping
            out.push_back(U'i');
            out.push_back(0x307);
        } else if (c == 0x3A3) {
            out.push_back(final_sigma(s, i) ? 0x3C2 : 0x3C3);
        } else if (c >= 0x2160 && c <= 0x216F) {
            out.push_back(c + 0x10);
        } else if (c >= 0x24B6 && c <= 0x24CF) {
            out.push_back(c + 0x1A);
        } else {
            out.push_back(g_unichar_tolower(c));
        }
    }
    return out;
}

// ---- HTML entities ----------------------------------------------------------------------------------------------

struct Entity {
    char32_t value;
    bool legacy;  // HTML5 also accepts it without the semicolon
};

// The limit of this implementation: the ISO-8859-1 entities, amp/lt/gt/quot and their upper-case forms (exactly
// the set HTML5 accepts without a semicolon), &apos; and HTML 4's typographic entities.
const std::unordered_map<std::string, Entity>& entities() {
    static const std::unordered_map<std::string, Entity> table = [] {
        static const char* const latin1[96] = {
            "nbsp",   "iexcl",  "cent",   "pound",  "curren", "yen",    "brvbar", "sect",   "uml",    "copy",
            "ordf",   "laquo",  "not",    "shy",    "reg",    "macr",   "deg",    "plusmn", "sup2",   "sup3",
            "acute",  "micro",  "para",   "middot", "cedil",  "sup1",   "ordm",   "raquo",  "frac14", "frac12",
            "frac34", "iquest", "Agrave", "Aacute", "Acirc",  "Atilde", "Auml",   "Aring",  "AElig",  "Ccedil",
            "Egrave", "Eacute", "Ecirc",  "Euml",   "Igrave", "Iacute", "Icirc",  "Iuml",   "ETH",    "Ntilde",
            "Ograve", "Oacute", "Ocirc",  "Otilde", "Ouml",   "times",  "Oslash", "Ugrave", "Uacute", "Ucirc",
            "Uuml",   "Yacute", "THORN",  "szlig",  "agrave", "aacute", "acirc",  "atilde", "auml",   "aring",
            "aelig",  "ccedil", "egrave", "eacute", "ecirc",  "euml",   "igrave", "iacute", "icirc",  "iuml",
            "eth",    "ntilde", "ograve", "oacute", "ocirc",  "otilde", "ouml",   "divide", "oslash", "ugrave",
            "uacute", "ucirc",  "uuml",   "yacute", "thorn",  "yuml"};
        std::unordered_map<std::string, Entity> t;
        for (int k = 0; k < 96; ++k) t.emplace(latin1[k], Entity{static_cast<char32_t>(0xA0 + k), true});
        const struct {
            const char* name;
            char32_t value;
            bool legacy;
        } others[] = {
            {"amp", '&', true},      {"lt", '<', true},         {"gt", '>', true},       {"quot", '"', true},
            {"AMP", '&', true},      {"LT", '<', true},         {"GT", '>', true},       {"QUOT", '"', true},
            {"COPY", 0xA9, true},    {"REG", 0xAE, true},       {"apos", '\'', false},   {"OElig", 0x152, false},
            {"oelig", 0x153, false}, {"Scaron", 0x160, false},  {"scaron", 0x161, false}, {"Yuml", 0x178, false},
            {"fnof", 0x192, false},  {"circ", 0x2C6, false},    {"tilde", 0x2DC, false}, {"ensp", 0x2002, false},
            {"emsp", 0x2003, false}, {"thinsp", 0x2009, false}, {"zwnj", 0x200C, false}, {"zwj", 0x200D, false},
            {"lrm", 0x200E, false},  {"rlm", 0x200F, false},    {"ndash", 0x2013, false}, {"mdash", 0x2014, false},
            {"lsquo", 0x2018, false}, {"rsquo", 0x2019, false}, {"sbquo", 0x201A, false}, {"ldquo", 0x201C, false},
            {"rdquo", 0x201D, false}, {"bdquo", 0x201E, false}, {"dagger", 0x2020, false},
            {"Dagger", 0x2021, false}, {"bull", 0x2022, false}, {"hellip", 0x2026, false},
            {"permil", 0x2030, false}, {"prime", 0x2032, false}, {"Prime", 0x2033, false},
            {"lsaquo", 0x2039, false}, {"rsaquo", 0x203A, false}, {"euro", 0x20AC, false},
            {"trade", 0x2122, false}, {"minus", 0x2212, false}, {"larr", 0x2190, false}, {"rarr", 0x2192, false},
            {"hearts", 0x2665, false},
        };
        for (const auto& e : others) t.emplace(e.name, Entity{e.value, e.legacy});
        return t;
    }();
    return table;
}

const Entity* find_entity(const U32& name) {
    std::string key;
    for (char32_t c : name) {
        if (c >= 0x80) return nullptr;
        key.push_back(static_cast<char>(c));
    }
    const auto& t = entities();
    const auto it = t.find(key);
    return it == t.end() ? nullptr : &it->second;
}

// Windows-1252 for 0x80..0x9F; its five holes stay as they are. Both html.unescape (&#128; is €) and ftfy's
// C1-control fix read those code points this way.
char32_t windows_1252(char32_t c) {
    static constexpr std::array<char32_t, 32> table = {
        0x20AC, 0x81,   0x201A, 0x192,  0x201E, 0x2026, 0x2020, 0x2021, 0x2C6,  0x2030, 0x160,
        0x2039, 0x152,  0x8D,   0x17D,  0x8F,   0x90,   0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
        0x2013, 0x2014, 0x2DC,  0x2122, 0x161,  0x203A, 0x153,  0x9D,   0x17E,  0x178};
    return c >= 0x80 && c <= 0x9F ? table[c - 0x80] : c;
}

bool is_digit(char32_t c) { return c >= '0' && c <= '9'; }
bool is_hex(char32_t c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool is_alnum(char32_t c) { return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
int hex_value(char32_t c) { return is_digit(c) ? int(c - '0') : int((c | 0x20) - 'a' + 10); }

// What a numeric character reference stands for, as html.unescape decides it (nothing for the code points
// HTML forbids).
void append_char_ref(U32& out, long num) {
    if (num == 0) {
        out.push_back(kReplacement);
    } else if (num == 0x0D) {
        out.push_back(U'\r');
    } else if (num >= 0x80 && num <= 0x9F) {
        out.push_back(windows_1252(static_cast<char32_t>(num)));
    } else if ((num >= 0xD800 && num <= 0xDFFF) || num > 0x10FFFF) {
        out.push_back(kReplacement);
    } else if ((num >= 0x1 && num <= 0x8) || num == 0xB || (num >= 0xE && num <= 0x1F) || num == 0x7F ||
               (num >= 0xFDD0 && num <= 0xFDEF) || (num & 0xFFFE) == 0xFFFE) {
        // dropped
    } else {
        out.push_back(static_cast<char32_t>(num));
    }
}

// One pass of Python's html.unescape: &#NNN / &#xHH with or without ';', named entities with ';', legacy names
// without one, and a legacy name followed by more letters ("&ampx" is "&x"). Unknown names stay as written.
U32 html_unescape(const U32& s) {
    if (s.find(U'&') == U32::npos) return s;
    U32 out;
    out.reserve(s.size());
    size_t i = 0;
    while (i < s.size()) {
        if (s[i] != U'&') {
            out.push_back(s[i++]);
            continue;
        }
        const size_t p = i + 1;
        if (p < s.size() && s[p] == U'#') {
            size_t q = p + 1;
            int base = 10;
            if (q < s.size() && !is_digit(s[q]) && (s[q] == U'x' || s[q] == U'X') && q + 1 < s.size() &&
                is_hex(s[q + 1])) {
                base = 16;
                ++q;
            } else if (q >= s.size() || !is_digit(s[q])) {
                out.push_back(s[i++]);  // not a reference: the '&' stays, scanning goes on at '#'
                continue;
            }
            long num = 0;
            while (q < s.size() && (base == 16 ? is_hex(s[q]) : is_digit(s[q]))) {
                num = std::min(num * base + hex_value(s[q]), 0x110000L);  // saturate: all beyond is U+FFFD
                ++q;
            }
            if (q < s.size() && s[q] == U';') ++q;
            append_char_ref(out, num);
            i = q;
            continue;
        }
        // A name is up to 32 characters other than these, then an optional ';'.
        size_t q = p;
        const auto ends_name = [](char32_t c) {
            return c == U'\t' || c == U'\n' || c == U'\f' || c == U' ' || c == U'<' || c == U'&' || c == U'#' ||
                   c == U';';
        };
        while (q < s.size() && q - p < 32 && !ends_name(s[q])) ++q;
        if (q == p) {
            out.push_back(s[i++]);
            continue;
        }
        const bool semicolon = q < s.size() && s[q] == U';';
        const U32 name = s.substr(p, q - p);
        const size_t end = q + (semicolon ? 1 : 0);
        const Entity* whole = find_entity(name);
        if (whole && (semicolon || whole->legacy)) {
            out.push_back(whole->value);
        } else {
            // The longest legacy name that begins the reference, the rest kept as text.
            const U32 ref = s.substr(p, end - p);
            size_t x = ref.size() - 1;
            for (; x >= 2; --x) {
                const Entity* e = find_entity(ref.substr(0, x));
                if (e && e->legacy) break;
            }
            if (x >= 2) {
                out.push_back(find_entity(ref.substr(0, x))->value);
                out.append(ref, x, U32::npos);
            } else {
                out.push_back(U'&');
                out.append(ref);
            }
        }
        i = end;
    }
    return out;
}

// ---- the part of ftfy.fix_text that can be done character by character -----------------------------------------

// ftfy's own entity pass, which runs before html.unescape: only "&name;" / "&#...;" forms, a lower-case name
// also in upper case ("&EACUTE;" is "É") when that is no entity of its own, and a numeric reference only when
// html.unescape resolves all of it.
U32 ftfy_unescape(const U32& s) {
    U32 out;
    out.reserve(s.size());
    size_t i = 0;
    while (i < s.size()) {
        if (s[i] != U'&') {
            out.push_back(s[i++]);
            continue;
        }
        size_t p = i + 1;
        const bool numeric = p < s.size() && s[p] == U'#';
        if (numeric) ++p;
        size_t q = p;
        while (q < s.size() && is_alnum(s[q])) ++q;
        if (q == p || q - p > 24 || q >= s.size() || s[q] != U';') {
            out.push_back(s[i++]);
            continue;
        }
        const U32 ref = s.substr(i, q + 1 - i);
        const U32 name = s.substr(p, q - p);
        if (numeric) {
            const U32 resolved = html_unescape(ref);
            out.append(resolved.find(U';') == U32::npos ? resolved : ref);
        } else if (const Entity* e = find_entity(name)) {
            out.push_back(e->value);
        } else {
            U32 lower = name;
            for (auto& c : lower) c = (c >= 'A' && c <= 'Z') ? c + 32 : c;
            const Entity* base = find_entity(lower);
            U32 upper_of_lower = lower;
            for (auto& c : upper_of_lower) c = (c >= 'a' && c <= 'z') ? c - 32 : c;
            // Only the all-capitals spelling of an all-lower-case entity counts, and only if html.unescape
            // would leave it alone (no legacy name begins it).
            bool plain = base && upper_of_lower == name && html_unescape(ref) == ref;
            if (plain) {
                if (base->value == 0xDF) {  // ß.upper() is "SS"
                    out.append(U"SS");
                } else {
                    out.push_back(g_unichar_toupper(base->value));
                }
            } else {
                out.append(ref);
            }
        }
        i = q + 1;
    }
    return out;
}

bool is_ftfy_control(char32_t c) {
    return c <= 0x08 || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F || (c >= 0x206A && c <= 0x206F) ||
           c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFC) || (c >= 0x1D173 && c <= 0x1D17A) ||
           (c >= 0xE0000 && c <= 0xE007F);
}

const char32_t* latin_ligature(char32_t c) {
    switch (c) {
        case 0x132: return U"IJ";
        case 0x133: return U"ij";
        case 0x149: return U"\u02BCn";
        case 0x1C4: return U"D\u017D";
        case 0x1C5: return U"D\u017E";
        case 0x1C6: return U"d\u017E";
        case 0x1C7: return U"LJ";
        case 0x1C8: return U"Lj";
        case 0x1C9: return U"lj";
        case 0x1CA: return U"NJ";
        case 0x1CB: return U"Nj";
        case 0x1CC: return U"nj";
        case 0x1F1: return U"DZ";
        case 0x1F2: return U"Dz";
        case 0x1F3: return U"dz";
        case 0xFB00: return U"ff";
        case 0xFB01: return U"fi";
        case 0xFB02: return U"fl";
        case 0xFB03: return U"ffi";
        case 0xFB04: return U"ffl";
        case 0xFB05: return U"\u017Ft";
        case 0xFB06: return U"st";
        default: return nullptr;
    }
}

// Length of an ANSI terminal escape (ESC [ digits-and-semicolons letter) at s[i], or 0. ftfy's \d takes any
// decimal digit, not only ASCII ones.
size_t terminal_escape(const U32& s, size_t i) {
    if (s[i] != 0x1B || i + 1 >= s.size() || s[i + 1] != U'[') return 0;
    size_t k = i + 2;
    while (k < s.size() && (g_unichar_type(s[k]) == G_UNICODE_DECIMAL_NUMBER || s[k] == U';')) ++k;
    const bool letter = k < s.size() && ((s[k] >= 'a' && s[k] <= 'z') || (s[k] >= 'A' && s[k] <= 'Z'));
    return letter ? k + 1 - i : 0;
}

// ftfy.fix_text's character-level fixes, in its order: entities (per line, until a line holds '<', which
// suggests real HTML), terminal escapes dropped, C1 controls read as Windows-1252, Latin ligatures, full/half
// width, curly quotes, control characters dropped, NFC. Mojibake detection is what is missing.
U32 ftfy_subset(const U32& text) {
    U32 s;
    s.reserve(text.size());
    bool entities_ok = true;
    for (size_t start = 0; start < text.size();) {
        size_t end = text.find(U'\n', start);
        end = end == U32::npos ? text.size() : end + 1;
        const U32 line = text.substr(start, end - start);
        if (line.find(U'<') != U32::npos) entities_ok = false;
        s += entities_ok ? ftfy_unescape(line) : line;
        start = end;
    }
    U32 out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size(); ++i) {
        if (const size_t n = terminal_escape(s, i)) {
            i += n - 1;
            continue;
        }
        const char32_t c = windows_1252(s[i]);
        if (const char32_t* lig = latin_ligature(c)) {
            for (; *lig; ++lig) out.push_back(*lig == 0x2BC ? U'\'' : *lig);
            continue;
        }
        if (c == 0x3000) {
            out.push_back(U' ');
        } else if (c >= 0xFF01 && c <= 0xFFEF) {
            out += glib_normalize(U32(1, c), G_NORMALIZE_NFKC);
        } else if (c == 0x2BC || (c >= 0x2018 && c <= 0x201B)) {
            out.push_back(U'\'');
        } else if (c >= 0x201C && c <= 0x201F) {
            out.push_back(U'"');
        } else if (!is_ftfy_control(c)) {
            out.push_back(c);
        }
    }
    return glib_normalize(out, G_NORMALIZE_NFC);
}

U32 fold_whitespace(const U32& s) {
    U32 out;
    out.reserve(s.size());
    bool pending = false;
    for (char32_t c : s) {
        if (is_space(c)) {
            pending = !out.empty();
            continue;
        }
        if (pending) out.push_back(U' ');
        pending = false;
        out.push_back(c);
    }
    return out;
}

U32 clean(const std::string& text) {
    U32 s = ftfy_subset(decode_strict(text));
    s = html_unescape(html_unescape(s));
    return python_lower(fold_whitespace(s));
}

// ---- pre-tokenisation ---------------------------------------------------------------------------------------------

bool starts_with(const U32& s, size_t i, std::string_view ascii) {
    if (s.size() - i < ascii.size()) return false;
    for (size_t k = 0; k < ascii.size(); ++k)
        if (s[i + k] != static_cast<unsigned char>(ascii[k])) return false;
    return true;
}

// Length of the contraction at s[i] ('s 't 're 've 'm 'll 'd, case-insensitive as OpenAI compiles the pattern;
// after lowercasing that only lets the long s ſ stand for s), or 0.
size_t contraction(const U32& s, size_t i) {
    if (s[i] != U'\'' || i + 1 >= s.size()) return 0;
    const auto lower = [](char32_t c) { return c == 0x17F ? U's' : (c >= 'A' && c <= 'Z' ? c + 32 : c); };
    const char32_t a = lower(s[i + 1]);
    const char32_t b = i + 2 < s.size() ? lower(s[i + 2]) : 0;
    if (a == U's' || a == U't' || a == U'm' || a == U'd') return 2;
    if ((a == U'r' && b == U'e') || (a == U'v' && b == U'e') || (a == U'l' && b == U'l')) return 3;
    return 0;
}

// [^\s\p{L}\p{N}], as the regex module evaluates it case-insensitively. U+0345 (combining ypogegrammeni) is the
// one character that changes: its case variant ι is a letter, so it is in no class and is skipped like a space.
bool is_other(char32_t c) { return !is_space(c) && !is_letter(c) && !is_number(c) && c != 0x345; }

// The pieces of <\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+,
// each as UTF-8.
std::vector<std::string> pre_tokenize(const U32& s) {
    std::vector<std::string> pieces;
    size_t i = 0;
    while (i < s.size()) {
        size_t n = contraction(s, i);
        if (starts_with(s, i, kStartText)) {
            n = kStartText.size();
        } else if (starts_with(s, i, kEndText)) {
            n = kEndText.size();
        } else if (n > 0) {
            // a contraction
        } else if (is_letter(s[i])) {
            while (i + n < s.size() && is_letter(s[i + n])) ++n;
        } else if (is_number(s[i])) {
            n = 1;
        } else if (is_other(s[i])) {
            while (i + n < s.size() && is_other(s[i + n])) ++n;
        } else {
            ++i;
            continue;
        }
        pieces.push_back(encode_utf8(s.substr(i, n)));
        i += n;
    }
    return pieces;
}

}  // namespace

// ---- the tokenizer ------------------------------------------------------------------------------------------------

struct Tokenizer::Impl {
    struct Merge {
        int32_t rank;
        int32_t merged;  // id of the merged symbol
    };
    std::array<int32_t, 256> byte_id{};          // id of each byte's stand-in character
    std::vector<std::string> token_bytes;        // what each id decodes to (before "</w>" becomes a space)
    std::unordered_map<uint64_t, Merge> merges;  // (left id, right id) → rank and result
    int32_t size = 0;

    // Words already merged; shared by threads, so guarded. Cleared when large rather than grown without end.
    mutable std::shared_mutex cache_mutex;
    mutable std::unordered_map<std::string, std::vector<int32_t>> cache;
    static constexpr size_t kCacheLimit = 1 << 18;

    static uint64_t key(int32_t a, int32_t b) { return (uint64_t(uint32_t(a)) << 32) | uint32_t(b); }

    void bpe(const std::string& piece, std::vector<int32_t>& out) const;
};

void Tokenizer::Impl::bpe(const std::string& piece, std::vector<int32_t>& out) const {
    // OpenAI seeds its cache with the two special tokens, so their literal text maps to their ids.
    if (piece == kStartText) return out.push_back(sot);
    if (piece == kEndText) return out.push_back(eot);
    {
        std::shared_lock lock(cache_mutex);
        const auto it = cache.find(piece);
        if (it != cache.end()) {
            out.insert(out.end(), it->second.begin(), it->second.end());
            return;
        }
    }
    std::vector<int32_t> word;
    word.reserve(piece.size());
    for (unsigned char b : piece) word.push_back(byte_id[b]);
    word.back() += 256;  // the last symbol carries "</w>"
    std::vector<int32_t> next;
    while (word.size() > 1) {
        // The adjacent pair of lowest rank, then every occurrence of it merged left to right.
        const Merge* best = nullptr;
        int32_t left = 0, right = 0;
        for (size_t k = 0; k + 1 < word.size(); ++k) {
            const auto it = merges.find(key(word[k], word[k + 1]));
            if (it != merges.end() && (!best || it->second.rank < best->rank)) {
                best = &it->second;
                left = word[k];
                right = word[k + 1];
            }
        }
        if (!best) break;
        next.clear();
        for (size_t k = 0; k < word.size(); ++k) {
            if (k + 1 < word.size() && word[k] == left && word[k + 1] == right) {
                next.push_back(best->merged);
                ++k;
            } else {
                next.push_back(word[k]);
            }
        }
        word.swap(next);
    }
    out.insert(out.end(), word.begin(), word.end());
    std::unique_lock lock(cache_mutex);
    if (cache.size() >= kCacheLimit) cache.clear();
    cache.emplace(piece, std::move(word));
}

Tokenizer::Tokenizer(const std::string& vocab_path) : impl_(std::make_unique<Impl>()) {
    std::ifstream in(vocab_path, std::ios::binary);
    if (!in) throw_errno(vocab_path, "cannot open the BPE vocabulary");
    const std::string data{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    if (in.bad()) throw_errno(vocab_path, "cannot read the BPE vocabulary");
    // OpenAI's file opens with the line "bpe_simple_vocab_16e6.txt#version: 0.2 (quote included); any header
    // naming a version will do, but a file of merges alone would shift every id by one line.
    if (data.substr(0, data.find('\n')).find("#version") == std::string::npos)
        throw_error(ErrorCode::format, vocab_path, "not a CLIP BPE vocabulary (no \"#version\" header line)");

    // bytes_to_unicode: printable Latin-1 bytes stand for themselves, the other 68 take U+0100 onwards. Ids
    // follow the order of that table (printable bytes first), not byte order.
    std::array<bool, 256> printable{};
    for (int b = 0; b < 256; ++b) printable[b] = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
    std::array<int, 256> order{};
    std::array<char32_t, 256> stand_in{};
    int n = 0, extra = 0;
    for (int b = 0; b < 256; ++b)
        if (printable[b]) order[n++] = b, stand_in[b] = static_cast<char32_t>(b);
    for (int b = 0; b < 256; ++b)
        if (!printable[b]) order[n++] = b, stand_in[b] = static_cast<char32_t>(256 + extra++);

    std::vector<std::string> vocab;  // token texts, in the byte-to-unicode alphabet
    std::unordered_map<std::string, int32_t> ids;
    std::unordered_map<char32_t, unsigned char> byte_of;
    for (int k = 0; k < 256; ++k) {
        std::string sym;
        append_utf8(sym, stand_in[order[k]]);
        vocab.push_back(sym);
        impl_->byte_id[order[k]] = k;
        byte_of[stand_in[order[k]]] = static_cast<unsigned char>(order[k]);
    }
    for (int k = 0; k < 256; ++k) vocab.push_back(vocab[k] + std::string(kEndOfWord));

    // Merge lines: two symbols each, both already in the vocabulary, their concatenation the next token.
    std::vector<std::pair<std::string, std::string>> pairs;
    pairs.reserve(kMerges);
    size_t pos = data.find('\n');
    int line_no = 1;
    while (pos != std::string::npos && pos + 1 < data.size() && static_cast<int>(pairs.size()) < kMerges) {
        ++pos;
        ++line_no;
        size_t eol = data.find('\n', pos);
        const std::string_view line(data.data() + pos, (eol == std::string::npos ? data.size() : eol) - pos);
        std::vector<std::string> parts;
        for (size_t k = 0; k < line.size();) {
            while (k < line.size() && std::isspace(static_cast<unsigned char>(line[k]))) ++k;
            const size_t from = k;
            while (k < line.size() && !std::isspace(static_cast<unsigned char>(line[k]))) ++k;
            if (k > from) parts.emplace_back(line.substr(from, k - from));
        }
        if (parts.size() != 2)
            throw_error(ErrorCode::format, vocab_path,
                        "line " + std::to_string(line_no) + ": expected two symbols separated by a space");
        pairs.emplace_back(parts[0], parts[1]);
        pos = eol;
    }
    if (static_cast<int>(pairs.size()) < kMerges)
        throw_error(ErrorCode::format, vocab_path,
                    "has " + std::to_string(pairs.size()) + " merges, CLIP needs " + std::to_string(kMerges));
    for (const auto& [a, b] : pairs) vocab.push_back(a + b);
    vocab.emplace_back(kStartText);
    vocab.emplace_back(kEndText);
    // A later duplicate wins, as in Python's dict(zip(vocab, range(len(vocab)))).
    for (size_t k = 0; k < vocab.size(); ++k) ids[vocab[k]] = static_cast<int32_t>(k);
    for (size_t r = 0; r < pairs.size(); ++r) {
        const auto a = ids.find(pairs[r].first), b = ids.find(pairs[r].second);
        if (a == ids.end() || b == ids.end() || a->second >= 512 + static_cast<int32_t>(r))
            throw_error(ErrorCode::format, vocab_path,
                        "line " + std::to_string(r + 2) + ": a symbol that no earlier line produces");
        impl_->merges[Impl::key(a->second, b->second)] =
            Impl::Merge{static_cast<int32_t>(r), ids.at(pairs[r].first + pairs[r].second)};
    }

    // Each token's bytes, for decode: stand-ins back to bytes; "</w>" and the special names are ASCII and
    // printable, so they come back as themselves.
    impl_->token_bytes.reserve(vocab.size());
    for (const auto& text : vocab) {
        std::string bytes;
        for (const char32_t c : decode_strict(text)) {
            const auto it = byte_of.find(c);
            if (it == byte_of.end())
                throw_error(ErrorCode::format, vocab_path,
                            "token \"" + text + "\" has a character outside the byte table");
            bytes.push_back(static_cast<char>(it->second));
        }
        impl_->token_bytes.push_back(std::move(bytes));
    }
    impl_->size = static_cast<int32_t>(vocab.size());
    if (impl_->size != eot + 1)
        throw_error(ErrorCode::internal, vocab_path, "vocabulary size " + std::to_string(impl_->size));
}

Tokenizer::~Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;

std::string Tokenizer::default_vocab_path() {
    if (const char* env = std::getenv("DCAR_VOCAB"); env && *env) {
        if (!std::filesystem::exists(env))
            throw_error(ErrorCode::io, env, "no such BPE vocabulary (from $DCAR_VOCAB)");
        return env;
    }
    std::string looked;
    for (const char* candidate : {
#ifdef DCAR_BUILD_VOCAB
             DCAR_BUILD_VOCAB,
#endif
#ifdef DCAR_INSTALLED_VOCAB
             DCAR_INSTALLED_VOCAB,
#endif
             static_cast<const char*>(nullptr)}) {
        if (!candidate) break;
        std::error_code ec;
        if (std::filesystem::is_regular_file(candidate, ec)) return candidate;
        looked += std::string(looked.empty() ? "" : ", ") + candidate;
    }
    throw_error(ErrorCode::io, "bpe_simple_vocab_16e6.txt",
                "no BPE vocabulary found" + (looked.empty() ? std::string() : " (looked in " + looked + ")") +
                    "; set $DCAR_VOCAB");
}

std::string Tokenizer::normalize(const std::string& text) { return encode_utf8(clean(text)); }

std::vector<int32_t> Tokenizer::encode(const std::string& text) const {
    std::vector<int32_t> ids;
    for (const std::string& piece : pre_tokenize(clean(text))) impl_->bpe(piece, ids);
    return ids;
}

Tokenizer::Encoded Tokenizer::tokenize(const std::string& text, int context, bool truncate) const {
    if (context < 2) throw_error(ErrorCode::usage, "", "context length " + std::to_string(context) + " is below 2");
    const std::vector<int32_t> body = encode(text);
    const size_t room = static_cast<size_t>(context) - 2;
    Encoded e{std::vector<int32_t>(static_cast<size_t>(context), 0), 0, body.size() > room};
    if (e.truncated && !truncate) {
        // Quote the start of the text so that the message says which caption it was.
        std::string head;
        const U32 chars = decode_strict(text);
        head = encode_utf8(chars.substr(0, 40)) + (chars.size() > 40 ? "…" : "");
        throw_error(ErrorCode::format, "\"" + head + "\"",
                    std::to_string(body.size() + 2) + " tokens do not fit the context of " + std::to_string(context));
    }
    const size_t kept = std::min(body.size(), room);
    e.ids[0] = sot;
    std::copy(body.begin(), body.begin() + static_cast<std::ptrdiff_t>(kept), e.ids.begin() + 1);
    e.ids[kept + 1] = eot;
    for (size_t k = 0; k < e.ids.size(); ++k)
        if (e.ids[k] == eot) {
            e.eot_index = static_cast<int>(k);
            break;
        }
    return e;
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids) const {
    std::string bytes;
    for (const int32_t id : ids) {
        if (id < 0 || id >= impl_->size)
            throw_error(ErrorCode::format, "token id " + std::to_string(id),
                        "outside the vocabulary (0.." + std::to_string(impl_->size - 1) + ")");
        bytes += impl_->token_bytes[static_cast<size_t>(id)];
    }
    std::string text;
    text.reserve(bytes.size());
    for (size_t i = 0; i < bytes.size();) {
        const long cp = decode_one(bytes, i);
        append_utf8(text, cp < 0 ? kReplacement : static_cast<char32_t>(cp));
    }
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size();) {
        if (text.compare(i, kEndOfWord.size(), kEndOfWord) == 0) {
            out.push_back(' ');
            i += kEndOfWord.size();
        } else {
            out.push_back(text[i++]);
        }
    }
    return out;
}

int32_t Tokenizer::vocab_size() const { return impl_->size; }

}  // namespace dcar::model
