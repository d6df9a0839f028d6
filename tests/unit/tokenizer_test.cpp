// The CLIP tokenizer against OpenAI's own outputs: the golden ids that modelzoo ships (produced by CLIP's
// simple_tokenizer.py), ids for harder text taken from that same Python code (run with the `regex` module, ftfy
// replaced by the subset dcar implements), and the cleaning, layout, truncation, error and thread-safety rules.
// Last, every FDRD caption is tokenized at CLIP's context of 77 to find out which ones do not fit.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "core/error.hpp"
#include "model/tokenizer.hpp"
#include "test_util.hpp"

using dcar::model::Tokenizer;
using Ids = std::vector<int32_t>;

namespace {

// One tokenizer for the whole binary: loading 48,894 merges takes a noticeable fraction of a second.
const Tokenizer& tok() {
    static const Tokenizer t(DCAR_VOCAB_FILE);
    return t;
}

dcar::ErrorCode code_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const dcar::Error& e) {
        return e.code();
    }
    ADD_FAILURE() << "no dcar::Error thrown";
    return dcar::ErrorCode::internal;
}

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const dcar::Error& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST(TokenizerGolden, MatchesOpenAIOutputs) {
    std::ifstream in(DCAR_CLIP_DATA);
    ASSERT_TRUE(in) << DCAR_CLIP_DATA;
    const auto data = nlohmann::json::parse(in);
    const auto& cases = data.at("cases");
    const auto& golden = data.at("tokenizer");
    ASSERT_EQ(cases.size(), golden.size());
    ASSERT_FALSE(cases.empty());
    for (size_t k = 0; k < cases.size(); ++k) {
        const auto text = cases[k].get<std::string>();
        const auto expected = golden[k].at(0).get<Ids>();  // each entry is a batch of one
        const auto got = tok().tokenize(text);
        EXPECT_EQ(got.ids, expected) << text;
        EXPECT_FALSE(got.truncated);
        EXPECT_EQ(got.ids[static_cast<size_t>(got.eot_index)], Tokenizer::eot);
        // CLIP pools at the argmax of the ids, which is where EOT is.
        EXPECT_EQ(got.eot_index, std::max_element(expected.begin(), expected.end()) - expected.begin());
    }
}

// Expected ids from OpenAI's simple_tokenizer.py on the same vocabulary.
TEST(TokenizerGolden, MatchesPythonReferenceOnHarderText) {
    const std::vector<std::pair<std::string, Ids>> cases = {
        {"It's a DOG'S life, isn't it? We're here; they'll go, I'd say.",
         {585, 568, 320, 1929, 568, 970, 267, 2923, 713, 585, 286, 649, 982, 763, 282, 889, 1342, 861, 267, 328,
          1896, 1451, 269}},
        {"A 707-320 in 2012: 3.5x faster!!",
         {320, 278, 271, 278, 268, 274, 273, 271, 530, 273, 271, 272, 273, 281, 274, 269, 276, 343, 8835, 748}},
        {"Привет, мир", {26302, 16370, 29503, 110, 22176, 141, 480, 267, 38018, 16701, 141, 478}},
        {"这个真的卖完了",
         {164, 123, 247, 19759, 103, 41570, 163, 248, 226, 161, 235, 244, 27047, 234, 21078, 484}},
        {"Crème brûlée à la café", {1075, 12138, 614, 711, 127, 119, 75, 13489, 21259, 1210, 15304}},
        {"ΟΔΟΣ ΣΑΣ", {138, 123, 138, 112, 138, 123, 139, 480, 139, 225, 138, 109, 139, 480}},  // final ς
        {"emoji 😀👍🏽 ♥", {16327, 12832, 43722, 3405}},
        {"Tom &amp;amp; Jerry &lt;3 &#x1F600;", {2435, 261, 9164, 283, 274, 7334}},
        {"<|startoftext|>x<|endoftext|>", {49406, 343, 49407}},
    };
    for (const auto& [text, ids] : cases) EXPECT_EQ(tok().encode(text), ids) << text;
}

TEST(TokenizerVocab, SizeAndSpecialTokens) {
    EXPECT_EQ(tok().vocab_size(), 49408);
    EXPECT_TRUE(tok().encode("").empty());
    EXPECT_TRUE(tok().encode(" \t\n ").empty());
    EXPECT_EQ(tok().decode({Tokenizer::sot, Tokenizer::eot}), "<|startoftext|><|endoftext|>");
    EXPECT_EQ(tok().decode({0, 256}), "!! ");  // byte stand-ins come back as the bytes they stand for
    EXPECT_EQ(tok().decode({0, 255, 256}), "!\uFFFD! ");  // 255 is byte 0xAD alone: not UTF-8
    EXPECT_EQ(tok().encode("a"), Ids{320});          // "a</w>"
}

