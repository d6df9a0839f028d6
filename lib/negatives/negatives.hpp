// Multi-perspective negative captions (docs/METHOD.md §5) and their category-matching weights (§5.5),
// torch-free.
// For every caption of a manifest it builds candidates of known class:
//   swap       the item's class name replaced by another class of the same manifest (uniform draw),
//   hard-swap  the same, drawn from the classes whose name embeddings are nearest (--hard-swap-p),
//   attribute  the positive caption of another item of the same class (same category, other attributes),
//   attribute-swap  the positive caption with one attribute word replaced by another value of the same lexical
//              list (AttributeLexicon below): same category, one attribute that contradicts the image,
//   released   the manifest's own negatives (FDRD flowers/pets/aircraft), only when asked for.
// Each candidate gets w = 1 + α when its class equals the item's class, else 1.
//
// Class-name matching rule (find_class_name, replace_class_name):
//   * the class name is split into words at runs of spaces and underscores ("Apply_Eye_Makeup" →
//     apply|eye|makeup); in the text, consecutive words may be separated by any run of spaces and
//     underscores, so "Apply_Eye_Makeup", "apply eye makeup" and "APPLY EYE_MAKEUP" all match;
//   * comparison is ASCII case-insensitive; other characters (hyphens, digits, UTF-8) must be equal;
//   * an occurrence is whole-word: the byte before it and the byte after it are not word bytes, where a word
//     byte is an ASCII letter, an ASCII digit or any non-ASCII byte ("cat" is not found in "category",
//     "cats" or "bobcat"); plural forms are NOT matched: "cats" is not an occurrence of "cat";
//   * every non-overlapping occurrence, left to right, is replaced (replace_class_name). mine_negatives
//     writes the other class as its own captions write it (its first occurrence in them, exact bytes; its
//     manifest name when none of its captions names it), so "Sphynx" → "english setter" in pets captions and
//     "face" → "car_side" under the caltech template; when the replaced occurrence has several words, the
//     replacement takes the occurrence's separators (underscores if it has one, else spaces).
//
// Determinism: every caption draws from its own generator, seeded from (seed, item index, caption index), so
// the output depends only on the input and the seed.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/log.hpp"
#include "io/sink.hpp"
#include "io/source.hpp"
#include "manifest/manifest.hpp"

