// Manifest reading: caption ids, the FDRD path rules of every dataset, the three FDRD schemas, JSON lines and
// TSV built in memory, bad records (skipped with a warning, or fatal under strict), format detection, and
// the released FDRD files under $DCAR_TEST_DATA/data (skipped when it is not set).
#include <gtest/gtest.h>
#include "test_util.hpp"

#include <sys/stat.h>

#include <map>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "manifest/manifest.hpp"

namespace dcar::manifest {
namespace {

// Reads `text` as if it were the file `name`, collecting warnings.
struct Reading {
    Manifest manifest;
    std::vector<std::string> warnings;
};

Reading read_text(const std::string& text, const std::string& name = "memory", ReadOptions options = {}) {
    Reading reading;
    Log log;
    log.set_message_sink([&](LogLevel level, const std::string& message) {
        if (level == LogLevel::warn) reading.warnings.push_back(message);
    });
    auto source = io::memory_source(text.data(), text.size(), name);
    reading.manifest = read_manifest(*source, options, log);
    return reading;
}

ReadOptions strict_options() {
    ReadOptions options;
    options.strict = true;
    return options;
}

// The dcar::Error a strict read of `text` throws, as "code: message"; "" when nothing is thrown.
std::string strict_failure(const std::string& text, const std::string& name = "memory") {
    try {
        read_text(text, name, strict_options());
    } catch (const Error& e) {
        return std::string(e.code() == ErrorCode::format ? "format: " : "other: ") + e.what();
    }
    return "";
}

bool file_exists(const std::string& path) {
    struct stat info;
    return ::stat(path.c_str(), &info) == 0;
}

// --- caption ids ---------------------------------------------------------------------------------------------

TEST(ManifestCaptionId, FormsAndInverts) {
    EXPECT_EQ(caption_id("a", 0), "a#0");
    EXPECT_EQ(caption_id("Faces_image_0426.jpg", 12), "Faces_image_0426.jpg#12");
    EXPECT_EQ(item_of_caption("a#0"), "a");
    EXPECT_EQ(item_of_caption("x#1#12"), "x#1");
    EXPECT_EQ(item_of_caption(caption_id("v_Yo#Yo", 3)), "v_Yo#Yo");
    EXPECT_EQ(item_of_caption("a"), "");
    EXPECT_EQ(item_of_caption("a#x"), "");
    EXPECT_EQ(item_of_caption("a#"), "");
    EXPECT_EQ(item_of_caption("a#1x"), "");
    EXPECT_EQ(item_of_caption(""), "");
}

// --- layout rules --------------------------------------------------------------------------------------------

TEST(ManifestLayout, RuleOfEveryDataset) {
    EXPECT_EQ(fdrd_image_path("caltech101", "Faces_image_0426.jpg", "Faces_image_0426.jpg", "face"),
              "101_ObjectCategories/Faces/image_0426.jpg");
    EXPECT_EQ(fdrd_image_path("caltech101", "k", "dalmatian_image_0001.jpg", ""),
              "101_ObjectCategories/dalmatian/image_0001.jpg");
    EXPECT_EQ(fdrd_image_path("cars", "cars_train_05266.jpg", "cars_train_05266.jpg", "2012 Audi TTS Coupe"),
              "cars_train/05266.jpg");
    EXPECT_EQ(fdrd_image_path("cars", "k", "cars_test_00001.jpg", ""), "cars_test/00001.jpg");
    EXPECT_EQ(fdrd_image_path("dtd", "banded_0060.jpg", "banded_0060.jpg", "banded"), "images/banded/banded_0060.jpg");
    EXPECT_EQ(fdrd_image_path("dtd", "k", "crystalline_0001.jpg", ""),
              "images/crystalline/crystalline_0001.jpg");  // class recovered from the file name
    EXPECT_EQ(fdrd_image_path("ucf101", "k", "v_ApplyEyeMakeup_g01_c01.jpg", "Apply_Eye_Makeup"),
              "UCF-101-midframes/Apply_Eye_Makeup/v_ApplyEyeMakeup_g01_c01.jpg");
    // Without a class the folder comes from the CamelCase action, split as CoOp names its folders.
    EXPECT_EQ(fdrd_image_path("ucf101", "k", "v_YoYo_g25_c03.jpg", ""), "UCF-101-midframes/Yo_Yo/v_YoYo_g25_c03.jpg");
    // The one class whose folder differs from its files' action: the record's class wins.
    EXPECT_EQ(fdrd_image_path("ucf101", "k", "v_HandStandPushups_g01_c01.jpg", "Handstand_Pushups"),
              "UCF-101-midframes/Handstand_Pushups/v_HandStandPushups_g01_c01.jpg");
    EXPECT_EQ(fdrd_image_path("pets", "Sphynx_43", "Sphynx_43", ""), "oxford_pets/images/Sphynx_43.jpg");
    EXPECT_EQ(fdrd_image_path("aircraft", "707-320_1514522", "1514522", ""), "fgvc_aircraft/images/1514522.jpg");
    EXPECT_EQ(fdrd_image_path("aircraft", "Dornier 328_0628815", "", ""), "fgvc_aircraft/images/0628815.jpg");
    EXPECT_EQ(fdrd_image_path("flowers", "monkshood_image_06422", "monkshood_image_06422", "monkshood"),
              "oxford_flowers/jpg/image_06422.jpg");
    // The key stands in for a missing file_name.
    EXPECT_EQ(fdrd_image_path("caltech101", "Faces_image_0001.jpg", "", ""),
              "101_ObjectCategories/Faces/image_0001.jpg");
}

ErrorCode path_error(const std::string& layout, const std::string& file_name) {
    try {
        fdrd_image_path(layout, "", file_name, "");
    } catch (const Error& e) {
        return e.code();
    }
    ADD_FAILURE() << layout << " accepted '" << file_name << "'";
    return ErrorCode::internal;
}

TEST(ManifestLayout, NamesThatDoNotFitAreFormatErrors) {
    EXPECT_EQ(path_error("caltech101", "Faces_0426.jpg"), ErrorCode::format);
    EXPECT_EQ(path_error("caltech101", "_image_0426.jpg"), ErrorCode::format);
    EXPECT_EQ(path_error("caltech101", "Faces_image_"), ErrorCode::format);
    EXPECT_EQ(path_error("cars", "05266.jpg"), ErrorCode::format);
    EXPECT_EQ(path_error("cars", "cars_train_"), ErrorCode::format);
    EXPECT_EQ(path_error("ucf101", "ApplyEyeMakeup_g01_c01.jpg"), ErrorCode::format);
    EXPECT_EQ(path_error("ucf101", "v_applyeyemakeup_g01_c01.jpg"), ErrorCode::format);
    EXPECT_EQ(path_error("dtd", "banded.jpg"), ErrorCode::format);
    EXPECT_EQ(path_error("flowers", "monkshood_image_x"), ErrorCode::format);
    EXPECT_EQ(path_error("pets", ""), ErrorCode::format);
    EXPECT_EQ(path_error("as-is", "a.jpg"), ErrorCode::usage);
    EXPECT_EQ(path_error("auto", "a.jpg"), ErrorCode::usage);
    EXPECT_EQ(path_error("food101", "a.jpg"), ErrorCode::usage);
}

TEST(ManifestLayout, GuessedFromTheManifestName) {
    const std::map<std::string, std::string> expected = {
        {"caltech101_test.json", "caltech101"},
        {"/data/fdrd/inter_caltech-101_train.json", "caltech101"},
        {"cars_train.json", "cars"},
        {"inter_car_train.json", "cars"},
        {"test/car_test.json", "cars"},
        {"dtd_test.json", "dtd"},
        {"inter_dtd_train.json", "dtd"},
        {"ucf101_train.json", "ucf101"},
        {"inter_ucf101_test.json", "ucf101"},
        {"pets_test.json", "pets"},
        {"aircraft_test.json", "aircraft"},
        {"test/plane_test.json", "aircraft"},
        {"test/flower_test.json", "flowers"},
        {"flowers_train.json", "flowers"},
        {"Caltech101_Test.JSON", "caltech101"},
        {"inter_food_test.json", "as-is"},
        {"memory", "as-is"},
        {"stdin", "as-is"},
        {"", "as-is"},
    };
    for (const auto& [path, layout] : expected) EXPECT_EQ(guess_layout(path), layout) << path;
}

// --- FDRD JSON -----------------------------------------------------------------------------------------------

TEST(ManifestFdrd, FlowersSchema) {
    const std::string json = R"({
  "monkshood_image_06422": {
    "file_name": "monkshood_image_06422",
    "class_name": "monkshood",
    "number": "06422",
    "file_path": "/root/autodl-tmp/DATA/oxford_flowers/jpg/image_06422.jpg",
    "positive": "This is a monkshood.The image captures a tall purple spike.",
    "negative": ["This is a iris.The image captures a tall purple spike.",
                 "This is a monkshood.The image captures a tall purple spike.",
                 "This is a rose.The image captures a tall purple spike.",
                 "This is a iris.The image captures a tall purple spike."]
  }
})";
    ReadOptions options;
    options.image_root = "/data/";
    const Reading r = read_text(json, "test/flower_test.json", options);
    ASSERT_EQ(r.manifest.items.size(), 1u);
    EXPECT_EQ(r.manifest.skipped, 0u);
    const Item& item = r.manifest.items[0];
    EXPECT_EQ(item.id, "monkshood_image_06422");
    EXPECT_EQ(item.class_name, "monkshood");
    EXPECT_EQ(item.image, "/data/oxford_flowers/jpg/image_06422.jpg");
    EXPECT_EQ(item.captions, std::vector<std::string>{"This is a monkshood.The image captures a tall purple spike."});
    // The copy of the positive and the repeated negative are gone; order of first occurrence is kept.
    EXPECT_EQ(item.negatives, (std::vector<std::string>{"This is a iris.The image captures a tall purple spike.",
                                                        "This is a rose.The image captures a tall purple spike."}));
}