TEST(TokenizerTokenize, LayoutPaddingAndEot) {
    const auto e = tok().tokenize("hello world");
    ASSERT_EQ(e.ids.size(), 77u);
    EXPECT_EQ(Ids(e.ids.begin(), e.ids.begin() + 4), (Ids{Tokenizer::sot, 3306, 1002, Tokenizer::eot}));
    EXPECT_TRUE(std::all_of(e.ids.begin() + 4, e.ids.end(), [](int32_t v) { return v == 0; }));
    EXPECT_EQ(e.eot_index, 3);
    EXPECT_FALSE(e.truncated);

    const auto small = tok().tokenize("hello world", 5);
    EXPECT_EQ(small.ids, (Ids{Tokenizer::sot, 3306, 1002, Tokenizer::eot, 0}));
    const auto empty = tok().tokenize("", 4);
    EXPECT_EQ(empty.ids, (Ids{Tokenizer::sot, Tokenizer::eot, 0, 0}));
    EXPECT_EQ(empty.eot_index, 1);
    EXPECT_EQ(code_of([] { tok().tokenize("x", 1); }), dcar::ErrorCode::usage);
}

TEST(TokenizerTokenize, TruncationPolicies) {
    std::string text;
    for (int k = 0; k < 100; ++k) text += "dog ";
    const Ids body = tok().encode(text);
    ASSERT_EQ(body.size(), 100u);

    const auto cut = tok().tokenize(text, 77, true);
    EXPECT_TRUE(cut.truncated);
    ASSERT_EQ(cut.ids.size(), 77u);
    EXPECT_EQ(cut.ids.front(), Tokenizer::sot);
    EXPECT_EQ(cut.ids.back(), Tokenizer::eot);
    EXPECT_EQ(cut.eot_index, 76);
    EXPECT_EQ(Ids(cut.ids.begin() + 1, cut.ids.end() - 1), Ids(body.begin(), body.begin() + 75));

    EXPECT_EQ(code_of([&] { tok().tokenize(text, 77, false); }), dcar::ErrorCode::format);
    EXPECT_NE(error_of([&] { tok().tokenize(text, 77, false); }).find("102 tokens"), std::string::npos);

    // The boundary: 75 ids fill the context exactly, 76 do not.
    std::string fits;
    for (int k = 0; k < 75; ++k) fits += "dog ";
    EXPECT_FALSE(tok().tokenize(fits, 77, false).truncated);
    EXPECT_EQ(tok().tokenize(fits, 77, false).eot_index, 76);
    EXPECT_THROW(tok().tokenize(fits + "dog", 77, false), dcar::Error);
    EXPECT_TRUE(tok().tokenize(fits + "dog", 77, true).truncated);
}

TEST(TokenizerClean, HtmlEntities) {
    EXPECT_EQ(Tokenizer::normalize("Tom &amp; Jerry"), "tom & jerry");
    EXPECT_EQ(Tokenizer::normalize("&lt;b&gt; &quot;hi&quot; &#39;x&#39; &apos;y&apos;"), "<b> \"hi\" 'x' 'y'");
    EXPECT_EQ(Tokenizer::normalize("a&nbsp;b"), "a b");  // no-break space is whitespace to Python
    EXPECT_EQ(Tokenizer::normalize("&#x41;&#65;&#233;"), "aaé");
    EXPECT_EQ(Tokenizer::normalize("&amp;lt;"), "<");  // unescaped twice
    EXPECT_EQ(Tokenizer::normalize("&#128; &#0;"), "€ \uFFFD");
    EXPECT_EQ(Tokenizer::normalize("AT&T &ampx &bogus; &#xZZ;"), "at&t &x &bogus; &#xzz;");
    EXPECT_EQ(Tokenizer::normalize("&EACUTE;t&eacute;"), "été");  // ftfy's upper-case spelling
    EXPECT_EQ(tok().encode("Tom &amp; Jerry"), tok().encode("tom & jerry"));
}

TEST(TokenizerClean, WhitespaceFolding) {
    EXPECT_EQ(Tokenizer::normalize("  a\t\tb\n\nc \u3000 d\u00a0\u2003e  "), "a b c d e");
    EXPECT_EQ(tok().encode("  a photo\n\tof   a dog "), tok().encode("a photo of a dog"));
}

