#include "train/checkpoint.hpp"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <vector>

#include "core/error.hpp"
#include "core/fnv.hpp"
#include "io/source.hpp"
#include "model/safetensors.hpp"

namespace dcar::train {

namespace fs = std::filesystem;

std::string file_checksum(const std::string& path) {
    const auto source = io::open_source(path);
    Fnv1a64 hash;
    std::vector<char> buffer(1 << 16);
    while (const size_t n = source->read(buffer.data(), buffer.size())) hash.add(buffer.data(), n);
    return hash.hex();
}

namespace {

void check_file(const std::string& path, const nlohmann::json& j, const char* key) {
    if (!j.contains(key)) return;
    const std::string expected = j.at(key).get<std::string>(), found = file_checksum(path);
    if (found != expected)
        throw_error(ErrorCode::format, path,
                    "checksum " + found + " differs from " + expected + " in checkpoint.json: the file changed after dcar-tune wrote it");
}

}  // namespace

CheckpointInfo read_checkpoint(const std::string& path) {
    std::error_code ec;
    const bool is_dir = fs::is_directory(path, ec);
    const std::string json_path = is_dir ? path + "/checkpoint.json" : path;
    CheckpointInfo info;
    info.directory = is_dir ? path : fs::path(path).parent_path().string();
    if (info.directory.empty()) info.directory = ".";
    auto source = io::open_source(json_path);
    std::string line;
    while (io::read_line(*source, line)) info.json_text += line + "\n";
    try {
        const auto j = nlohmann::json::parse(info.json_text);
        if (j.value("format", "") != "dcar-checkpoint") throw_error(ErrorCode::format, json_path, "not a dcar-tune checkpoint");
        info.method = j.at("method").get<std::string>();
        info.fingerprint = j.at("backbone").at("fingerprint").get<std::string>();
        const auto& p = j.at("prompts");
        info.has_prompts = p.at("present").get<bool>();
        info.prompts.length = p.at("length").get<int64_t>();
        info.prompts.depth = p.at("depth").get<int64_t>();
        info.prompts.text = p.at("text").get<bool>();
        info.prompts.visual = parse_visual_mode(p.at("visual").get<std::string>());
        info.prompts.init = p.at("init").get<std::string>();
        info.caa.identity = j.at("caa").at("identity").get<bool>();
        info.caa.hidden = j.at("caa").at("hidden").get<int64_t>();
        info.caa.ratio = j.at("caa").at("ratio").get<double>();
        const auto& d = j.at("dtr");
        info.dtr_infer = d.at("infer").get<std::string>();
        info.dtr.w_min = d.at("w_min").get<double>();
        info.dtr.w_max = d.at("w_max").get<double>();
        info.dtr.momentum = d.at("momentum").get<double>();
        info.epoch = j.at("epoch").get<int>();
        info.step = j.at("step").get<int64_t>();
        info.state_file = info.directory + "/" + j.at("state").get<std::string>();
        if (j.contains("model")) info.model_file = info.directory + "/" + j.at("model").get<std::string>();
        check_file(info.state_file, j, "state_fnv1a");
        if (!info.model_file.empty()) check_file(info.model_file, j, "model_fnv1a");
    } catch (const nlohmann::json::exception& e) {
        throw_error(ErrorCode::format, json_path, std::string("unreadable checkpoint: ") + e.what());
    }
    return info;
}

InferencePrompts load_inference_prompts(const std::string& path, const model::Clip& model) {
    const CheckpointInfo info = read_checkpoint(path);
    if (!info.has_prompts)
        throw_error(ErrorCode::usage, path, "holds a whole model (--method " + info.method + "), not prompts: give its clip.safetensors as --model");
    if (info.fingerprint != model.fingerprint)
        throw_error(ErrorCode::mismatch, path, "was trained on backbone " + info.fingerprint + ", this model is " +
                                                   (model.fingerprint.empty() ? std::string("unknown") : model.fingerprint));
    const auto tensors = model::read_safetensors(info.state_file);
    InferencePrompts out{PromptSet::from_tensors(tensors, info.prompts, model, info.state_file), std::nullopt, info.dtr, path};
    for (auto& [name, t] : out.prompts.named_tensors()) t->requires_grad_(false);
    out.prompts.to(model.device());
    if (info.dtr_infer == "table") out.table = WeightTable::from_tensors(tensors, info.state_file);
    return out;
}

}  // namespace dcar::train