TEST(ManifestFdrd, PetsAndAircraftSchemaTakeTheClassFromTheKey) {
    const std::string json = R"({
  "Sphynx_43": {"file_name": "Sphynx_43", "file_path": "/root/DATA/oxford_pets/images/Sphynx_43.jpg",
                "positive": "A Sphynx on an arm.", "negative": ["A pug on an arm.", "A Sphynx on an arm."]},
  "great_pyrenees_12": {"file_name": "great_pyrenees_12", "file_path": "/x.jpg",
                        "positive": "A great pyrenees.", "negative": []}
})";
    ReadOptions options;
    options.image_root = "root";
    const Reading r = read_text(json, "pets_test.json", options);
    ASSERT_EQ(r.manifest.items.size(), 2u);
    EXPECT_EQ(r.manifest.items[0].id, "Sphynx_43");
    EXPECT_EQ(r.manifest.items[0].class_name, "Sphynx");
    EXPECT_EQ(r.manifest.items[0].image, "root/oxford_pets/images/Sphynx_43.jpg");
    EXPECT_EQ(r.manifest.items[0].negatives, std::vector<std::string>{"A pug on an arm."});
    EXPECT_EQ(r.manifest.items[1].class_name, "great_pyrenees");
    EXPECT_TRUE(r.manifest.items[1].negatives.empty());

    const std::string aircraft = R"({"707-320_1514522": {"file_name": "1514522", "file_path": "/a/1514522.jpg",
        "positive": "An Air France cargo 707-320 airplane.", "negative": ["An Air France cargo A321 airplane."]}})";
    const Reading a = read_text(aircraft, "test/plane_test.json");
    ASSERT_EQ(a.manifest.items.size(), 1u);
    EXPECT_EQ(a.manifest.items[0].class_name, "707-320");
    EXPECT_EQ(a.manifest.items[0].image, "fgvc_aircraft/images/1514522.jpg");  // no image_root: relative
}

