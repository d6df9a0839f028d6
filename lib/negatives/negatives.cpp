// Negative mining (see negatives.hpp for the rules).
#include "negatives/negatives.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "core/enum_words.hpp"
#include "core/error.hpp"
#include "core/random.hpp"
#include "core/text.hpp"
#include "stream/embeddings.hpp"
#include "negatives/dataset.hpp"

namespace dcar::train {

namespace {

bool is_word_byte(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}
bool is_separator(char c) { return c == ' ' || c == '_'; }
char lower(char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; }

std::vector<std::string> name_words(const std::string& name) {
    std::vector<std::string> words;
    std::string word;
    for (char c : name) {
        if (is_separator(c)) {
            if (!word.empty()) words.push_back(std::move(word));
            word.clear();
        } else {
            word += lower(c);
        }
    }
    if (!word.empty()) words.push_back(std::move(word));
    return words;
}

// Length of the occurrence of `words` at `pos` (0 when none), word boundaries included.
size_t match_at(const std::string& text, size_t pos, const std::vector<std::string>& words) {
    if (pos > 0 && is_word_byte(static_cast<unsigned char>(text[pos - 1]))) return 0;
    size_t at = pos;
    for (size_t w = 0; w < words.size(); ++w) {
        if (w > 0) {
            const size_t start = at;
            while (at < text.size() && is_separator(text[at])) ++at;
            if (at == start) return 0;
        }
        const std::string& word = words[w];
        if (text.size() - at < word.size()) return 0;
        for (size_t i = 0; i < word.size(); ++i)
            if (lower(text[at + i]) != word[i]) return 0;
        at += word.size();
    }
    if (at < text.size() && is_word_byte(static_cast<unsigned char>(text[at]))) return 0;
    return at - pos;
}

// The replacement class name written with the separators of `occurrence`.
std::string styled(const std::string& replacement, const std::string& occurrence) {
    char sep = 0;
    if (occurrence.find('_') != std::string::npos) sep = '_';
    else if (occurrence.find(' ') != std::string::npos) sep = ' ';
    if (!sep) return replacement;
    std::string out = replacement;
    for (char& c : out)
        if (is_separator(c)) c = sep;
    return out;
}

std::string name_key(const std::string& name) { return text::join(name_words(name), " "); }

// Draws distinct elements of a pool in random order (lazy partial Fisher-Yates).
class Drawer {
public:
    explicit Drawer(std::vector<size_t> pool) : pool_(std::move(pool)) {}
    bool empty() const { return used_ == pool_.size(); }
    size_t draw(Rng& rng) {
        const size_t j = used_ + rng.below(pool_.size() - used_);
        std::swap(pool_[used_], pool_[j]);
        return pool_[used_++];
    }

private:
    std::vector<size_t> pool_;
    size_t used_ = 0;
};

// Candidates of one caption: keeps the first of equal texts, never the positive.
struct CandidateList {
    CandidateList(const std::string& positive, const std::string& item_class, double alpha, MineStats& stats)
        : item_class(item_class), alpha(alpha), stats(stats) {
        seen.insert(comparison_key(positive));
    }
    bool offer(std::string text, std::string class_name, NegativeKind kind) {
        if (!seen.insert(comparison_key(text)).second) {
            ++stats.duplicates;
            return false;
        }
        Candidate c;
        c.text = std::move(text);
        c.same_class = !item_class.empty() && class_name == item_class;
        c.class_name = std::move(class_name);
        c.kind = kind;
        c.weight = category_weight(item_class, c, alpha);
        out.push_back(std::move(c));
        return true;
    }
    const std::string& item_class;
    double alpha;
    MineStats& stats;
    std::unordered_set<std::string> seen;
    std::vector<Candidate> out;
};

// The class a released negative is about: the longest other class it names, else the item's own class when
// it names that, else "".
std::string class_of_text(const std::string& text, const std::vector<std::string>& classes,
                          const std::string& item_class) {
    std::string best;
    bool own = false;
    for (const auto& name : classes) {
        if (!find_class_name(text, name)) continue;
        if (name == item_class) own = true;
        else if (name.size() > best.size()) best = name;
    }
    if (!best.empty()) return best;
    return own ? item_class : "";
}

// An attribute word of a caption: where it is, and which value of which lexicon group it names.
struct AttributeWord {
    size_t pos, len, group, value;
};

// Each maximal run of word bytes of `text` (where a whole-word match can start and end), as (position, length).
std::vector<std::pair<size_t, size_t>> word_spans(const std::string& text) {
    std::vector<std::pair<size_t, size_t>> spans;
    for (size_t pos = 0; pos < text.size();) {
        if (!is_word_byte(static_cast<unsigned char>(text[pos]))) {
            ++pos;
            continue;
        }
        size_t end = pos;
        while (end < text.size() && is_word_byte(static_cast<unsigned char>(text[end]))) ++end;
        spans.emplace_back(pos, end - pos);
        pos = end;
    }
    return spans;
}

// The lexicon's words, lower-case, → (group, value).
using WordIndex = std::unordered_map<std::string, std::pair<size_t, size_t>>;
WordIndex index_words(const AttributeLexicon& lexicon) {
    WordIndex index;
    for (size_t g = 0; g < lexicon.groups.size(); ++g)
        for (size_t v = 0; v < lexicon.groups[g].values.size(); ++v)
            for (const auto& word : lexicon.groups[g].values[v]) index.emplace(word, std::make_pair(g, v));
    return index;
}

std::string lowered(std::string s) {
    for (char& c : s) c = lower(c);
    return s;
}

// The pool's attribute vocabulary: for each group and value, the value's word as the pool's captions first
// write it ("" = the value does not occur in the pool).
std::vector<std::vector<std::string>> pool_vocabulary(const AttributeLexicon& lexicon, const WordIndex& index,
                                                      const std::vector<manifest::Item>& items) {
    std::vector<std::vector<std::string>> written(lexicon.groups.size());
    for (size_t g = 0; g < lexicon.groups.size(); ++g) written[g].resize(lexicon.groups[g].values.size());
    for (const auto& item : items)
        for (const auto& caption : item.captions)
            for (const auto& [pos, len] : word_spans(caption)) {
                const auto it = index.find(lowered(caption.substr(pos, len)));
                if (it == index.end()) continue;
                std::string& slot = written[it->second.first][it->second.second];
                if (slot.empty()) slot = lowered(caption.substr(pos, len));
            }
    return written;
}

// The caption's words that name a value of the pool's vocabulary, outside every occurrence of its class name.
std::vector<AttributeWord> attribute_words(const std::string& caption, const std::string& class_name, const WordIndex& index,
                                           const std::vector<std::vector<std::string>>& vocabulary) {
    std::vector<bool> in_class(caption.size(), false);
    const auto class_words = name_words(class_name);
    if (!class_words.empty())
        for (size_t pos = 0; pos < caption.size(); ++pos)
            if (const size_t len = match_at(caption, pos, class_words))
                std::fill(in_class.begin() + long(pos), in_class.begin() + long(pos + len), true);
    std::vector<AttributeWord> found;
    for (const auto& [pos, len] : word_spans(caption)) {
        if (in_class[pos]) continue;
        const auto it = index.find(lowered(caption.substr(pos, len)));
        if (it != index.end() && !vocabulary[it->second.first][it->second.second].empty())
            found.push_back({pos, len, it->second.first, it->second.second});
    }
    return found;
}

// `word` with its first letter upper-case when `like` starts with one.
std::string cased_like(std::string word, const std::string& like) {
    if (!word.empty() && !like.empty() && like[0] >= 'A' && like[0] <= 'Z' && word[0] >= 'a' && word[0] <= 'z')
        word[0] = char(word[0] - 'a' + 'A');
    return word;
}

void check_config(const MineConfig& config, bool have_embeddings) {
    if (!(config.hard_swap_p >= 0.0 && config.hard_swap_p <= 1.0))
        throw Error(ErrorCode::usage, "--hard-swap-p must be between 0 and 1");
    if (!std::isfinite(config.alpha) || config.alpha < 0.0) throw Error(ErrorCode::usage, "--alpha must be a number >= 0");
    if (config.hard_swap_p > 0.0 && !have_embeddings)
        throw Error(ErrorCode::usage, "--hard-swap-p needs --class-embeddings");
    if (config.hard_swap_p > 0.0 && config.hard_pool == 0) throw Error(ErrorCode::usage, "--hard-pool must be positive");
}

}  // namespace

namespace {
const EnumWord<NegativeKind> kind_words[] = {{NegativeKind::swap, "swap"},
                                             {NegativeKind::hard_swap, "hard-swap"},
                                             {NegativeKind::attribute, "attribute"},
                                             {NegativeKind::attribute_swap, "attribute-swap"},
                                             {NegativeKind::released, "released"}};
}  // namespace

const char* kind_name(NegativeKind kind) { return enum_word(kind, kind_words); }

std::string MineStats::summary() const {
    std::string s = std::to_string(items) + " items, " + std::to_string(captions) + " captions: " +
                    std::to_string(swaps) + " swap negatives (" + std::to_string(hard_swaps) + " hard), " +
                    std::to_string(attributes) + " attribute negatives";
    if (attribute_swaps || no_attribute_word)
        s += ", " + std::to_string(attribute_swaps) + " attribute swaps (" + std::to_string(no_attribute_word) +
             " captions without an attribute word)";
    if (released) s += ", " + std::to_string(released) + " released negatives";
    s += "; " + std::to_string(class_absent) + " captions without their class name";
    if (no_class) s += ", " + std::to_string(no_class) + " captions without a class";
    s += ", " + std::to_string(duplicates) + " duplicates dropped";
    if (skipped_records) s += ", " + std::to_string(skipped_records) + " manifest records skipped";
    return s;
}

bool find_class_name(const std::string& text, const std::string& class_name) {
    const auto words = name_words(class_name);
    if (words.empty()) return false;
    for (size_t pos = 0; pos < text.size(); ++pos)
        if (match_at(text, pos, words)) return true;
    return false;
}

std::string replace_class_name(const std::string& text, const std::string& class_name, const std::string& replacement,
                               size_t* count) {
    const auto words = name_words(class_name);
    size_t n = 0;
    std::string out;
    if (words.empty()) {
        if (count) *count = 0;
        return text;
    }
    size_t pos = 0;
    while (pos < text.size()) {
        const size_t len = match_at(text, pos, words);
        if (len) {
            out += styled(replacement, text.substr(pos, len));
            pos += len;
            ++n;
        } else {
            out += text[pos++];
        }
    }
    if (count) *count = n;
    return out;
}

std::string comparison_key(const std::string& text) {
    std::string out;
    bool space = false;
    for (char c : text) {
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
            space = !out.empty();
        } else {
            if (space) out += ' ';
            space = false;
            out += lower(c);
        }
    }
    return out;
}