TEST(TokenizerClean, NfcLowercaseAndFtfyFixes) {
    const std::string composed = "caf\u00e9", decomposed = "cafe\u0301";
    EXPECT_EQ(Tokenizer::normalize(decomposed), composed);
    EXPECT_EQ(tok().encode(decomposed), tok().encode(composed));
    EXPECT_EQ(tok().encode("CAFÉ"), tok().encode(composed));
    EXPECT_EQ(Tokenizer::normalize("ΟΔΟΣ Σ"), "οδος σ");     // Python's final-sigma rule
    EXPECT_EQ(Tokenizer::normalize("İ"), "i\u0307");        // not locale-dependent
    EXPECT_EQ(Tokenizer::normalize("Ⅻ Ⓐ"), "ⅻ ⓐ");          // lowercased by Python, not by glib
    EXPECT_EQ(Tokenizer::normalize("ＨＥＬＬＯ"), "hello");  // full width
    EXPECT_EQ(Tokenizer::normalize("\uFB01ne"), "fine");    // ligature
    EXPECT_EQ(Tokenizer::normalize("it\u2019s \u201cok\u201d"), "it's \"ok\"");
    EXPECT_EQ(Tokenizer::normalize(std::string("a\0", 2) + "\x7f" "b\u200b\uFEFF"), "ab\u200b");  // controls
}

TEST(TokenizerNonAscii, ValidIdsAndDecodeBack) {
    for (const std::string text :
         {"привет мир", "这个真的卖完了", "crème brûlée", "ελληνικά", "😀 ♥", "日本語 テキスト"}) {
        const Ids ids = tok().encode(text);
        ASSERT_FALSE(ids.empty()) << text;
        for (int32_t id : ids) {
            EXPECT_GE(id, 0);
            EXPECT_LT(id, Tokenizer::sot);
        }
        EXPECT_EQ(tok().decode(ids), text + " ") << text;
    }
}

TEST(TokenizerRoundTrip, PlainText) {
    for (const std::string text : {"a photo of a dog", "the quick brown fox jumps over the lazy dog",
                                   "supercalifragilisticexpialidocious", "x"}) {
        EXPECT_EQ(tok().decode(tok().encode(text)), text + " ");  // every word ends in "</w>", a space
    }
    EXPECT_EQ(tok().decode(tok().encode("It's 3pm!")), "it 's 3 pm ! ");
}

TEST(TokenizerErrors, BadInputAndBadFiles) {
    EXPECT_EQ(code_of([] { tok().encode("ok \xff"); }), dcar::ErrorCode::format);
    EXPECT_NE(error_of([] { tok().encode("ok \xc3"); }).find("byte 3"), std::string::npos);
    EXPECT_EQ(code_of([] { tok().encode("\xed\xa0\x80"); }), dcar::ErrorCode::format);  // a surrogate
    EXPECT_EQ(code_of([] { tok().decode({49408}); }), dcar::ErrorCode::format);
    EXPECT_EQ(code_of([] { tok().decode({-1}); }), dcar::ErrorCode::format);

    dcar::test::TempDir dir;
    const std::string missing = dir.file("missing.txt");
    EXPECT_EQ(code_of([&] { Tokenizer t(missing); }), dcar::ErrorCode::io);
    EXPECT_NE(error_of([&] { Tokenizer t(missing); }).find(missing), std::string::npos);

    const std::string headless = dir.file("headless.txt");
    std::ofstream(headless) << "i n\nt h\n";
    EXPECT_EQ(code_of([&] { Tokenizer t(headless); }), dcar::ErrorCode::format);
    EXPECT_NE(error_of([&] { Tokenizer t(headless); }).find(headless), std::string::npos);

    const std::string short_file = dir.file("short.txt");
    std::ofstream(short_file) << "#version: 0.2\ni n\nt h\n";
    EXPECT_NE(error_of([&] { Tokenizer t(short_file); }).find("has 2 merges"), std::string::npos);

    const std::string unknown = dir.file("unknown.txt");
    {
        std::ofstream out(unknown);
        out << "#version: 0.2\ni n\nzz q\n";
        for (int k = 0; k < 48892; ++k) out << "i n\n";  // enough lines that the symbols are checked
    }
    EXPECT_NE(error_of([&] { Tokenizer t(unknown); }).find("line 3"), std::string::npos);
}