TEST(ManifestFdrd, InterSchemaWithPlaceholderPaths) {
    const std::string json = R"({
  "v_ApplyEyeMakeup_g01_c01.jpg": {"file_name": "v_ApplyEyeMakeup_g01_c01.jpg", "class_name": "Apply_Eye_Makeup",
    "file_path": "YOUR_IMAGE_PATH", "positive": "This is a photo of Apply_Eye_Makeup.A woman.", "negative": []},
  "v_Archery_g01_c01.jpg": {"file_name": "v_Archery_g01_c01.jpg", "class_name": "Archery",
    "file_path": "YOUR_IMAGE_PATH", "positive": "This is a photo of Archery.A man.", "negative": []}
})";
    ReadOptions options;
    options.image_root = "/u";
    const Reading r = read_text(json, "inter_ucf101_test.json", options);
    ASSERT_EQ(r.manifest.items.size(), 2u);
    EXPECT_EQ(r.manifest.items[0].image, "/u/UCF-101-midframes/Apply_Eye_Makeup/v_ApplyEyeMakeup_g01_c01.jpg");
    EXPECT_EQ(r.manifest.items[0].class_name, "Apply_Eye_Makeup");
    EXPECT_EQ(r.manifest.items[1].id, "v_Archery_g01_c01.jpg");
    EXPECT_EQ(r.manifest.items[1].captions[0], "This is a photo of Archery.A man.");

    // An explicit layout overrides the guess from the name.
    options.layout = "caltech101";
    const std::string caltech = R"({"Faces_image_0426.jpg": {"file_name": "Faces_image_0426.jpg",
        "class_name": "face", "file_path": "YOUR_IMAGE_PATH", "positive": "This is a photo of face.A woman."}})";
    const Reading c = read_text(caltech, "whatever.json", options);
    ASSERT_EQ(c.manifest.items.size(), 1u);
    EXPECT_EQ(c.manifest.items[0].image, "/u/101_ObjectCategories/Faces/image_0426.jpg");
    EXPECT_EQ(c.manifest.items[0].class_name, "face");
    EXPECT_TRUE(c.manifest.items[0].negatives.empty());  // "negative" absent is the same as []
}

TEST(ManifestFdrd, AsIsLayoutUsesFilePath) {
    const std::string json = R"({
  "b": {"file_name": "b", "class_name": "c", "file_path": "/abs/b.jpg", "positive": "B"},
  "a": {"file_name": "a", "class_name": "c", "file_path": "rel/a.jpg", "positive": "A"},
  "z": {"file_name": "z", "class_name": "c", "file_path": "YOUR_IMAGE_PATH", "positive": "Z"}
})";
    ReadOptions options;
    options.image_root = "/root";
    const Reading r = read_text(json, "memory", options);  // "memory" guesses as-is
    ASSERT_EQ(r.manifest.items.size(), 3u);
    // File order, not key order.
    EXPECT_EQ(r.manifest.items[0].id, "b");
    EXPECT_EQ(r.manifest.items[0].image, "/abs/b.jpg");
    EXPECT_EQ(r.manifest.items[1].image, "/root/rel/a.jpg");
    EXPECT_EQ(r.manifest.items[2].image, "");
}

