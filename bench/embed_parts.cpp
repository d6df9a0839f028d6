// Times dcar-embed's two halves apart, for bench/embed.sh: decoding + preprocessing of a list of image files
// on one thread, and the image tower alone on random pixels. Prints "<what>\t<images>\t<seconds>" like the
// Python reference (bench/embed_reference.py).
//   embed_parts decode LIST
//   embed_parts model-only MODEL N BATCH DTYPE
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "model/preprocess.hpp"
#include "model/runtime.hpp"
#include "model/weights.hpp"

using namespace dcar;

static double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: embed_parts decode LIST | model-only MODEL N BATCH DTYPE\n");
        return 2;
    }
    const std::string what = argv[1];
    model::set_threads(0);
    if (what == "decode") {
        std::ifstream list(argv[2]);
        std::vector<std::string> files;
        for (std::string line; std::getline(list, line);)
            if (!line.empty()) files.push_back(line);
        model::PreprocessConfig config;
        std::vector<float> out(3 * 224 * 224);
        const auto start = std::chrono::steady_clock::now();
        for (const auto& f : files) model::preprocess_file(f, config, out.data());
        std::printf("decode\t%zu\t%.3f\n", files.size(), seconds_since(start));
        return 0;
    }
    if (what == "model-only" && argc >= 6) {
        const int n = std::atoi(argv[3]), batch = std::atoi(argv[4]);
        const model::Clip clip = model::load_clip(argv[2], at::Device(at::kCPU), model::parse_dtype(argv[5]));
        c10::InferenceMode guard;
        const at::Tensor x = at::randn({batch, 3, 224, 224});
        model::encode_image(clip, x.narrow(0, 0, 2));  // warm-up
        const auto start = std::chrono::steady_clock::now();
        for (int i = 0; i < n / batch; ++i) model::encode_image(clip, x);
        std::printf("model-only\t%d\t%.3f\n", n / batch * batch, seconds_since(start));
        return 0;
    }
    std::fprintf(stderr, "embed_parts: bad arguments\n");
    return 2;
}
