// Times dcar-embed's two halves apart, for bench/embed.sh: decoding + preprocessing of a list of image files
// on one thread, and the image tower alone on random pixels. Prints "<what>\t<images>\t<seconds>" like the
// Python reference (bench/embed_reference.py). MODE is how a batch meets the model: rows (every item on its
// own, as dcar-embed runs on the CPU: train::infer_images / infer_texts) or batched (the batch as one call, the
// way dcar-embed ran before its bytes were made batch-independent), so the cost of that promise is measured
// side by side.
//   embed_parts decode LIST
//   embed_parts model-only MODEL N BATCH DTYPE [MODE]
//   embed_parts text-only MODEL CAPTIONS BATCH DTYPE [MODE]     (CAPTIONS: one per line, or id<TAB>caption)
//   embed_parts tokens CAPTIONS      the token ids dcar encodes, SOT to EOT, one caption per line (for the
//                                    reference, bench/text.sh)
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "model/preprocess.hpp"
#include "model/runtime.hpp"
#include "model/tokenizer.hpp"
#include "model/weights.hpp"
#include "prompts/encode.hpp"

using namespace dcar;

static double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: embed_parts decode LIST | model-only MODEL N BATCH DTYPE [rows|batched] | text-only MODEL CAPTIONS BATCH DTYPE [rows|batched]\n");
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
    const bool rows = argc < 7 || std::string(argv[6]) == "rows";
    if (what == "model-only" && argc >= 6) {
        const int n = std::atoi(argv[3]), batch = std::atoi(argv[4]);
        const model::Clip clip = model::load_clip(argv[2], at::Device(at::kCPU), model::parse_dtype(argv[5]));
        c10::InferenceMode guard;
        const at::Tensor x = at::randn({batch, 3, 224, 224});
        auto run = [&](const at::Tensor& pixels) {
            return rows ? train::infer_images(clip, pixels, nullptr) : model::encode_image(clip, pixels);
        };
        run(x.narrow(0, 0, 2));  // warm-up
        const auto start = std::chrono::steady_clock::now();
        for (int i = 0; i < n / batch; ++i) run(x);
        std::printf("model-only\t%d\t%.3f\n", n / batch * batch, seconds_since(start));
        return 0;
    }
    if (what == "text-only" && argc >= 6) {
        const size_t batch = size_t(std::atoi(argv[4]));
        const model::Clip clip = model::load_clip(argv[2], at::Device(at::kCPU), model::parse_dtype(argv[5]));
        const model::Tokenizer tokenizer(model::Tokenizer::default_vocab_path());
        std::vector<std::vector<int32_t>> captions;
        std::ifstream in(argv[3]);
        for (std::string line; std::getline(in, line);) {
            const size_t tab = line.find('\t');
            if (!line.empty()) captions.push_back(train::caption_tokens(tokenizer, tab == std::string::npos ? line : line.substr(tab + 1), 77, 0, true));
        }
        c10::InferenceMode guard;
        auto run = [&](size_t first, size_t count) {
            std::vector<const std::vector<int32_t>*> batch_rows;
            for (size_t i = first; i < first + count; ++i) batch_rows.push_back(&captions[i]);
            if (rows) return train::infer_texts(clip, batch_rows, nullptr);
            return train::encode_texts(clip, train::make_text_batch(batch_rows, 0), at::Tensor(), nullptr);
        };
        run(0, std::min<size_t>(2, captions.size()));  // warm-up
        const auto start = std::chrono::steady_clock::now();
        for (size_t first = 0; first < captions.size(); first += batch) run(first, std::min(batch, captions.size() - first));
        std::printf("text-only\t%zu\t%.3f\n", captions.size(), seconds_since(start));
        return 0;
    }
    if (what == "tokens") {
        const model::Tokenizer tokenizer(model::Tokenizer::default_vocab_path());
        std::ifstream in(argv[2]);
        for (std::string line; std::getline(in, line);) {
            const size_t tab = line.find('\t');
            if (line.empty()) continue;
            const auto ids = train::caption_tokens(tokenizer, tab == std::string::npos ? line : line.substr(tab + 1), 77, 0, true);
            std::printf("%d", model::Tokenizer::sot);
            for (const int32_t id : ids) std::printf(" %d", id);
            std::printf(" %d\n", model::Tokenizer::eot);
        }
        return 0;
    }
    std::fprintf(stderr, "embed_parts: bad arguments\n");
    return 2;
}