// meta_category is read when it is a string (dcar-tune --hard-batches and --swaps-within-category use it);
// null, absent or another type leaves it empty and keeps the record.
TEST(ManifestFdrd, MetaCategoryIsReadWhenAString) {
    const std::string json = R"({
  "a": {"file_name": "a", "class_name": "c", "file_path": "a.jpg", "positive": "A", "meta_category": "star"},
  "b": {"file_name": "b", "class_name": "c", "file_path": "b.jpg", "positive": "B", "meta_category": null},
  "c": {"file_name": "c", "class_name": "c", "file_path": "c.jpg", "positive": "C", "meta_category": 3},
  "d": {"file_name": "d", "class_name": "c", "file_path": "d.jpg", "positive": "D"}
})";
    const Reading r = read_text(json, "memory");
    ASSERT_EQ(r.manifest.items.size(), 4u);
    EXPECT_EQ(r.manifest.items[0].meta_category, "star");
    for (size_t i = 1; i < 4; ++i) EXPECT_EQ(r.manifest.items[i].meta_category, "") << i;
    EXPECT_EQ(r.manifest.skipped, 0u);
}

TEST(ManifestFdrd, OneLineDocumentIsStillFdrd) {
    const Reading r = read_text(R"({"a": {"positive": "x"}, "b": {"positive": "y"}})" "\n\n");
    ASSERT_EQ(r.manifest.items.size(), 2u);
    EXPECT_EQ(r.manifest.items[1].captions, std::vector<std::string>{"y"});
    EXPECT_EQ(read_text("{}").manifest.items.size(), 0u);
}

TEST(ManifestFdrd, CompactDocumentWithABadRecordKeepsTheGoodOnes) {
    // One line, one record that is not an object: still FDRD, decided on the whole document.
    const Reading r = read_text(R"({"cat_1": {"positive": "a cat", "file_name": "cat_1.jpg"}, "bad_3": "x"})" "\n",
                                "x.json");
    ASSERT_EQ(r.manifest.items.size(), 1u);
    EXPECT_EQ(r.manifest.items[0].id, "cat_1");
    ASSERT_EQ(r.warnings.size(), 1u);
    EXPECT_EQ(r.warnings[0], "x.json: key 'bad_3': record is not a JSON object");
    // A one-line JSON-lines record (a string "id") stays a record.
    const Reading j = read_text(R"({"id": "a", "caption": "c"})");
    ASSERT_EQ(j.manifest.items.size(), 1u);
    EXPECT_EQ(j.manifest.items[0].captions, std::vector<std::string>{"c"});
}

TEST(ManifestFdrd, DocumentFollowedByJunkKeepsItsRecordsAndReportsTheRest) {
    const std::string text = "{\n"
                             " \"a\": {\"positive\": \"braces } { and \\\" quotes\"},\n"
                             " \"b\": {\"positive\": \"y\", \"negative\": [\"]\"]}\n"
                             "}\n"
                             "\n"
                             "junk line\n";
    const Reading r = read_text(text, "x.json");
    ASSERT_EQ(r.manifest.items.size(), 2u);
    EXPECT_EQ(r.manifest.items[0].captions, std::vector<std::string>{"braces } { and \" quotes"});
    ASSERT_EQ(r.warnings.size(), 1u);
    EXPECT_EQ(r.warnings[0], "x.json: line 6: unexpected data after the FDRD object");
}

const char* const bad_fdrd = R"({
  "ok_image_0001.jpg": {"file_name": "ok_image_0001.jpg", "class_name": "ok", "positive": "fine", "negative": []},
  "no_positive_image_0001.jpg": {"file_name": "no_positive_image_0001.jpg", "class_name": "x", "negative": []},
  "number_image_0001.jpg": {"file_name": "number_image_0001.jpg", "positive": 7},
  "blank_image_0001.jpg": {"file_name": "blank_image_0001.jpg", "positive": "  "},
  "negatives_image_0001.jpg": {"file_name": "negatives_image_0001.jpg", "positive": "p", "negative": "n"},
  "mixed_image_0001.jpg": {"file_name": "mixed_image_0001.jpg", "positive": "p", "negative": ["n", 3]},
  "class_image_0001.jpg": {"file_name": "class_image_0001.jpg", "class_name": 5, "positive": "p"},
  "nolayout.jpg": {"file_name": "nolayout.jpg", "class_name": "x", "positive": "p"},
  "tab\tkey_image_0001.jpg": {"file_name": "tab_image_0001.jpg", "positive": "p"},
  "list_image_0001.jpg": [1, 2],
  "ok_image_0001.jpg": {"file_name": "ok_image_0001.jpg", "class_name": "ok", "positive": "second"},
  "ok_image_0002.jpg": {"file_name": "ok_image_0002.jpg", "class_name": "ok", "positive": "also fine"}
})";