std::vector<std::vector<size_t>> nearest_classes(const std::vector<std::string>& classes, const ClassEmbeddings& embeddings,
                                                 size_t k) {
    std::unordered_map<std::string, size_t> exact, loose;
    for (size_t i = 0; i < embeddings.names.size(); ++i) {
        exact.emplace(embeddings.names[i], i);
        loose.emplace(name_key(embeddings.names[i]), i);
    }
    std::vector<size_t> row(classes.size());
    for (size_t c = 0; c < classes.size(); ++c) {
        auto it = exact.find(classes[c]);
        if (it != exact.end()) {
            row[c] = it->second;
            continue;
        }
        auto loose_it = loose.find(name_key(classes[c]));
        if (loose_it == loose.end())
            throw_error(ErrorCode::mismatch, embeddings.source.empty() ? "class embeddings" : embeddings.source,
                        "no embedding for class '" + classes[c] + "' (ids must be class names)");
        row[c] = loose_it->second;
    }
    const uint32_t d = embeddings.dim;
    std::vector<std::vector<size_t>> out(classes.size());
    for (size_t c = 0; c < classes.size(); ++c) {
        const float* a = embeddings.vectors.data() + row[c] * d;
        std::vector<std::pair<double, size_t>> scored;
        for (size_t o = 0; o < classes.size(); ++o) {
            if (o == c) continue;
            const float* b = embeddings.vectors.data() + row[o] * d;
            double dot = 0;
            for (uint32_t i = 0; i < d; ++i) dot += double(a[i]) * double(b[i]);
            scored.emplace_back(-dot, o);
        }
        const size_t take = std::min(k, scored.size());
        std::partial_sort(scored.begin(), scored.begin() + take, scored.end());
        for (size_t i = 0; i < take; ++i) out[c].push_back(scored[i].second);
    }
    return out;
}

