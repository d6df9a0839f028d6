// The DCAR training step on its own, for bench/tune.sh: the same step as bench/tune_reference.py (Python), on
// the same weights and inputs, timed per step. Never installed, never in ctest.
//   tune_parts step --model CLIP --inputs STEP.safetensors [--steps N] [--threads N] [--save-params OUT]
// Prints "step<TAB>i<TAB>seconds<TAB>loss<TAB>loss_con<TAB>loss_cate" per step, then "median<TAB>dcar<TAB>s".
#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "model/runtime.hpp"
#include "model/safetensors.hpp"
#include "model/weights.hpp"
#include "train/objective.hpp"
#include "train/optimizer.hpp"

using namespace dcar;

namespace {

double scalar(const model::TensorMap& t, const std::string& name) {
    return t.at(name).to(at::kDouble).reshape({-1})[0].item<double>();
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2 || std::strcmp(argv[1], "step") != 0) {
        std::cerr << "usage: tune_parts step --model CLIP --inputs STEP.safetensors [--steps N] [--threads N] [--save-params OUT]\n";
        return 2;
    }
    std::string model_path, inputs_path, save_path;
    int steps = 5, threads = 2;
    for (int i = 2; i + 1 < argc; i += 2) {
        const std::string key = argv[i], value = argv[i + 1];
        if (key == "--model") model_path = value;
        else if (key == "--inputs") inputs_path = value;
        else if (key == "--steps") steps = std::stoi(value);
        else if (key == "--threads") threads = std::stoi(value);
        else if (key == "--save-params") save_path = value;
        else { std::cerr << "tune_parts: unknown option " << key << "\n"; return 2; }
    }
    try {
        model::set_threads(threads);
        const model::Clip clip = model::load_clip(model_path);
        const model::TensorMap in = model::read_safetensors(inputs_path);

        train::PromptConfig prompts;
        prompts.depth = 0;
        while (in.count("prompt.text." + std::to_string(prompts.depth))) ++prompts.depth;
        prompts.length = in.at("prompt.text.0").size(0);
        prompts.visual = train::VisualMode::coupled;
        train::PromptSet prompt_set = train::PromptSet::from_tensors(in, prompts, clip);
        train::CaaConfig caa_config;
        caa_config.hidden = in.at("caa.down").size(0);
        caa_config.ratio = scalar(in, "hp.caa_ratio");
        train::Caa caa = train::Caa::from_tensors(in, caa_config, clip.config.embed_dim);

        const at::Tensor ids = in.at("text_ids").to(at::kLong), lengths = in.at("text_len").to(at::kLong);
        std::vector<std::vector<int32_t>> captions(static_cast<size_t>(ids.size(0)));
        std::vector<int32_t> all_ids;
        for (int64_t t = 0; t < ids.size(0); ++t)
            for (int64_t j = 0; j < lengths[t].item<int64_t>(); ++j) {
                captions[static_cast<size_t>(t)].push_back(static_cast<int32_t>(ids[t][j].item<int64_t>()));
                all_ids.push_back(captions[static_cast<size_t>(t)].back());
            }
        std::vector<const std::vector<int32_t>*> rows;
        for (const auto& c : captions) rows.push_back(&c);

        train::StepBatch batch;
        batch.pixels = in.at("pixels").to(at::kFloat);
        batch.texts = train::make_text_batch(rows, prompts.length);
        const at::Tensor candidate_weights = in.at("cand_weight").to(at::kFloat);
        batch.candidates = candidate_weights.size(1);
        batch.weights = at::cat({at::ones({candidate_weights.size(0), 1}), candidate_weights}, 1);

        train::TokenFeatures features;
        features.add(clip, all_ids);
        train::WeightTable table(clip.config.vocab_size);
        train::ObjectiveConfig objective_config;
        objective_config.lambda = scalar(in, "hp.lambda");
        objective_config.dtr = train::DtrMode::pair;
        objective_config.update_table = true;
        objective_config.dtr_config.w_min = scalar(in, "hp.w_min");
        objective_config.dtr_config.w_max = scalar(in, "hp.w_max");
        objective_config.dtr_config.momentum = scalar(in, "hp.ema");
        const train::Objective objective(clip, &prompt_set, &caa, &features, &table, objective_config);

        train::OptimizerConfig optimizer_config;
        optimizer_config.momentum = scalar(in, "hp.momentum");
        optimizer_config.weight_decay = scalar(in, "hp.weight_decay");
        train::Optimizer::Parameters parameters = prompt_set.named_tensors();
        for (auto& p : caa.named_tensors()) parameters.push_back(p);
        train::Optimizer optimizer(parameters, optimizer_config);
        const double lr = scalar(in, "hp.lr");

        std::vector<double> seconds;
        for (int s = 0; s < steps; ++s) {
            const auto start = std::chrono::steady_clock::now();
            optimizer.zero_grad();
            const train::StepLosses losses = objective.forward(batch);
            losses.total.backward();
            optimizer.step(lr);
            const double loss = losses.total.item<double>();
            seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
            std::printf("step\t%d\t%.6f\t%.9g\t%.9g\t%.9g\n", s + 1, seconds.back(), loss, losses.con, losses.cate);
            std::fflush(stdout);
        }
        std::vector<double> timed(seconds.begin() + (seconds.size() >= 3 ? 1 : 0), seconds.end());
        std::sort(timed.begin(), timed.end());
        std::printf("median\tdcar\t%.6f\n", timed[timed.size() / 2]);
        if (!save_path.empty()) {
            model::TensorMap out = prompt_set.tensors();
            for (auto& [name, t] : caa.tensors()) out[name] = t;
            model::write_safetensors(save_path, out);
        }
    } catch (const std::exception& e) {
        std::cerr << "tune_parts: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
