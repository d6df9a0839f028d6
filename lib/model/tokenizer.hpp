// CLIP's byte-level BPE tokenizer, reproducing OpenAI's simple_tokenizer.py id for id: the same text cleaning
// (a subset of ftfy, html.unescape twice, whitespace folding, Python's str.lower), the same pre-tokenisation
// pattern, the same byte-to-unicode table and merge ranks, the same vocabulary order. The one deliberate
// departure is that ftfy is not available: only its character-level fixes are reproduced (NFC, C1 controls
// read as Windows-1252, terminal escapes and control characters dropped, Latin ligatures split, half/full-width
// forms, curly quotes, one early entity pass); mojibake repair is not. Named HTML entities are limited to the
// 106 that HTML5 accepts without a semicolon (the ISO-8859-1 set and amp/lt/gt/quot) plus &apos; and HTML 4's
// typographic ones; any other name is left as written. Torch-free so that it compiles fast and can be used by
// any tool.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace dcar::model {

class Tokenizer {
public:
    // Loads bpe_simple_vocab_16e6.txt (a "#version" header, then one merge per line). Throws dcar::Error(io)
    // when the file cannot be read and dcar::Error(format) when it is not such a vocabulary; both name the file.
    explicit Tokenizer(const std::string& vocab_path);
    ~Tokenizer();
    Tokenizer(Tokenizer&&) noexcept;
    Tokenizer& operator=(Tokenizer&&) noexcept;

    // Where the vocabulary is looked for when the user gives none: $DCAR_VOCAB (which must then exist), the
    // build tree's copy, then the installed copy. Throws dcar::Error(io) when none exists.
    static std::string default_vocab_path();

    // The cleaning applied before pre-tokenisation, as UTF-8: ftfy's subset, html.unescape twice, whitespace
    // runs folded to one space and stripped, lowercased as Python does. Throws dcar::Error(format) on invalid
    // UTF-8, naming the byte offset.
    static std::string normalize(const std::string& text);

    // BPE ids of the text, without SOT/EOT. Safe to call from several threads at once.
    std::vector<int32_t> encode(const std::string& text) const;

    struct Encoded {
        std::vector<int32_t> ids;  // SOT, ids, EOT, zeros; ids.size() == context
        int eot_index;             // the first position holding EOT, which is where CLIP's argmax pools
        bool truncated;            // ids were dropped to fit
    };
    // SOT + ids + EOT, zero-padded to `context`. Too long: with `truncate`, keep SOT + the first context-2 ids
    // + EOT (OpenAI's truncate=True) and set `truncated`; without, throw dcar::Error(format). context < 2
    // throws dcar::Error(usage).
    Encoded tokenize(const std::string& text, int context = 77, bool truncate = true) const;

    // OpenAI's decode: token texts joined, bytes restored, invalid UTF-8 replaced by U+FFFD, and every "</w>"
    // (end of word) turned into a space, so a decoded text ends with one. Special tokens decode to their names.
    // Throws dcar::Error(format) for an id outside the vocabulary.
    std::string decode(const std::vector<int32_t>& ids) const;

    int32_t vocab_size() const;

    static constexpr int32_t sot = 49406, eot = 49407;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace dcar::model