TEST(ManifestFdrd, BadRecordsAreSkippedWithAWarning) {
    const Reading r = read_text(bad_fdrd, "caltech101_test.json");
    ASSERT_EQ(r.manifest.items.size(), 2u);
    EXPECT_EQ(r.manifest.items[0].id, "ok_image_0001.jpg");
    EXPECT_EQ(r.manifest.items[0].captions[0], "fine");  // the first record under a repeated key is kept
    EXPECT_EQ(r.manifest.items[1].id, "ok_image_0002.jpg");
    EXPECT_EQ(r.manifest.skipped, 10u);
    ASSERT_EQ(r.warnings.size(), 10u);
    EXPECT_EQ(r.warnings[0], "caltech101_test.json: key 'no_positive_image_0001.jpg': no \"positive\" caption");
    EXPECT_EQ(r.warnings[1], "caltech101_test.json: key 'number_image_0001.jpg': \"positive\" is not a string");
    EXPECT_EQ(r.warnings[2], "caltech101_test.json: key 'blank_image_0001.jpg': empty \"positive\" caption");
    EXPECT_EQ(r.warnings[3],
              "caltech101_test.json: key 'negatives_image_0001.jpg': \"negative\" is not a list of strings");
    EXPECT_EQ(r.warnings[4], "caltech101_test.json: key 'mixed_image_0001.jpg': \"negative\" is not a list of strings");
    EXPECT_EQ(r.warnings[5], "caltech101_test.json: key 'class_image_0001.jpg': \"class_name\" is not a string");
    EXPECT_EQ(r.warnings[6], "caltech101_test.json: key 'nolayout.jpg': file name 'nolayout.jpg' does not fit the "
                             "caltech101 layout (CLASS_image_NNNN.jpg)");
    EXPECT_EQ(r.warnings[7], "caltech101_test.json: key 'tab?key_image_0001.jpg': id contains a tab or line break");
    EXPECT_EQ(r.warnings[8], "caltech101_test.json: key 'list_image_0001.jpg': record is not a JSON object");
    EXPECT_EQ(r.warnings[9], "caltech101_test.json: key 'ok_image_0001.jpg': duplicate id");
}

TEST(ManifestFdrd, BadRecordIsFatalWhenStrict) {
    EXPECT_EQ(strict_failure(bad_fdrd, "caltech101_test.json"),
              "format: caltech101_test.json: key 'no_positive_image_0001.jpg': no \"positive\" caption");
    EXPECT_EQ(strict_failure(R"({"a": {"positive": "x"}, "a": {"positive": "y"}})"),
              "format: memory: key 'a': duplicate id");
}

// --- JSON lines ----------------------------------------------------------------------------------------------

TEST(ManifestJsonl, RecordsWithEveryField) {
    const std::string text =
        "{\"id\": \"a\", \"image\": \"img/a.jpg\", \"caption\": \"a cat\", \"class\": \"cat\"}\n"
        "\n"
        "  {\"id\": \"b\", \"image\": \"/abs/b.jpg\", \"captions\": [\"one\", \"two\"], "
        "\"negatives\": [\"one\", \"three\", \"three\", \"\"]}\r\n"
        "{\"id\": \"c\"}\n"
        "{\"id\": \"d\", \"caption\": null, \"captions\": [\"only\"], \"class\": null, \"extra\": {\"x\": 1}}";
    ReadOptions options;
    options.image_root = "/root";
    const Reading r = read_text(text, "list.jsonl", options);
    EXPECT_EQ(r.manifest.skipped, 0u);
    ASSERT_EQ(r.manifest.items.size(), 4u);
    const Item& a = r.manifest.items[0];
    EXPECT_EQ(a.id, "a");
    EXPECT_EQ(a.image, "/root/img/a.jpg");
    EXPECT_EQ(a.captions, std::vector<std::string>{"a cat"});
    EXPECT_EQ(a.class_name, "cat");
    const Item& b = r.manifest.items[1];
    EXPECT_EQ(b.image, "/abs/b.jpg");
    EXPECT_EQ(b.captions, (std::vector<std::string>{"one", "two"}));
    EXPECT_EQ(b.negatives, std::vector<std::string>{"three"});
    EXPECT_EQ(b.class_name, "");
    const Item& c = r.manifest.items[2];
    EXPECT_EQ(c.image, "");
    EXPECT_TRUE(c.captions.empty());
    EXPECT_EQ(r.manifest.items[3].captions, std::vector<std::string>{"only"});
}

