#include "prompts/checkpoint.hpp"

#include <filesystem>
#include <vector>

#include "core/error.hpp"
#include "core/fnv.hpp"
#include "core/json.hpp"
#include "io/sink.hpp"
#include "io/source.hpp"

namespace dcar::train {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

std::string file_checksum(const std::string& path) {
    const auto source = io::open_source(path);
    Fnv1a64 hash;
    std::vector<char> buffer(1 << 16);
    while (const size_t n = source->read(buffer.data(), buffer.size())) hash.add(buffer.data(), n);
    return hash.hex();
}

namespace {

void check_file(const std::string& path, const std::string& expected) {
    if (expected.empty()) return;
    const std::string found = file_checksum(path);
    if (found != expected)
        throw_error(ErrorCode::format, path,
                    "checksum " + found + " differs from " + expected + " in checkpoint.json: the file changed after dcar-tune wrote it");
}

// A file name inside the checkpoint's directory, as checkpoint.json must give it.
std::string file_in(const std::string& directory, const Json& name, const std::string& json_path) {
    const std::string text = name.get<std::string>();
    if (text.empty() || text.find('/') != std::string::npos || text == "." || text == "..")
        throw_error(ErrorCode::format, json_path, "names '" + text + "', not a file beside it");
    return directory + "/" + text;
}

}  // namespace

CheckpointInfo parse_checkpoint(const std::string& json_text, const std::string& json_path, const std::string& directory) {
    CheckpointInfo info;
    info.directory = directory;
    try {
        const auto j = Json::parse(json_text);
        if (!j.is_object() || j.value("format", "") != "dcar-checkpoint")
            throw_error(ErrorCode::format, json_path, "not a dcar-tune checkpoint");
        info.method = j.at("method").get<std::string>();
        const auto& b = j.at("backbone");
        info.fingerprint = b.at("fingerprint").get<std::string>();
        info.initial_fingerprint = b.value("initial", "");
        info.backbone_size = b.value("size", "");
        info.backbone_path = b.value("path", "");
        const auto& p = j.at("prompts");
        info.has_prompts = p.at("present").get<bool>();
        info.prompts.length = p.at("length").get<int64_t>();
        info.prompts.depth = p.at("depth").get<int64_t>();
        info.prompts.text = p.at("text").get<bool>();
        try {
            info.prompts.visual = parse_visual_mode(p.at("visual").get<std::string>());
        } catch (const Error& e) {
            throw_error(ErrorCode::format, json_path, e.what());
        }
        info.prompts.init = p.at("init").get<std::string>();
        info.caa.identity = j.at("caa").at("identity").get<bool>();
        info.caa.hidden = j.at("caa").at("hidden").get<int64_t>();
        info.caa.ratio = j.at("caa").at("ratio").get<double>();
        const auto& d = j.at("dtr");
        info.dtr_infer = d.at("infer").get<std::string>();
        info.dtr.w_min = d.at("w_min").get<double>();
        info.dtr.w_max = d.at("w_max").get<double>();
        info.dtr.momentum = d.at("momentum").get<double>();
        info.options = j.value("options", Json::object());
        info.history = j.value("history", Json::array());
        info.command = j.value("command", "");
        info.epoch = j.at("epoch").get<int>();
        info.step = j.at("step").get<int64_t>();
        info.state_file = file_in(directory, j.at("state"), json_path);
        if (j.contains("model")) info.model_file = file_in(directory, j.at("model"), json_path);
        info.state_checksum = j.value("state_fnv1a", "");
        info.model_checksum = j.value("model_fnv1a", "");
    } catch (const nlohmann::json::exception& e) {
        throw_error(ErrorCode::format, json_path, std::string("unreadable checkpoint: ") + e.what());
    }
    return info;
}

CheckpointInfo read_checkpoint(const std::string& path) {
    std::error_code ec;
    const bool is_dir = fs::is_directory(path, ec);
    const std::string json_path = is_dir ? path + "/checkpoint.json" : path;
    std::string directory = is_dir ? path : fs::path(path).parent_path().string();
    if (directory.empty()) directory = ".";
    auto source = io::open_source(json_path);
    std::string text, line;
    while (io::read_line(*source, line)) text += line + "\n";
    CheckpointInfo info = parse_checkpoint(text, json_path, directory);
    check_file(info.state_file, info.state_checksum);
    if (!info.model_file.empty()) check_file(info.model_file, info.model_checksum);
    return info;
}

void write_checkpoint(const CheckpointInfo& info) {
    const std::string state_name = fs::path(info.state_file).filename().string();
    const std::string model_name = info.model_file.empty() ? "" : fs::path(info.model_file).filename().string();
    Json j;
    j["format"] = "dcar-checkpoint";
    j["version"] = 1;
    j["method"] = info.method;
    j["backbone"] = {{"fingerprint", info.fingerprint},
                     {"initial", info.initial_fingerprint},
                     {"size", info.backbone_size},
                     {"path", info.backbone_path}};
    j["prompts"] = {{"present", info.has_prompts},
                    {"length", info.prompts.length},
                    {"depth", info.prompts.depth},
                    {"text", info.prompts.text},
                    {"visual", visual_mode_name(info.prompts.visual)},
                    {"init", info.prompts.init}};
    j["caa"] = {{"identity", info.caa.identity}, {"hidden", info.caa.hidden}, {"ratio", info.caa.ratio}};
    j["dtr"] = {{"infer", info.dtr_infer}, {"w_min", info.dtr.w_min}, {"w_max", info.dtr.w_max}, {"momentum", info.dtr.momentum}};
    j["options"] = info.options;
    j["epoch"] = info.epoch;
    j["step"] = info.step;
    j["state"] = state_name;
    j["state_fnv1a"] = file_checksum(info.state_file);
    if (!model_name.empty()) {
        j["model"] = model_name;
        j["model_fnv1a"] = file_checksum(info.model_file);
    }
    j["history"] = info.history;
    j["command"] = info.command;
    auto sink = io::open_sink(info.directory + "/checkpoint.json");
    sink->write(dump_json(j, 2) + "\n");
    sink->commit();
    // Older epochs' files go once the new checkpoint.json is in place, including any left by a killed run.
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(info.directory, ec)) {
        const std::string name = entry.path().filename().string();
        const bool epoch_file = name.rfind("state-epoch-", 0) == 0 || name.rfind("clip-epoch-", 0) == 0;
        if (epoch_file && name != state_name && name != model_name) fs::remove(entry.path(), ec);
    }
}

}  // namespace dcar::train