namespace dcar::train {

enum class NegativeKind { swap, hard_swap, attribute, attribute_swap, released };
const char* kind_name(NegativeKind kind);  // "swap" | "hard-swap" | "attribute" | "attribute-swap" | "released"

struct Candidate {
    std::string text;
    std::string class_name;  // "" = unknown (a released negative that names no class of the manifest)
    NegativeKind kind = NegativeKind::swap;
    bool same_class = false;
    double weight = 1.0;  // 1 + alpha when same_class, else 1
};

// One caption of one item with its negatives.
struct Record {
    std::string id;          // item id
    std::string caption_id;  // manifest::caption_id(id, j)
    std::string image;
    std::string caption;
    std::string class_name;
    std::vector<Candidate> negatives;
};

// Lexical lists for attribute swaps. Each group lists mutually exclusive values of one attribute (colours,
// counts, positions…), each value one or more interchangeable words ("grey|gray"), lowercase; words are matched
// whole and case-insensitively, as class names are. Only the values that occur in the mined pool's captions are
// used, each written as it first occurs there, so the vocabulary is the pool's own.
struct AttributeLexicon {
    struct Group {
        std::string name;
        std::vector<std::vector<std::string>> values;
    };
    std::vector<Group> groups;
};
// The built-in English lists (colour, count, size, position, pattern, shape, orientation, brightness, length,
// width, texture).
AttributeLexicon default_attribute_lexicon();
// Lines "GROUP<TAB>word|word…", one value per line, in groups of lines with one GROUP; '#' starts a comment
// line. Throws dcar::Error(io|format) naming the file and line.
AttributeLexicon read_attribute_lexicon(const std::string& path);

struct MineConfig {
    size_t swaps = 3;          // category-swap negatives per caption
    size_t attributes = 2;     // attribute negatives per caption
    size_t attribute_swaps = 0;  // attribute-swap negatives per caption
    AttributeLexicon lexicon;    // for attribute swaps (empty: default_attribute_lexicon())
    double hard_swap_p = 0.0;  // probability that a swap draw comes from the nearest classes
    bool swaps_within_category = false;  // swap classes only from the item's meta_category (when it has one)
    size_t hard_pool = 5;      // how many nearest classes form that pool
    double alpha = 0.5;        // category-matching weight: 1 + alpha on the item's own class
    bool keep_released = false;
    uint64_t seed = 1;
};

// Unit-length class-name embeddings; ids are class names.
struct ClassEmbeddings {
    uint32_t dim = 0;
    std::vector<std::string> names;
    std::vector<float> vectors;  // names.size() x dim, rows L2-normalised
    std::string source;          // file name, for messages
};

struct MineStats {
    size_t items = 0;
    size_t captions = 0;
    size_t swaps = 0;             // swap + hard-swap negatives kept
    size_t hard_swaps = 0;        // of which drawn from the nearest classes
    size_t class_absent = 0;      // captions whose item has a class that the caption does not name
    size_t no_class = 0;          // captions whose item has no class
    size_t attributes = 0;        // attribute negatives kept
    size_t attribute_swaps = 0;   // attribute-swap negatives kept
    size_t no_attribute_word = 0; // captions (of a class) with no word of the pool's attribute vocabulary
    size_t released = 0;          // released negatives kept
    size_t duplicates = 0;        // candidates dropped: equal to the positive or to an earlier candidate
    size_t skipped_records = 0;   // manifest records reported and skipped by the reader
    std::string summary() const;  // one line for stderr
};

// --- the rules, exposed for tests ---
// True when `class_name` occurs in `text` under the matching rule above.
bool find_class_name(const std::string& text, const std::string& class_name);
// `text` with every occurrence of `class_name` replaced by `replacement`; *count (optional) = occurrences.
std::string replace_class_name(const std::string& text, const std::string& class_name, const std::string& replacement,
                               size_t* count = nullptr);
// The comparison key for duplicates: ASCII-lowercased, whitespace runs collapsed to one space, trimmed.
std::string comparison_key(const std::string& text);
// For each class, up to k other classes by descending cosine of their embeddings (ties: lower index first).
// Every class must have an embedding (ids compared exactly, else ASCII-case-insensitively with
// underscores ≡ spaces); throws dcar::Error(mismatch) naming the first that has none.
std::vector<std::vector<size_t>> nearest_classes(const std::vector<std::string>& classes, const ClassEmbeddings& embeddings,
                                                 size_t k);

// Reads any embedding stream or .npy dcar reads. Throws dcar::Error.
ClassEmbeddings load_class_embeddings(const std::string& path);

// Mines negatives for every caption of `manifest`. `embeddings` is required when config.hard_swap_p > 0.
// Throws dcar::Error(usage) on a bad config.
std::vector<Record> mine_negatives(const manifest::Manifest& manifest, const MineConfig& config,
                                   const ClassEmbeddings* embeddings, MineStats& stats);

// One JSON object per line: {"id","caption_id","image","caption","class","negatives":[{"text","class","kind",
// "same_class","weight"}]}.
void write_records(const std::vector<Record>& records, io::Sink& sink);

// The category-matching weight of a candidate for an item of class item_class (docs/METHOD.md §5.5): 1 + alpha
// when the candidate's class is the item's, else 1. Classes are compared exactly when both are known; otherwise
// the candidate's own same_class flag decides.
double category_weight(const std::string& item_class, const Candidate& candidate, double alpha);

// Reads what write_records wrote (dcar-tune's input). Throws dcar::Error(format) naming the source and line for
// a line that is not such a record; unknown kinds are read as released.
std::vector<Record> read_records(io::Source& source);
// Whether a line looks like a record of write_records (a JSON object with "caption_id" and "negatives").
bool is_record_line(const std::string& line);

// The whole job, as the tool runs it.
struct MineJob {
    std::string manifest_path;          // "-" = stdin
    manifest::ReadOptions read;
    std::string class_embeddings_path;  // "" = none
    std::string lexicon_path;           // "" = the built-in attribute lexicon
    std::string output = "-";           // "-" = stdout; files are replaced atomically
    MineConfig config;
    // The pool: only the shots of config.seed (split_shots in negatives/dataset.hpp) are mined from and written;
    // the held-out images' captions go to val_output, without negatives, and feed nothing else.
    int64_t shots = 0;                  // images per class (0 = all)
    double val_fraction = 0;
    std::string val_output;             // "" = none (then val_fraction must be 0)
};
// Reads, mines, writes; reports the summary with log.info. Throws dcar::Error.
MineStats run_mine_negatives(const MineJob& job, const Log& log);

}  // namespace dcar::train