const char* const bad_jsonl =
    "{\"id\": \"good\", \"caption\": \"x\"}\n"  // line 1
    "{\"id\": \"broken\", \n"                   // 2
    "{\"caption\": \"no id\"}\n"                // 3
    "{\"id\": 7}\n"                             // 4
    "[\"id\", \"x\"]\n"                         // 5
    "{\"id\": \"e\", \"caption\": \"x\", \"captions\": [\"y\"]}\n"  // 6
    "{\"id\": \"f\", \"captions\": [\"y\", 2]}\n"                    // 7
    "{\"id\": \"g\", \"caption\": \" \"}\n"                          // 8
    "{\"id\": \"good\"}\n"                                           // 9
    "{\"id\": \"tab\\there\"}\n"                                     // 10
    "{\"id\": \"h\", \"image\": 3}\n"                                // 11
    "{\"id\": \"i\", \"negatives\": \"n\"}\n"                        // 12
    "\n"                                                             // 13
    "{\"id\": \"last\"}\n";                                          // 14

TEST(ManifestJsonl, BadLinesAreSkippedWithAWarning) {
    const Reading r = read_text(bad_jsonl, "bad.jsonl");
    ASSERT_EQ(r.manifest.items.size(), 2u);
    EXPECT_EQ(r.manifest.items[0].id, "good");
    EXPECT_EQ(r.manifest.items[0].captions, std::vector<std::string>{"x"});
    EXPECT_EQ(r.manifest.items[1].id, "last");
    EXPECT_EQ(r.manifest.skipped, 11u);
    ASSERT_EQ(r.warnings.size(), 11u);
    EXPECT_EQ(r.warnings[0], "bad.jsonl: line 2: invalid JSON: parse error at column 18: syntax error while parsing "
                             "object key - unexpected end of input; expected string literal");
    EXPECT_EQ(r.warnings[1], "bad.jsonl: line 3: no \"id\"");
    EXPECT_EQ(r.warnings[2], "bad.jsonl: line 4: \"id\" is not a string");
    EXPECT_EQ(r.warnings[3], "bad.jsonl: line 5: not a JSON object");
    EXPECT_EQ(r.warnings[4], "bad.jsonl: line 6: both \"caption\" and \"captions\"");
    EXPECT_EQ(r.warnings[5], "bad.jsonl: line 7: \"captions\" is not a list of strings");
    EXPECT_EQ(r.warnings[6], "bad.jsonl: line 8: empty caption");
    EXPECT_EQ(r.warnings[7], "bad.jsonl: line 9: duplicate id 'good'");
    EXPECT_EQ(r.warnings[8], "bad.jsonl: line 10: id contains a tab or line break");
    EXPECT_EQ(r.warnings[9], "bad.jsonl: line 11: \"image\" is not a string");
    EXPECT_EQ(r.warnings[10], "bad.jsonl: line 12: \"negatives\" is not a list of strings");
}

TEST(ManifestJsonl, BadLineIsFatalWhenStrict) {
    const std::string failure = strict_failure(bad_jsonl, "bad.jsonl");
    EXPECT_EQ(failure.rfind("format: bad.jsonl: line 2: invalid JSON: ", 0), 0u) << failure;
    EXPECT_EQ(strict_failure("{\"id\": \"a\"}\n{\"id\": \"a\"}\n"), "format: memory: line 2: duplicate id 'a'");
    EXPECT_EQ(strict_failure("{\"id\": \"a\"}\n{\"id\": \"b\"}\n"), "");
}

TEST(ManifestJsonl, BrokenFirstLineIsOneBadRecord) {
    // The first line is not JSON by itself, nor is the whole input; later lines are records.
    const Reading r = read_text("\n{\"id\": \"a\",\n{\"id\": \"b\"}\n\n{\"id\": \"c\"}\n");
    ASSERT_EQ(r.manifest.items.size(), 2u);
    EXPECT_EQ(r.manifest.items[0].id, "b");
    EXPECT_EQ(r.manifest.items[1].id, "c");
    ASSERT_EQ(r.warnings.size(), 1u);
    EXPECT_EQ(r.warnings[0].rfind("memory: line 2: invalid JSON: ", 0), 0u) << r.warnings[0];
}

TEST(ManifestJsonl, SingleRecordIsNotFdrd) {
    const Reading r = read_text("{\"id\": \"only\", \"caption\": \"c\"}");
    ASSERT_EQ(r.manifest.items.size(), 1u);
    EXPECT_EQ(r.manifest.items[0].id, "only");
}

// --- TSV -----------------------------------------------------------------------------------------------------