TEST(TokenizerVocab, DefaultPath) {
    const char* saved = std::getenv("DCAR_VOCAB");
    const std::string before = saved ? saved : "";
    ::setenv("DCAR_VOCAB", DCAR_VOCAB_FILE, 1);
    EXPECT_EQ(Tokenizer::default_vocab_path(), DCAR_VOCAB_FILE);
    ::setenv("DCAR_VOCAB", "/nonexistent/bpe.txt", 1);
    EXPECT_EQ(code_of([] { Tokenizer::default_vocab_path(); }), dcar::ErrorCode::io);
    ::unsetenv("DCAR_VOCAB");
    EXPECT_TRUE(std::filesystem::exists(Tokenizer::default_vocab_path()));  // the build tree's copy
    if (saved) ::setenv("DCAR_VOCAB", before.c_str(), 1);
}

TEST(TokenizerThreads, ConcurrentEncodeMatchesSerial) {
    std::vector<std::string> texts;
    for (int k = 0; k < 400; ++k)
        texts.push_back("caption " + std::to_string(k) + ": a dog number" + std::to_string(k * 7919 % 1000) +
                        " with word" + std::to_string(k % 37) + " and привет" + std::to_string(k % 11));
    std::vector<Ids> serial;
    {
        const Tokenizer fresh(DCAR_VOCAB_FILE);  // an empty cache, so the threads race to fill it
        std::vector<std::vector<Ids>> results(4, std::vector<Ids>(texts.size()));
        std::vector<std::thread> threads;
        const size_t strides[4] = {1, 3, 7, 11};  // coprime to 400: permutations
        for (int t = 0; t < 4; ++t)
            threads.emplace_back([&, t] {
                for (size_t k = 0; k < texts.size(); ++k) {
                    const size_t i = (k * strides[t] + 17 * t) % texts.size();  // each thread its own order
                    results[t][i] = fresh.encode(texts[i]);
                }
            });
        for (auto& th : threads) th.join();
        for (const auto& text : texts) serial.push_back(tok().encode(text));
        for (int t = 0; t < 4; ++t) EXPECT_EQ(results[t], serial) << "thread " << t;
    }
}

// Every FDRD caption (positives and negatives) at CLIP's context of 77. One caption is known not to fit: its
// Chinese text costs three byte tokens a character. Training keeps OpenAI's truncate=True for it; any other
// caption that stops fitting is a change worth noticing.
TEST(TokenizerFdrd, CaptionsFitTheContext) {
    if (dcar::test::test_data_dir().empty()) GTEST_SKIP() << dcar::test::no_test_data;
    const std::filesystem::path dir = std::filesystem::path(dcar::test::test_data_dir()) / "data" / "fdrd";
    ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir;
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(dir))
        if (entry.path().extension() == ".json") files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    if (files.empty()) GTEST_SKIP() << "no FDRD files in " << dir;

    size_t captions = 0, longest = 0, longest_fitting = 0;
    std::string longest_where;
    std::set<std::string> too_long;
    for (const auto& file : files) {
        std::ifstream in(file);
        const auto records = nlohmann::json::parse(in);
        for (const auto& [key, record] : records.items()) {
            std::vector<std::pair<std::string, std::string>> texts = {
                {"positive", record.at("positive").get<std::string>()}};
            for (const auto& neg : record.at("negative")) texts.emplace_back("negative", neg.get<std::string>());
            for (const auto& [field, text] : texts) {
                ++captions;
                const size_t n = tok().encode(text).size() + 2;
                const std::string where = file.filename().string() + " " + key + " " + field;
                if (n > longest) {
                    longest = n;
                    longest_where = where;
                }
                if (n <= 77) {
                    longest_fitting = std::max(longest_fitting, n);
                } else {
                    too_long.insert(where + " (" + std::to_string(n) + " tokens)");
                    EXPECT_TRUE(tok().tokenize(text, 77, true).truncated);
                }
            }
        }
    }
    EXPECT_GT(captions, 0u);
    RecordProperty("captions", static_cast<int>(captions));
    RecordProperty("longest_caption_tokens", static_cast<int>(longest));
    RecordProperty("longest_fitting_caption_tokens", static_cast<int>(longest_fitting));
    std::cout << "[ FDRD     ] " << captions << " captions; longest " << longest << " tokens with SOT/EOT ("
              << longest_where << "); longest that fits " << longest_fitting << "; over 77: " << too_long.size()
              << "\n";
    EXPECT_EQ(too_long,
              std::set<std::string>{"ucf101_train.json v_PommelHorse_g10_c03.jpg positive (84 tokens)"});
}
