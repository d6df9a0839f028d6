// dcar-tune's checkpoint.json (lib/prompts/checkpoint): what the writer writes, the reader reads back, with the
// files' checksums; what the reader refuses. Torch-free, as the reader is.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <string>

#include "core/error.hpp"
#include "prompts/checkpoint.hpp"
#include "test_util.hpp"

namespace dcar::train {
namespace {

void write_bytes(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

// The code of the dcar::Error f throws; none when it throws none.
std::optional<ErrorCode> error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.code();
    }
    return std::nullopt;
}

CheckpointInfo sample(const std::string& dir) {
    CheckpointInfo info;
    info.directory = dir;
    info.method = "dcar";
    info.fingerprint = info.initial_fingerprint = "clip-0123456789abcdef";
    info.backbone_size = "vit patch8 32px";
    info.backbone_path = "m.safetensors";
    info.has_prompts = true;
    info.prompts.length = 3;
    info.prompts.depth = 2;
    info.prompts.visual = VisualMode::independent;
    info.prompts.init = "";
    info.caa.identity = true;
    info.dtr_infer = "table";
    info.dtr.w_min = 0.25;
    info.options = {{"lr", 0.01}, {"epochs", 4}};
    info.history = nlohmann::ordered_json::array({{{"epoch", 1}, {"loss", 2.5}}});
    info.command = "dcar-tune -o ck";
    info.epoch = 2;
    info.step = 14;
    info.state_file = dir + "/state-epoch-0002.safetensors";
    return info;
}

TEST(Checkpoint, WrittenThenReadBackWithChecksums) {
    test::TempDir dir;
    const CheckpointInfo written = sample(dir.path());
    write_bytes(written.state_file, "state bytes");
    write_bytes(dir.file("state-epoch-0001.safetensors"), "an older epoch");
    write_checkpoint(written);
    EXPECT_FALSE(std::filesystem::exists(dir.file("state-epoch-0001.safetensors")));  // older epochs go
    const CheckpointInfo read = read_checkpoint(dir.path());
    EXPECT_EQ(read.method, "dcar");
    EXPECT_EQ(read.fingerprint, written.fingerprint);
    EXPECT_EQ(read.backbone_path, "m.safetensors");
    EXPECT_TRUE(read.has_prompts);
    EXPECT_EQ(read.prompts.length, 3);
    EXPECT_EQ(read.prompts.depth, 2);
    EXPECT_EQ(read.prompts.visual, VisualMode::independent);
    EXPECT_EQ(read.prompts.init, "");
    EXPECT_TRUE(read.caa.identity);
    EXPECT_EQ(read.dtr_infer, "table");
    EXPECT_EQ(read.dtr.w_min, 0.25);
    EXPECT_EQ(read.options, written.options);
    EXPECT_EQ(read.history, written.history);
    EXPECT_EQ(read.epoch, 2);
    EXPECT_EQ(read.step, 14);
    EXPECT_EQ(read.state_file, written.state_file);
    EXPECT_TRUE(read.model_file.empty());
    // Written again from what was read: the same bytes.
    const std::string text = slurp(dir.file("checkpoint.json"));
    write_checkpoint(read);
    EXPECT_EQ(slurp(dir.file("checkpoint.json")), text);

    write_bytes(written.state_file, "state bytez");  // a file changed after it was written
    EXPECT_EQ(error_of([&] { read_checkpoint(dir.path()); }), ErrorCode::format);
}

TEST(Checkpoint, RefusesWhatIsNotOne) {
    const auto parse = [](const std::string& text) {
        return error_of([&] { parse_checkpoint(text, "ck/checkpoint.json", "ck"); });
    };
    test::TempDir dir;
    CheckpointInfo info = sample(dir.path());
    write_bytes(info.state_file, "s");
    write_checkpoint(info);
    const std::string good = slurp(dir.file("checkpoint.json"));
    EXPECT_FALSE(parse(good).has_value());
    EXPECT_EQ(parse("[\"dcar-checkpoint\"]"), ErrorCode::format);
    EXPECT_EQ(parse("{\"format\": \"dcar-checkpoint\"}"), ErrorCode::format);
    EXPECT_EQ(parse(good.substr(0, good.size() / 2)), ErrorCode::format);
    auto replaced = [&](const std::string& from, const std::string& to) {
        std::string text = good;
        const size_t at = text.find(from);
        EXPECT_NE(at, std::string::npos) << from;
        return text.replace(at, from.size(), to);
    };
    EXPECT_EQ(parse(replaced("\"independent\"", "\"sideways\"")), ErrorCode::format);
    EXPECT_EQ(parse(replaced("\"state-epoch-0002.safetensors\"", "\"../elsewhere.safetensors\"")), ErrorCode::format);
    EXPECT_EQ(parse(replaced("\"epoch\": 2", "\"epoch\": \"two\"")), ErrorCode::format);
}

}  // namespace
}  // namespace dcar::train