TEST(ManifestTsv, ColumnsInAnyOrder) {
    const std::string text =
        "\xEF\xBB\xBF" "class\tid\tsplit\timage\tcaption\r\n"
        "cat\ta\ttest\timg/a.jpg\ta cat on a mat\r\n"
        "\n"
        "\tb\ttrain\t/abs/b.jpg\t\n";
    ReadOptions options;
    options.image_root = "/root/";
    const Reading r = read_text(text, "list.tsv", options);
    EXPECT_EQ(r.manifest.skipped, 0u);
    ASSERT_EQ(r.manifest.items.size(), 2u);
    EXPECT_EQ(r.manifest.items[0].id, "a");
    EXPECT_EQ(r.manifest.items[0].class_name, "cat");
    EXPECT_EQ(r.manifest.items[0].image, "/root/img/a.jpg");
    EXPECT_EQ(r.manifest.items[0].captions, std::vector<std::string>{"a cat on a mat"});
    EXPECT_EQ(r.manifest.items[1].id, "b");
    EXPECT_EQ(r.manifest.items[1].class_name, "");
    EXPECT_EQ(r.manifest.items[1].image, "/abs/b.jpg");
    EXPECT_TRUE(r.manifest.items[1].captions.empty());

    const Reading ids_only = read_text("id\nx\ny\n");
    ASSERT_EQ(ids_only.manifest.items.size(), 2u);
    EXPECT_EQ(ids_only.manifest.items[1].id, "y");
    EXPECT_EQ(ids_only.manifest.items[1].image, "");
}

TEST(ManifestTsv, BadRowsAreSkippedOrFatal) {
    const std::string text = "id\tcaption\na\tx\nb\n\tempty id\na\tagain\nc\tz\textra\nd\tw\n";
    const Reading r = read_text(text, "t.tsv");
    ASSERT_EQ(r.manifest.items.size(), 2u);
    EXPECT_EQ(r.manifest.items[0].id, "a");
    EXPECT_EQ(r.manifest.items[1].id, "d");
    EXPECT_EQ(r.manifest.skipped, 4u);
    ASSERT_EQ(r.warnings.size(), 4u);
    EXPECT_EQ(r.warnings[0], "t.tsv: line 3: expected 2 tab-separated fields, found 1");
    EXPECT_EQ(r.warnings[1], "t.tsv: line 4: empty id");
    EXPECT_EQ(r.warnings[2], "t.tsv: line 5: duplicate id 'a'");
    EXPECT_EQ(r.warnings[3], "t.tsv: line 6: expected 2 tab-separated fields, found 3");
    EXPECT_EQ(strict_failure(text, "t.tsv"), "format: t.tsv: line 3: expected 2 tab-separated fields, found 1");
    EXPECT_EQ(strict_failure("id\tid\na\tb\n", "t.tsv"), "format: t.tsv: line 1: TSV header names column 'id' twice");
}

// --- detection and options -----------------------------------------------------------------------------------

TEST(ManifestDetect, InputThatIsNoManifestAtAll) {
    for (const std::string& text : {std::string(""), std::string("\n  \n"), std::string("hello world\n1\t2\n"),
                                    std::string("{\n  \"a\": {\"positive\": \"x\"\n"), std::string("{{{{\n}}}}\n"),
                                    std::string("[1, 2, 3]\n"), std::string("\0\0\0", 3)}) {
        for (bool strict : {false, true}) {
            ReadOptions options;
            options.strict = strict;
            try {
                read_text(text, "junk.bin", options);
                ADD_FAILURE() << "accepted: " << text;
            } catch (const Error& e) {
                EXPECT_EQ(e.code(), ErrorCode::format) << e.what();
                EXPECT_EQ(std::string(e.what()).rfind("junk.bin: not an FDRD JSON object, JSON lines or TSV: ", 0),
                          0u)
                    << e.what();
            }
        }
    }
}

TEST(ManifestDetect, DocumentErrorNamesTheFileLine) {
    // Leading blank lines count: the trailing comma is on line 5 of the input.
    const std::string text = "\n\n{\n  \"a\": {\"positive\": \"x\"},\n  \"b\": {\"positive\": \"y\",}\n}\n";
    const std::string failure = strict_failure(text, "doc.json");
    EXPECT_NE(failure.find("format: doc.json: not an FDRD JSON object, JSON lines or TSV: invalid JSON: parse error "
                           "at line 5, column "),
              std::string::npos)
        << failure;
}

TEST(ManifestDetect, UnknownLayoutAndMissingFile) {
    ReadOptions options;
    options.layout = "food101";
    try {
        read_text("id\na\n", "m.tsv", options);
        ADD_FAILURE() << "unknown layout accepted";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::usage);
    }
    try {
        read_manifest("/nonexistent/manifest.json", ReadOptions{}, Log{});
        ADD_FAILURE() << "missing file accepted";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::io);
    }
}

// --- the released FDRD files ---------------------------------------------------------------------------------

std::string fdrd_dir() { return test::test_data_dir() + "/data/fdrd"; }