ClassEmbeddings load_class_embeddings(const std::string& path) {
    auto reader = stream::open_embeddings(path);
    stream::Batch all = stream::read_all(*reader);
    if (all.empty()) throw_error(ErrorCode::format, reader->name(), "no class embeddings");
    ClassEmbeddings out;
    out.dim = all.dim;
    out.names = std::move(all.ids);
    out.vectors = std::move(all.vectors);
    out.source = reader->name();
    stream::normalize_rows(out.vectors.data(), out.names.size(), out.dim);
    return out;
}

AttributeLexicon default_attribute_lexicon() {
    // group, then its values; a value's synonyms are separated by '|'.
    static const std::vector<std::pair<const char*, std::vector<const char*>>> lists = {
        {"colour", {"red", "orange", "yellow", "green", "blue", "purple|violet", "pink", "brown", "black", "white", "grey|gray",
                    "silver", "golden|gold", "beige"}},
        {"count", {"single", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"}},
        {"size", {"small|little", "medium", "large|big", "tiny", "huge|giant"}},
        {"position", {"left", "right", "top|upper", "bottom|lower", "centre|center|middle"}},
        {"pattern", {"plain", "striped", "spotted|dotted", "checkered|checked", "dashed"}},
        {"shape", {"round|circular", "square", "triangular", "rectangular", "oval"}},
        {"orientation", {"horizontal", "vertical", "diagonal"}},
        {"brightness", {"dark", "bright", "pale"}},
        {"length", {"long", "short"}},
        {"width", {"wide|broad", "narrow"}},
        {"thickness", {"thick", "thin"}},
        {"texture", {"smooth", "rough", "fluffy|furry", "shiny|glossy"}},
    };
    AttributeLexicon lexicon;
    for (const auto& [name, values] : lists) {
        AttributeLexicon::Group group{name, {}};
        for (const char* value : values) group.values.push_back(text::split(value, '|'));
        lexicon.groups.push_back(std::move(group));
    }
    return lexicon;
}

AttributeLexicon read_attribute_lexicon(const std::string& path) {
    auto source = io::open_source(path);
    AttributeLexicon lexicon;
    std::map<std::string, size_t> group_of;
    std::set<std::string> seen_words;
    std::string line;
    for (size_t number = 1; io::read_line(*source, line); ++number) {
        const std::string place = path + ":" + std::to_string(number);
        if (text::trim(line).empty() || text::trim(line)[0] == '#') continue;
        const auto fields = text::split(line, '\t');
        if (fields.size() != 2 || text::trim(fields[0]).empty())
            throw_error(ErrorCode::format, place, "expected GROUP<TAB>word|word...");
        std::vector<std::string> words;
        for (const auto& raw : text::split(fields[1], '|')) {
            const auto word = name_words(text::trim(raw));
            if (word.size() != 1) throw_error(ErrorCode::format, place, "'" + raw + "' is not one word");
            if (!seen_words.insert(word[0]).second) throw_error(ErrorCode::format, place, "'" + word[0] + "' is listed twice");
            words.push_back(word[0]);
        }
        const std::string group = text::trim(fields[0]);
        const auto [it, added] = group_of.emplace(group, lexicon.groups.size());
        if (added) lexicon.groups.push_back({group, {}});
        lexicon.groups[it->second].values.push_back(std::move(words));
    }
    if (lexicon.groups.empty()) throw_error(ErrorCode::format, path, "no attribute values");
    return lexicon;
}

std::vector<Record> mine_negatives(const manifest::Manifest& manifest, const MineConfig& config,
                                   const ClassEmbeddings* embeddings, MineStats& stats) {
    check_config(config, embeddings != nullptr);

    const auto& items = manifest.items;
    // Classes in byte order, and which captions each class has.
    std::map<std::string, size_t> class_index;
    for (const auto& item : items)
        if (!item.class_name.empty()) class_index.emplace(item.class_name, 0);
    std::vector<std::string> classes;
    for (auto& [name, index] : class_index) {
        index = classes.size();
        classes.push_back(name);
    }
    struct CaptionRef {
        size_t item, caption;
    };
    std::vector<std::vector<CaptionRef>> class_captions(classes.size());
    std::vector<std::string> class_category(classes.size());  // the meta_category of each class's first item
    for (const auto& item : items)
        if (!item.class_name.empty() && class_category[class_index.at(item.class_name)].empty())
            class_category[class_index.at(item.class_name)] = item.meta_category;
    for (size_t i = 0; i < items.size(); ++i) {
        if (items[i].class_name.empty()) continue;
        auto& list = class_captions[class_index.at(items[i].class_name)];
        for (size_t j = 0; j < items[i].captions.size(); ++j) list.push_back({i, j});
    }
    // How each class is written in its own captions (the first occurrence, exact bytes), else its name.
    std::vector<std::string> written(classes);
    for (size_t k = 0; k < classes.size(); ++k) {
        const auto words = name_words(classes[k]);
        bool found = false;
        for (const auto& ref : class_captions[k]) {
            const std::string& text = items[ref.item].captions[ref.caption];
            for (size_t pos = 0; pos < text.size() && !found; ++pos)
                if (const size_t len = match_at(text, pos, words)) {
                    written[k] = text.substr(pos, len);
                    found = true;
                }
            if (found) break;
        }
    }
    std::vector<std::vector<size_t>> hard;
    if (config.hard_swap_p > 0.0) hard = nearest_classes(classes, *embeddings, config.hard_pool);
    const AttributeLexicon lexicon = config.lexicon.groups.empty() ? default_attribute_lexicon() : config.lexicon;
    const WordIndex word_index = index_words(lexicon);
    std::vector<std::vector<std::string>> vocabulary;
    if (config.attribute_swaps > 0) vocabulary = pool_vocabulary(lexicon, word_index, items);

    std::vector<Record> records;
    stats.items += items.size();
    stats.skipped_records += manifest.skipped;
    for (size_t i = 0; i < items.size(); ++i) {
        const auto& item = items[i];
        const bool has_class = !item.class_name.empty();
        const size_t c = has_class ? class_index.at(item.class_name) : 0;
        for (size_t j = 0; j < item.captions.size(); ++j) {
            ++stats.captions;
            Record record;
            record.id = item.id;
            record.caption_id = manifest::caption_id(item.id, j);
            record.image = item.image;
            record.caption = item.captions[j];
            record.class_name = item.class_name;
            CandidateList list(record.caption, record.class_name, config.alpha, stats);
            Rng rng(mix(config.seed ^ mix((uint64_t(i) << 20) + j + 0x5bd1e995ULL)));

            if (!has_class) {
                ++stats.no_class;
            } else if (!find_class_name(record.caption, item.class_name)) {
                ++stats.class_absent;
            } else if (config.swaps > 0) {
                std::vector<size_t> others;
                const bool within = config.swaps_within_category && !item.meta_category.empty();
                for (size_t o = 0; o < classes.size(); ++o)
                    if (o != c && (!within || class_category[o] == item.meta_category)) others.push_back(o);
                std::vector<bool> taken(classes.size(), false);
                size_t kept = 0, available = others.size();
                while (kept < config.swaps && available > 0) {
                    bool use_hard = false;
                    if (config.hard_swap_p > 0.0) use_hard = rng.unit() < config.hard_swap_p;
                    std::vector<size_t> pool;
                    if (use_hard)
                        for (size_t o : hard[c])
                            if (!taken[o] && (!within || class_category[o] == item.meta_category)) pool.push_back(o);
                    if (pool.empty()) {
                        use_hard = false;
                        for (size_t o : others)
                            if (!taken[o]) pool.push_back(o);
                    }
                    const size_t o = pool[rng.below(pool.size())];
                    taken[o] = true;
                    --available;
                    std::string text = replace_class_name(record.caption, item.class_name, written[o]);
                    if (list.offer(std::move(text), classes[o], use_hard ? NegativeKind::hard_swap : NegativeKind::swap)) {
                        ++kept;
                        ++stats.swaps;
                        if (use_hard) ++stats.hard_swaps;
                    }
                }
            }

            if (has_class && config.attributes > 0) {
                std::vector<size_t> pool;
                const auto& refs = class_captions[c];
                for (size_t r = 0; r < refs.size(); ++r)
                    if (refs[r].item != i) pool.push_back(r);
                Drawer drawer(std::move(pool));
                size_t kept = 0;
                while (kept < config.attributes && !drawer.empty()) {
                    const CaptionRef ref = refs[drawer.draw(rng)];
                    if (list.offer(items[ref.item].captions[ref.caption], item.class_name, NegativeKind::attribute)) {
                        ++kept;
                        ++stats.attributes;
                    }
                }
            }

            if (has_class && config.attribute_swaps > 0) {
                const auto words = attribute_words(record.caption, item.class_name, word_index, vocabulary);
                if (words.empty()) ++stats.no_attribute_word;
                // Every (word, other value of its group in the pool) pair, drawn without replacement.
                std::vector<std::pair<size_t, size_t>> pairs;
                for (size_t w = 0; w < words.size(); ++w)
                    for (size_t v = 0; v < vocabulary[words[w].group].size(); ++v)
                        if (v != words[w].value && !vocabulary[words[w].group][v].empty()) pairs.emplace_back(w, v);
                std::vector<size_t> order(pairs.size());
                for (size_t p = 0; p < order.size(); ++p) order[p] = p;
                Drawer drawer(std::move(order));
                size_t kept = 0;
                while (kept < config.attribute_swaps && !drawer.empty()) {
                    const auto [w, v] = pairs[drawer.draw(rng)];
                    const AttributeWord& word = words[w];
                    std::string text = record.caption;
                    text.replace(word.pos, word.len, cased_like(vocabulary[word.group][v], text.substr(word.pos, word.len)));
                    if (list.offer(std::move(text), item.class_name, NegativeKind::attribute_swap)) {
                        ++kept;
                        ++stats.attribute_swaps;
                    }
                }
            }

            if (config.keep_released)
                for (const auto& negative : item.negatives)
                    if (list.offer(negative, class_of_text(negative, classes, item.class_name), NegativeKind::released))
                        ++stats.released;

            record.negatives = std::move(list.out);
            records.push_back(std::move(record));
        }
    }
    return records;
}

void write_records(const std::vector<Record>& records, io::Sink& sink) {
    using Json = nlohmann::ordered_json;
    std::string line;
    for (const auto& r : records) {
        Json j;
        j["id"] = r.id;
        j["caption_id"] = r.caption_id;
        j["image"] = r.image;
        j["caption"] = r.caption;
        j["class"] = r.class_name;
        Json negatives = Json::array();
        for (const auto& c : r.negatives) {
            Json n;
            n["text"] = c.text;
            n["class"] = c.class_name;
            n["kind"] = kind_name(c.kind);
            n["same_class"] = c.same_class;
            n["weight"] = c.weight;
            negatives.push_back(std::move(n));
        }
        j["negatives"] = std::move(negatives);
        line = j.dump(-1, ' ', false, Json::error_handler_t::replace);
        line += '\n';
        sink.write(line);
    }
}

double category_weight(const std::string& item_class, const Candidate& candidate, double alpha) {
    const bool same = !item_class.empty() && !candidate.class_name.empty() ? item_class == candidate.class_name : candidate.same_class;
    return same ? 1.0 + alpha : 1.0;
}

bool is_record_line(const std::string& line) {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    return j.is_object() && j.contains("caption_id") && j.contains("negatives");
}

std::vector<Record> read_records(io::Source& source) {
    std::vector<Record> records;
    std::string line;
    size_t number = 0;
    while (io::read_line(source, line)) {
        ++number;
        if (text::trim(line).empty()) continue;
        const std::string place = source.name() + ":" + std::to_string(number);
        try {
            const auto j = nlohmann::json::parse(line);
            Record r;
            r.id = j.at("id").get<std::string>();
            r.caption_id = j.at("caption_id").get<std::string>();
            r.image = j.value("image", "");
            r.caption = j.at("caption").get<std::string>();
            r.class_name = j.value("class", "");
            for (const auto& n : j.at("negatives")) {
                Candidate c;
                c.text = n.at("text").get<std::string>();
                c.class_name = n.value("class", "");
                const std::string kind = n.value("kind", "released");
                c.kind = find_enum(kind, kind_words).value_or(NegativeKind::released);  // another tool's kinds: released
                c.same_class = n.value("same_class", false);
                c.weight = n.value("weight", 1.0);
                r.negatives.push_back(std::move(c));
            }
            records.push_back(std::move(r));
        } catch (const nlohmann::json::exception& e) {
            throw_error(ErrorCode::format, place, std::string("not a negatives record: ") + e.what());
        }
    }
    return records;
}

MineStats run_mine_negatives(const MineJob& job, const Log& log) {
    const MineConfig& config = job.config;
    check_config(config, !job.class_embeddings_path.empty());
    ClassEmbeddings embeddings;
    if (!job.class_embeddings_path.empty()) embeddings = load_class_embeddings(job.class_embeddings_path);
    MineConfig mining = config;
    if (!job.lexicon_path.empty()) mining.lexicon = read_attribute_lexicon(job.lexicon_path);
    manifest::Manifest manifest = manifest::read_manifest(job.manifest_path, job.read, log);
    std::vector<Record> held_out;
    if (job.shots > 0 || job.val_fraction > 0) {
        std::map<std::string, std::string> class_of;
        for (const auto& item : manifest.items) class_of.emplace(item.id, item.class_name);
        const ShotSplit split = split_shots(class_of, job.shots, job.val_fraction, config.seed);
        std::vector<manifest::Item> shots;
        for (auto& item : manifest.items) {
            if (split.train.count(item.id)) {
                shots.push_back(std::move(item));
            } else if (split.val.count(item.id)) {
                for (size_t j = 0; j < item.captions.size(); ++j)
                    held_out.push_back({item.id, manifest::caption_id(item.id, j), item.image, item.captions[j], item.class_name, {}});
            }
        }
        log.info("pool: " + std::to_string(shots.size()) + " of " + std::to_string(class_of.size()) + " images kept as shots (seed " +
                 std::to_string(config.seed) + "), " + std::to_string(split.val.size()) + " held out for validation");
        manifest.items = std::move(shots);
    }
    MineStats stats;
    const auto records =
        mine_negatives(manifest, mining, job.class_embeddings_path.empty() ? nullptr : &embeddings, stats);
    auto sink = io::open_sink(job.output);
    std::unique_ptr<io::Sink> val_sink = job.val_output.empty() ? nullptr : io::open_sink(job.val_output);
    write_records(records, *sink);
    if (val_sink) write_records(held_out, *val_sink);
    sink->commit();
    if (val_sink) val_sink->commit();
    log.info(stats.summary());
    return stats;
}

}  // namespace dcar::train
