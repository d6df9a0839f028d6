// clip_config_from_spec and random_weights (declared in weights.hpp): a CLIP of any size, from scratch.
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/TensorOperators.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/full.h>
#include <ATen/ops/normal.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/zeros.h>

#include <cmath>
#include <map>

#include "core/error.hpp"
#include "core/text.hpp"
#include "model/weights.hpp"

namespace dcar::model {

ClipConfig clip_config_from_spec(const std::string& spec) {
    std::map<std::string, int64_t> v = {{"image", 224},     {"patch", 32},       {"width", 768},
                                        {"layers", 12},     {"heads", 0},        {"text-width", 512},
                                        {"text-layers", 12}, {"text-heads", 0},  {"embed", 512},
                                        {"context", 77},    {"vocab", 49408},    {"stem", 0},
                                        {"gelu", 0}};
    for (const std::string& part : text::split(spec, ',')) {
        const std::string item = text::trim(part);
        if (item.empty()) continue;
        const size_t eq = item.find('=');
        const std::string key = item.substr(0, eq);
        if (eq == std::string::npos || !v.count(key))
            throw Error(ErrorCode::usage, "model size: '" + item + "' is not one of image, patch, width, layers, heads, text-width, text-layers, text-heads, embed, context, vocab, stem, gelu =N");
        try {
            size_t used = 0;
            const std::string number = item.substr(eq + 1);
            const long long n = std::stoll(number, &used);
            if (used != number.size() || n < 0) throw std::invalid_argument("bad");
            v[key] = n;
        } catch (const std::exception&) {
            throw Error(ErrorCode::usage, "model size: '" + item + "' needs a non-negative integer");
        }
    }
    ClipConfig c;
    c.image_resolution = v["image"];
    c.patch_size = v["patch"];
    c.vision_width = v["width"];
    c.vision_layers = v["layers"];
    c.vision_heads = v["heads"] ? v["heads"] : v["width"] / 64;
    c.vision_mlp_width = 4 * c.vision_width;
    c.text_width = v["text-width"];
    c.text_layers = v["text-layers"];
    c.text_heads = v["text-heads"] ? v["text-heads"] : v["text-width"] / 64;
    c.text_mlp_width = 4 * c.text_width;
    c.embed_dim = v["embed"];
    c.context_length = v["context"];
    c.vocab_size = v["vocab"];
    c.activation = v["gelu"] ? Activation::gelu : Activation::quick_gelu;
    auto require = [&](bool ok, const std::string& what) {
        if (!ok) throw Error(ErrorCode::usage, "model size: " + what);
    };
    require(c.patch_size > 0 && c.image_resolution > 0 && c.image_resolution % c.patch_size == 0, "image must be a positive multiple of patch");
    // stem=N: N stride-2 convolutions before conv1, with width/2^N, ..., width/2 channels (clip.hpp).
    require(v["stem"] <= 4, "stem is at most 4 layers");
    require(v["gelu"] <= 1, "gelu is 0 (QuickGELU, OpenAI's) or 1 (GELU, open_clip's default)");
    const int64_t stem = v["stem"];
    require(c.patch_size % (int64_t{1} << stem) == 0, "patch must be divisible by 2^stem");
    require(c.vision_width % (int64_t{1} << stem) == 0, "width must be divisible by 2^stem");
    for (int64_t i = 0; i < stem; ++i) c.stem_channels.push_back(c.vision_width >> (stem - i));
    require(c.vision_width > 0 && c.vision_layers > 0 && c.text_width > 0 && c.text_layers > 0 && c.embed_dim > 0, "widths, layers and embed must be positive");
    require(c.vision_heads > 0 && c.vision_width % c.vision_heads == 0, "width must be divisible by heads (default heads: width/64)");
    require(c.text_heads > 0 && c.text_width % c.text_heads == 0, "text-width must be divisible by text-heads (default: text-width/64)");
    require(c.context_length >= 3 && c.vocab_size > 49407, "context must be at least 3 and vocab at least 49408 (CLIP's tokenizer)");
    return c;
}

TensorMap random_weights(const ClipConfig& c, uint64_t seed) {
    at::Generator gen = at::detail::createCPUGenerator(seed);
    TensorMap out;
    auto normal = [&](std::vector<int64_t> shape, double std) { return at::normal(0.0, std, shape, gen); };
    auto blocks = [&](const std::string& prefix, int64_t layers, int64_t width, int64_t mlp) {
        const double attn_std = std::pow(static_cast<double>(width), -0.5);
        const double proj_std = attn_std * std::pow(2.0 * static_cast<double>(layers), -0.5);
        const double fc_std = std::pow(2.0 * static_cast<double>(width), -0.5);
        for (int64_t i = 0; i < layers; ++i) {
            const std::string p = prefix + std::to_string(i) + ".";
            out[p + "attn.in_proj_weight"] = normal({3 * width, width}, attn_std);
            out[p + "attn.in_proj_bias"] = at::zeros({3 * width});
            out[p + "attn.out_proj.weight"] = normal({width, width}, proj_std);
            out[p + "attn.out_proj.bias"] = at::zeros({width});
            out[p + "ln_1.weight"] = at::ones({width});
            out[p + "ln_1.bias"] = at::zeros({width});
            out[p + "mlp.c_fc.weight"] = normal({mlp, width}, fc_std);
            out[p + "mlp.c_fc.bias"] = at::zeros({mlp});
            out[p + "mlp.c_proj.weight"] = normal({width, mlp}, proj_std);
            out[p + "mlp.c_proj.bias"] = at::zeros({width});
            out[p + "ln_2.weight"] = at::ones({width});
            out[p + "ln_2.bias"] = at::zeros({width});
        }
    };
    const int64_t vw = c.vision_width, tw = c.text_width;
    const double vscale = std::pow(static_cast<double>(vw), -0.5);
    for (size_t i = 0; i < c.stem_channels.size(); ++i) {  // PyTorch's Conv2d default: U(±1/√fan_in), bias zero
        const int64_t in = i ? c.stem_channels[i - 1] : 3, out_channels = c.stem_channels[i];
        const double bound = 1.0 / std::sqrt(static_cast<double>(in * 9));
        out["visual.stem." + std::to_string(i) + ".weight"] = at::empty({out_channels, in, 3, 3}).uniform_(-bound, bound, gen);
        out["visual.stem." + std::to_string(i) + ".bias"] = at::zeros({out_channels});
    }
    const int64_t k = c.conv1_kernel(), in = c.conv1_channels();
    const double conv_bound = 1.0 / std::sqrt(static_cast<double>(in * k * k));
    out["visual.conv1.weight"] = at::empty({vw, in, k, k}).uniform_(-conv_bound, conv_bound, gen);
    out["visual.class_embedding"] = normal({vw}, vscale);
    out["visual.positional_embedding"] = normal({c.vision_tokens(), vw}, vscale);
    out["visual.ln_pre.weight"] = at::ones({vw});
    out["visual.ln_pre.bias"] = at::zeros({vw});
    blocks("visual.transformer.resblocks.", c.vision_layers, vw, c.vision_mlp_width);
    out["visual.ln_post.weight"] = at::ones({vw});
    out["visual.ln_post.bias"] = at::zeros({vw});
    out["visual.proj"] = normal({vw, c.embed_dim}, vscale);
    out["token_embedding.weight"] = normal({c.vocab_size, tw}, 0.02);
    out["positional_embedding"] = normal({c.context_length, tw}, 0.01);
    blocks("transformer.resblocks.", c.text_layers, tw, c.text_mlp_width);
    out["ln_final.weight"] = at::ones({tw});
    out["ln_final.bias"] = at::zeros({tw});
    out["text_projection"] = normal({tw, c.embed_dim}, std::pow(static_cast<double>(tw), -0.5));
    out["logit_scale"] = at::full({}, std::log(1.0 / 0.07), at::kFloat);
    return out;
}

}  // namespace dcar::model