TEST(ManifestSharedData, EveryFdrdFileParsesCompletely) {
    if (test::test_data_dir().empty()) GTEST_SKIP() << test::no_test_data;
    ASSERT_TRUE(file_exists(fdrd_dir())) << fdrd_dir();
    const std::map<std::string, size_t> expected_items = {
        {"caltech101_test.json", 2465}, {"caltech101_train.json", 5777}, {"dtd_test.json", 1692},
        {"dtd_train.json", 3948},       {"ucf101_test.json", 3783},       {"ucf101_train.json", 9537},
        {"cars_train.json", 8144},      {"pets_test.json", 3669},         {"aircraft_test.json", 3333},
    };
    for (const auto& [file, count] : expected_items) {
        SCOPED_TRACE(file);
        std::vector<std::string> warnings;
        Log log;
        log.set_message_sink([&](LogLevel, const std::string& message) { warnings.push_back(message); });
        const Manifest m = read_manifest(fdrd_dir() + "/" + file, ReadOptions{}, log);
        EXPECT_EQ(m.items.size(), count);
        EXPECT_EQ(m.skipped, 0u);
        EXPECT_TRUE(warnings.empty()) << warnings.front();
        for (const Item& item : m.items) {
            ASSERT_EQ(item.captions.size(), 1u) << item.id;
            ASSERT_FALSE(item.class_name.empty()) << item.id;
            ASSERT_FALSE(item.image.empty()) << item.id;
            for (const std::string& negative : item.negatives) ASSERT_NE(negative, item.captions[0]) << item.id;
        }
    }
}

TEST(ManifestSharedData, ReleasedRecordsComeOutAsExpected) {
    if (test::test_data_dir().empty()) GTEST_SKIP() << test::no_test_data;
    ASSERT_TRUE(file_exists(fdrd_dir())) << fdrd_dir();
    ReadOptions options;
    options.image_root = "/d";
    const Manifest pets = read_manifest(fdrd_dir() + "/pets_test.json", options, Log{});
    ASSERT_FALSE(pets.items.empty());
    const Item& sphynx = pets.items[0];
    EXPECT_EQ(sphynx.id, "Sphynx_43");
    EXPECT_EQ(sphynx.class_name, "Sphynx");
    EXPECT_EQ(sphynx.image, "/d/oxford_pets/images/Sphynx_43.jpg");
    ASSERT_EQ(sphynx.negatives.size(), 4u);
    EXPECT_EQ(sphynx.negatives.front(), "A german shorthaired with striking green eyes stands on a person's arm, "
                                        "looking directly at the camera.");
    // Counts of the filtered negatives, computed independently with Python from the same files.
    size_t negatives = 0, without = 0;
    for (const Item& item : pets.items) {
        negatives += item.negatives.size();
        without += item.negatives.empty();
    }
    EXPECT_EQ(negatives, 13724u);
    EXPECT_EQ(without, 2u);

    const Manifest planes = read_manifest(fdrd_dir() + "/aircraft_test.json", options, Log{});
    ASSERT_EQ(planes.items.size(), 3333u);
    negatives = without = 0;
    for (const Item& item : planes.items) {
        negatives += item.negatives.size();
        without += item.negatives.empty();
    }
    EXPECT_EQ(negatives, 13095u);
    EXPECT_EQ(without, 10u);
    EXPECT_EQ(planes.items[0].id, "707-320_1514522");
    EXPECT_EQ(planes.items[0].class_name, "707-320");
    EXPECT_EQ(planes.items[0].image, "/d/fgvc_aircraft/images/1514522.jpg");

    const Manifest ucf = read_manifest(fdrd_dir() + "/ucf101_test.json", options, Log{});
    size_t handstand = 0;
    for (const Item& item : ucf.items) {
        if (item.id.rfind("v_HandStandPushups_", 0) != 0) continue;
        ++handstand;
        EXPECT_EQ(item.image, "/d/UCF-101-midframes/Handstand_Pushups/" + item.id);
    }
    EXPECT_GT(handstand, 0u);

    const Manifest cars = read_manifest(fdrd_dir() + "/cars_train.json", options, Log{});
    ASSERT_EQ(cars.items.size(), 8144u);
    EXPECT_EQ(cars.items[0].image, "/d/cars_train/05266.jpg");
    EXPECT_EQ(cars.items[0].class_name, "2012 Audi TTS Coupe");
}

TEST(ManifestSharedData, CaltechImagesExist) {
    if (test::test_data_dir().empty()) GTEST_SKIP() << test::no_test_data;
    const std::string root = test::test_data_dir() + "/data/caltech101";
    ASSERT_TRUE(file_exists(fdrd_dir()) && file_exists(root)) << root;
    ReadOptions options;
    options.image_root = root;
    for (const char* file : {"caltech101_test.json", "caltech101_train.json"}) {
        const Manifest m = read_manifest(fdrd_dir() + "/" + file, options, Log{});
        ASSERT_GT(m.items.size(), 2000u) << file;
        EXPECT_EQ(m.items[0].image, root + "/101_ObjectCategories/Faces/" + m.items[0].id.substr(6));
        std::vector<std::string> missing;
        for (const Item& item : m.items)
            if (!file_exists(item.image)) missing.push_back(item.image);
        EXPECT_EQ(missing.size(), 0u) << file << ": first missing image " << missing.front();
    }
}

}  // namespace
}  // namespace dcar::manifest
