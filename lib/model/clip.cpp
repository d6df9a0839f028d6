// CLIP's forward passes with at:: ops, reproducing OpenAI's model.py numerics: nn.MultiheadAttention's slow
// path (one packed in-projection, q divided by √head_dim, baddbmm with the additive mask, softmax, bmm,
// out-projection), QuickGELU, and layer norms computed in fp32. Per-operator ATen headers keep this TU well
// below the cost of <ATen/ATen.h>, which declares every operator.
#include "model/clip.hpp"

#include <ATen/Context.h>
#include <ATen/TensorOperators.h>
#include <ATen/ops/baddbmm.h>
#include <ATen/ops/bmm.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/conv2d.h>
#include <ATen/ops/embedding.h>
#include <ATen/ops/full.h>
#include <ATen/ops/gelu.h>
#include <ATen/ops/layer_norm.h>
#include <ATen/ops/linear.h>
#include <ATen/ops/matmul.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/sigmoid.h>
#include <ATen/ops/softmax.h>
#include <c10/util/Exception.h>

#include <cmath>
#include <limits>
#include <mutex>
#include <utility>

#include "core/error.hpp"
#include "core/text.hpp"

namespace dcar::model {

std::string shape_text(at::IntArrayRef shape) { return text::shape_text(shape.vec()); }

namespace {

constexpr double layer_norm_eps = 1e-5;


[[noreturn]] void mismatch(const std::string& message) { throw Error(ErrorCode::mismatch, message); }

at::Tensor take(const TensorMap& tensors, const std::string& name) {
    const auto it = tensors.find(name);
    if (it == tensors.end() || !it->second.defined()) throw Error(ErrorCode::model, "missing tensor " + name);
    return it->second.detach();
}

LayerNorm layer_norm_from(const TensorMap& tensors, const std::string& prefix) {
    return {take(tensors, prefix + "weight"), take(tensors, prefix + "bias")};
}

// Blocks are numbered from 0 without gaps; the count is where the numbering stops.
int64_t count_blocks(const TensorMap& tensors, const std::string& prefix) {
    int64_t n = 0;
    while (tensors.count(prefix + std::to_string(n) + ".ln_1.weight")) ++n;
    return n;
}

// fp32 whatever the activations are: fp16/bf16 variance sums lose too much (OpenAI's LayerNorm subclass does
// the same). The parameters are fp32 already (Clip::to keeps them so).
at::Tensor layer_norm(const LayerNorm& ln, const at::Tensor& x) {
    const int64_t width = x.size(-1);
    if (x.scalar_type() == at::kFloat) return at::layer_norm(x, {width}, ln.weight, ln.bias, layer_norm_eps);
    return at::layer_norm(x.to(at::kFloat), {width}, ln.weight.to(at::kFloat), ln.bias.to(at::kFloat), layer_norm_eps)
        .to(x.scalar_type());
}

at::Tensor attention(const ResidualBlock& b, const at::Tensor& x, int64_t heads, const at::Tensor& mask) {
    const int64_t n = x.size(0), len = x.size(1), width = x.size(2), head_dim = width / heads;
    // One packed projection, then [N, L, 3, H, hd] → three [N·H, L, hd] (torch's _in_projection_packed).
    const at::Tensor qkv =
        at::linear(x, b.in_proj_weight, b.in_proj_bias).view({n, len, 3, heads, head_dim}).permute({2, 0, 3, 1, 4});
    const at::Tensor q = qkv[0].reshape({n * heads, len, head_dim}) / std::sqrt(static_cast<double>(head_dim));
    const at::Tensor k = qkv[1].reshape({n * heads, len, head_dim});
    const at::Tensor v = qkv[2].reshape({n * heads, len, head_dim});
    at::Tensor scores = mask.defined() ? at::baddbmm(mask, q, k.transpose(1, 2)) : at::bmm(q, k.transpose(1, 2));
    scores = scores.scalar_type() == at::kFloat ? at::softmax(scores, -1)
                                                : at::softmax(scores, -1, at::kFloat).to(scores.scalar_type());
    const at::Tensor out =
        at::bmm(scores, v).view({n, heads, len, head_dim}).permute({0, 2, 1, 3}).reshape({n, len, width});
    return at::linear(out, b.out_proj_weight, b.out_proj_bias);
}

// A prompt tensor for a batch of n: [k, W] is shared by every row, [N, k, W] is per row. Cast to the hidden
// state's dtype and device (a differentiable cast, so gradients still reach an fp32 prompt).
at::Tensor batch_prompt(const at::Tensor& p, const at::Tensor& x, const char* side, size_t layer) {
    const int64_t n = x.size(0), width = x.size(2);
    if (p.dim() == 2 && p.size(1) == width)
        return p.to(x.device(), x.scalar_type()).unsqueeze(0).expand({n, p.size(0), width});
    if (p.dim() == 3 && p.size(0) == n && p.size(2) == width) return p.to(x.device(), x.scalar_type());
    mismatch(std::string(side) + " prompt for layer " + std::to_string(layer) + " has shape " + shape_text(p.sizes()) + ", expected [k, " + std::to_string(width) + "] or [" +
             std::to_string(n) + ", k, " + std::to_string(width) + "]");
}

bool has_prompt(const std::vector<at::Tensor>* layers, size_t l) {
    return layers && l < layers->size() && (*layers)[l].defined();
}

// Positions 1..k of x replaced by the prompt (the text convention: right after SOT).
at::Tensor replace_after_first(const at::Tensor& x, const at::Tensor& prompt, size_t layer) {
    const at::Tensor p = batch_prompt(prompt, x, "text", layer);
    const int64_t k = p.size(1), len = x.size(1);
    if (k == 0) return x;
    if (1 + k > len)
        mismatch("text prompt for layer " + std::to_string(layer) + " has " + std::to_string(k) +
                 " tokens, too many for a sequence of " + std::to_string(len));
    return at::cat({x.narrow(1, 0, 1), p, x.narrow(1, 1 + k, len - 1 - k)}, 1);
}

void check_prompt_layers(const std::vector<at::Tensor>& layers, size_t blocks, const char* side) {
    for (size_t l = blocks; l < layers.size(); ++l)
        if (layers[l].defined())
            mismatch(std::string(side) + " prompt for layer " + std::to_string(l) + ", but the tower has only " +
                     std::to_string(blocks) + " blocks (layers 0.." + std::to_string(blocks - 1) + ")");
}

}  // namespace

std::string ClipConfig::describe() const {
    auto s = [](int64_t v) { return std::to_string(v); };
    std::string stem;
    for (size_t i = 0; i < stem_channels.size(); ++i) stem += (i ? "-" : " stem") + s(stem_channels[i]);
    return "vit" + stem + " patch" + s(patch_size) + " " + s(image_resolution) + "px width" + s(vision_width) + " layers" +
           s(vision_layers) + " heads" + s(vision_heads) + " mlp" + s(vision_mlp_width) + "; text ctx" +
           s(context_length) + " vocab" + s(vocab_size) + " width" + s(text_width) + " layers" + s(text_layers) +
           " heads" + s(text_heads) + " mlp" + s(text_mlp_width) + "; embed" + s(embed_dim) +
           (activation == Activation::gelu ? "; gelu" : "");
}

bool ClipConfig::operator==(const ClipConfig& o) const {
    return embed_dim == o.embed_dim && image_resolution == o.image_resolution && patch_size == o.patch_size &&
           stem_channels == o.stem_channels &&
           vision_width == o.vision_width && vision_layers == o.vision_layers && vision_heads == o.vision_heads &&
           vision_mlp_width == o.vision_mlp_width && context_length == o.context_length && vocab_size == o.vocab_size &&
           text_width == o.text_width && text_layers == o.text_layers && text_heads == o.text_heads &&
           text_mlp_width == o.text_mlp_width && activation == o.activation;
}

std::vector<TensorSpec> clip_tensor_specs(const ClipConfig& c) {
    std::vector<TensorSpec> specs;
    auto blocks = [&](const std::string& prefix, int64_t layers, int64_t w, int64_t m) {
        for (int64_t i = 0; i < layers; ++i) {
            const std::string p = prefix + std::to_string(i) + ".";
            specs.push_back({p + "attn.in_proj_weight", {3 * w, w}});
            specs.push_back({p + "attn.in_proj_bias", {3 * w}});
            specs.push_back({p + "attn.out_proj.weight", {w, w}});
            specs.push_back({p + "attn.out_proj.bias", {w}});
            specs.push_back({p + "ln_1.weight", {w}});
            specs.push_back({p + "ln_1.bias", {w}});
            specs.push_back({p + "mlp.c_fc.weight", {m, w}});
            specs.push_back({p + "mlp.c_fc.bias", {m}});
            specs.push_back({p + "mlp.c_proj.weight", {w, m}});
            specs.push_back({p + "mlp.c_proj.bias", {w}});
            specs.push_back({p + "ln_2.weight", {w}});
            specs.push_back({p + "ln_2.bias", {w}});
        }
    };
    const int64_t vw = c.vision_width, tw = c.text_width;
    specs.push_back({"visual.class_embedding", {vw}});
    specs.push_back({"visual.positional_embedding", {c.vision_tokens(), vw}});
    specs.push_back({"visual.proj", {vw, c.embed_dim}});
    for (size_t i = 0; i < c.stem_channels.size(); ++i) {
        const std::string p = "visual.stem." + std::to_string(i) + ".";
        specs.push_back({p + "weight", {c.stem_channels[i], i ? c.stem_channels[i - 1] : 3, 3, 3}});
        specs.push_back({p + "bias", {c.stem_channels[i]}});
    }
    specs.push_back({"visual.conv1.weight", {vw, c.conv1_channels(), c.conv1_kernel(), c.conv1_kernel()}});
    specs.push_back({"visual.ln_pre.weight", {vw}});
    specs.push_back({"visual.ln_pre.bias", {vw}});
    blocks("visual.transformer.resblocks.", c.vision_layers, vw, c.vision_mlp_width);
    specs.push_back({"visual.ln_post.weight", {vw}});
    specs.push_back({"visual.ln_post.bias", {vw}});
    specs.push_back({"token_embedding.weight", {c.vocab_size, tw}});
    specs.push_back({"positional_embedding", {c.context_length, tw}});
    blocks("transformer.resblocks.", c.text_layers, tw, c.text_mlp_width);
    specs.push_back({"ln_final.weight", {tw}});
    specs.push_back({"ln_final.bias", {tw}});
    specs.push_back({"text_projection", {tw, c.embed_dim}});
    specs.push_back({"logit_scale", {}});
    return specs;
}

ResidualBlock residual_block_from(const TensorMap& t, const std::string& prefix) {
    ResidualBlock b;
    b.ln_1 = layer_norm_from(t, prefix + "ln_1.");
    b.in_proj_weight = take(t, prefix + "attn.in_proj_weight");
    b.in_proj_bias = take(t, prefix + "attn.in_proj_bias");
    b.out_proj_weight = take(t, prefix + "attn.out_proj.weight");
    b.out_proj_bias = take(t, prefix + "attn.out_proj.bias");
    b.ln_2 = layer_norm_from(t, prefix + "ln_2.");
    b.fc_weight = take(t, prefix + "mlp.c_fc.weight");
    b.fc_bias = take(t, prefix + "mlp.c_fc.bias");
    b.proj_weight = take(t, prefix + "mlp.c_proj.weight");
    b.proj_bias = take(t, prefix + "mlp.c_proj.bias");
    return b;
}

// Every "<prefix>transformer.resblocks.<i>." block, in order.
static std::vector<ResidualBlock> blocks_from(const TensorMap& t, const std::string& prefix) {
    std::vector<ResidualBlock> blocks;
    const std::string base = prefix + "transformer.resblocks.";
    for (int64_t i = 0, n = count_blocks(t, base); i < n; ++i) blocks.push_back(residual_block_from(t, base + std::to_string(i) + "."));
    return blocks;
}

VisionTower vision_tower_from(const TensorMap& t, const std::string& prefix, int64_t heads, Activation activation) {
    VisionTower v;
    for (int64_t i = 0; t.count(prefix + "stem." + std::to_string(i) + ".weight"); ++i) {
        v.stem_weights.push_back(take(t, prefix + "stem." + std::to_string(i) + ".weight"));
        v.stem_biases.push_back(take(t, prefix + "stem." + std::to_string(i) + ".bias"));
    }
    v.conv1_weight = take(t, prefix + "conv1.weight");
    v.class_embedding = take(t, prefix + "class_embedding");
    v.positional_embedding = take(t, prefix + "positional_embedding");
    v.ln_pre = layer_norm_from(t, prefix + "ln_pre.");
    v.blocks = blocks_from(t, prefix);
    v.ln_post = layer_norm_from(t, prefix + "ln_post.");
    v.proj = take(t, prefix + "proj");
    v.heads = heads;
    v.activation = activation;
    v.patch_size = v.conv1_weight.size(-1) << v.stem_weights.size();
    return v;
}

TextTower text_tower_from(const TensorMap& t, const std::string& prefix, int64_t heads, Activation activation) {
    TextTower x;
    x.token_embedding = take(t, prefix + "token_embedding.weight");
    x.positional_embedding = take(t, prefix + "positional_embedding");
    x.blocks = blocks_from(t, prefix);
    x.ln_final = layer_norm_from(t, prefix + "ln_final.");
    x.text_projection = take(t, prefix + "text_projection");
    x.heads = heads;
    x.activation = activation;
    return x;
}

at::Tensor residual_block_forward(const ResidualBlock& b, const at::Tensor& x, int64_t heads, const at::Tensor& mask,
                                  Activation activation) {
    if (x.dim() != 3 || heads <= 0 || x.size(2) % heads != 0)
        mismatch("a residual block takes [N, L, D] with D divisible by the heads; got " + shape_text(x.sizes()) +
                 " and " + std::to_string(heads) + " heads");
    at::Tensor h = x + attention(b, layer_norm(b.ln_1, x), heads, mask);
    at::Tensor m = at::linear(layer_norm(b.ln_2, h), b.fc_weight, b.fc_bias);
    m = activation == Activation::gelu ? at::gelu(m) : m * at::sigmoid(1.702 * m);  // erf GELU or QuickGELU
    return h + at::linear(m, b.proj_weight, b.proj_bias);
}

at::Tensor vision_forward(const VisionTower& v, const at::Tensor& pixels, const VisualPrompts* prompts) {
    const int64_t width = v.conv1_weight.size(0), patch = v.patch_size;
    const int64_t tokens = v.positional_embedding.size(0);
    const auto grid = static_cast<int64_t>(std::lround(std::sqrt(static_cast<double>(tokens - 1))));
    const int64_t res = grid * patch;
    if (pixels.dim() != 4 || pixels.size(1) != 3 || pixels.size(2) != res || pixels.size(3) != res)
        mismatch("image batch has shape " + shape_text(pixels.sizes()) + ", the model expects [N, 3, " +
                 std::to_string(res) + ", " + std::to_string(res) + "]");
    const std::vector<at::Tensor>* layers = prompts ? &prompts->layers : nullptr;
    if (layers) {
        check_prompt_layers(*layers, v.blocks.size(), "visual");
        for (size_t l = 1; l < layers->size(); ++l)
            if ((*layers)[l].defined() && !has_prompt(layers, 0))
                mismatch("visual prompt for layer " + std::to_string(l) +
                         " replaces appended prompt tokens, but layer 0 appends none");
    }

    at::Tensor input = pixels.to(v.conv1_weight.device(), v.conv1_weight.scalar_type());
    const int64_t n = input.size(0);
    for (size_t i = 0; i < v.stem_weights.size(); ++i)  // the stem halves the side each time
        input = at::gelu(at::conv2d(input, v.stem_weights[i], v.stem_biases[i], {2, 2}, {1, 1}));
    const int64_t kernel = v.conv1_weight.size(-1);
    at::Tensor x = at::conv2d(input, v.conv1_weight, {}, {kernel, kernel});  // [N, W, g, g]
    x = x.flatten(2).transpose(1, 2);                                      // [N, g², W]
    const at::Tensor cls = v.class_embedding.to(x.scalar_type()).view({1, 1, width}).expand({n, 1, width});
    x = at::cat({cls, x}, 1) + v.positional_embedding.to(x.scalar_type());
    int64_t k = 0;
    if (has_prompt(layers, 0)) {
        const at::Tensor p = batch_prompt((*layers)[0], x, "visual", 0);
        k = p.size(1);
        if (k) x = at::cat({x, p}, 1);
    }
    x = layer_norm(v.ln_pre, x);
    for (size_t l = 0; l < v.blocks.size(); ++l) {
        if (l > 0 && has_prompt(layers, l)) {
            const at::Tensor p = batch_prompt((*layers)[l], x, "visual", l);
            if (p.size(1) != k)
                mismatch("visual prompt for layer " + std::to_string(l) + " has " + std::to_string(p.size(1)) +
                         " tokens, but layer 0 appended " + std::to_string(k));
            if (k) x = at::cat({x.narrow(1, 0, x.size(1) - k), p}, 1);
        }
        x = residual_block_forward(v.blocks[l], x, v.heads, {}, v.activation);
    }
    return at::matmul(layer_norm(v.ln_post, x.select(1, 0)), v.proj);
}

at::Tensor text_forward(const TextTower& t, const at::Tensor& embeddings, const at::Tensor& eot,
                        const TextPrompts* prompts) {
    const int64_t width = t.positional_embedding.size(1), context = t.positional_embedding.size(0);
    if (embeddings.dim() != 3 || embeddings.size(2) != width || embeddings.size(1) < 1 || embeddings.size(1) > context)
        mismatch("token embeddings have shape " + shape_text(embeddings.sizes()) + ", expected [N, L, " +
                 std::to_string(width) + "] with 1 <= L <= " + std::to_string(context));
    const int64_t n = embeddings.size(0), len = embeddings.size(1);
    if (eot.dim() != 1 || eot.size(0) != n || !at::isIntegralType(eot.scalar_type(), false))
        mismatch("EOT indices must be an integer tensor of shape [" + std::to_string(n) + "], got " +
                 std::string(c10::toString(eot.scalar_type())) + " " + shape_text(eot.sizes()));
    const at::Tensor index = eot.to(at::kCPU, at::kLong).contiguous();
    for (int64_t i = 0; i < n; ++i) {
        const int64_t e = index.data_ptr<int64_t>()[i];
        if (e < 0 || e >= len)
            mismatch("EOT index " + std::to_string(e) + " of row " + std::to_string(i) +
                     " is outside the sequence of " + std::to_string(len));
    }
    const std::vector<at::Tensor>* layers = prompts ? &prompts->layers : nullptr;
    if (layers) check_prompt_layers(*layers, t.blocks.size(), "text");

    at::Tensor x = embeddings.to(t.positional_embedding.device(), t.positional_embedding.scalar_type());
    if (has_prompt(layers, 0)) x = replace_after_first(x, (*layers)[0], 0);
    x = x + t.positional_embedding.narrow(0, 0, len);
    const at::Tensor mask =
        at::full({len, len}, -std::numeric_limits<double>::infinity(), x.options()).triu(1);  // causal
    for (size_t l = 0; l < t.blocks.size(); ++l) {
        if (l > 0 && has_prompt(layers, l)) x = replace_after_first(x, (*layers)[l], l);
        x = residual_block_forward(t.blocks[l], x, t.heads, mask, t.activation);
    }
    const at::Tensor gather_index = index.to(x.device()).view({n, 1, 1}).expand({n, 1, width});
    const at::Tensor pooled = x.gather(1, gather_index).squeeze(1);
    return at::matmul(layer_norm(t.ln_final, pooled), t.text_projection);
}

Clip Clip::from_weights(const TensorMap& t, const ClipConfig& config) {
    Clip c;
    c.config = config;
    c.visual = vision_tower_from(t, "visual.", config.vision_heads, config.activation);
    c.text = text_tower_from(t, "", config.text_heads, config.activation);
    c.logit_scale = take(t, "logit_scale");
    if (static_cast<int64_t>(c.visual.blocks.size()) != config.vision_layers ||
        static_cast<int64_t>(c.text.blocks.size()) != config.text_layers)
        throw Error(ErrorCode::model, "the weights have " + std::to_string(c.visual.blocks.size()) + " vision and " +
                                          std::to_string(c.text.blocks.size()) + " text blocks, the configuration " +
                                          std::to_string(config.vision_layers) + " and " +
                                          std::to_string(config.text_layers));
    return c;
}

Clip Clip::to(at::Device device, at::ScalarType dtype) const {
    if (dtype != at::kFloat && dtype != at::kHalf && dtype != at::kBFloat16)
        throw Error(ErrorCode::usage, "CLIP runs in fp32, fp16 or bf16, not " + std::string(c10::toString(dtype)));
    if (!dtype_supported(device, dtype))
        throw Error(ErrorCode::usage,
                    device.is_cuda() && !at::hasCUDA()
                        ? "this LibTorch was built without CUDA"
                        : dtype_name(dtype) + " has no kernels on " + device.str() +
                              " in this LibTorch (1.13 lacks fp16 CPU kernels; use bf16 or fp32 there)");
    auto cast = [&](const at::Tensor& x) { return x.to(device, dtype); };
    auto cast_ln = [&](const LayerNorm& ln) {
        return LayerNorm{ln.weight.to(device, at::kFloat), ln.bias.to(device, at::kFloat)};
    };
    auto cast_block = [&](const ResidualBlock& b) {
        return ResidualBlock{cast_ln(b.ln_1),         cast(b.in_proj_weight), cast(b.in_proj_bias),
                             cast(b.out_proj_weight), cast(b.out_proj_bias),  cast_ln(b.ln_2),
                             cast(b.fc_weight),       cast(b.fc_bias),        cast(b.proj_weight),
                             cast(b.proj_bias)};
    };
    Clip c;
    c.config = config;
    c.fingerprint = fingerprint;
    for (const auto& w : visual.stem_weights) c.visual.stem_weights.push_back(cast(w));
    for (const auto& b : visual.stem_biases) c.visual.stem_biases.push_back(cast(b));
    c.visual.conv1_weight = cast(visual.conv1_weight);
    c.visual.class_embedding = cast(visual.class_embedding);
    c.visual.positional_embedding = cast(visual.positional_embedding);
    c.visual.ln_pre = cast_ln(visual.ln_pre);
    for (const auto& b : visual.blocks) c.visual.blocks.push_back(cast_block(b));
    c.visual.ln_post = cast_ln(visual.ln_post);
    c.visual.proj = cast(visual.proj);
    c.visual.heads = visual.heads;
    c.visual.activation = visual.activation;
    c.visual.patch_size = visual.patch_size;
    c.text.token_embedding = cast(text.token_embedding);
    c.text.positional_embedding = cast(text.positional_embedding);
    for (const auto& b : text.blocks) c.text.blocks.push_back(cast_block(b));
    c.text.ln_final = cast_ln(text.ln_final);
    c.text.text_projection = cast(text.text_projection);
    c.text.heads = text.heads;
    c.text.activation = text.activation;
    c.logit_scale = logit_scale.to(device, at::kFloat);
    return c;
}

at::Device Clip::device() const {
    return visual.conv1_weight.defined() ? visual.conv1_weight.device() : at::Device(at::kCPU);
}

at::ScalarType Clip::dtype() const {
    return visual.conv1_weight.defined() ? visual.conv1_weight.scalar_type() : at::kFloat;
}

std::vector<std::pair<std::string, at::Tensor*>> Clip::named_tensors() {
    std::vector<std::pair<std::string, at::Tensor*>> out;
    auto blocks = [&](const std::string& prefix, std::vector<ResidualBlock>& list) {
        for (size_t i = 0; i < list.size(); ++i) {
            const std::string p = prefix + std::to_string(i) + ".";
            ResidualBlock& b = list[i];
            out.insert(out.end(), {{p + "attn.in_proj_weight", &b.in_proj_weight},
                                   {p + "attn.in_proj_bias", &b.in_proj_bias},
                                   {p + "attn.out_proj.weight", &b.out_proj_weight},
                                   {p + "attn.out_proj.bias", &b.out_proj_bias},
                                   {p + "ln_1.weight", &b.ln_1.weight},
                                   {p + "ln_1.bias", &b.ln_1.bias},
                                   {p + "mlp.c_fc.weight", &b.fc_weight},
                                   {p + "mlp.c_fc.bias", &b.fc_bias},
                                   {p + "mlp.c_proj.weight", &b.proj_weight},
                                   {p + "mlp.c_proj.bias", &b.proj_bias},
                                   {p + "ln_2.weight", &b.ln_2.weight},
                                   {p + "ln_2.bias", &b.ln_2.bias}});
        }
    };
    for (size_t i = 0; i < visual.stem_weights.size(); ++i)
        out.insert(out.end(), {{"visual.stem." + std::to_string(i) + ".weight", &visual.stem_weights[i]},
                               {"visual.stem." + std::to_string(i) + ".bias", &visual.stem_biases[i]}});
    out.insert(out.end(), {{"visual.class_embedding", &visual.class_embedding},
                           {"visual.positional_embedding", &visual.positional_embedding},
                           {"visual.proj", &visual.proj},
                           {"visual.conv1.weight", &visual.conv1_weight},
                           {"visual.ln_pre.weight", &visual.ln_pre.weight},
                           {"visual.ln_pre.bias", &visual.ln_pre.bias}});
    blocks("visual.transformer.resblocks.", visual.blocks);
    out.insert(out.end(), {{"visual.ln_post.weight", &visual.ln_post.weight},
                           {"visual.ln_post.bias", &visual.ln_post.bias},
                           {"token_embedding.weight", &text.token_embedding},
                           {"positional_embedding", &text.positional_embedding}});
    blocks("transformer.resblocks.", text.blocks);
    out.insert(out.end(), {{"ln_final.weight", &text.ln_final.weight},
                           {"ln_final.bias", &text.ln_final.bias},
                           {"text_projection", &text.text_projection},
                           {"logit_scale", &logit_scale}});
    return out;
}

TensorMap Clip::weights() const {
    TensorMap out;
    for (const auto& [name, tensor] : const_cast<Clip*>(this)->named_tensors()) out[name] = *tensor;
    return out;
}

at::Tensor encode_image(const Clip& model, const at::Tensor& pixels, const VisualPrompts* prompts) {
    return vision_forward(model.visual, pixels, prompts);
}

at::Tensor embed_tokens(const Clip& model, const at::Tensor& ids) {
    const int64_t vocab = model.text.token_embedding.size(0), context = model.text.positional_embedding.size(0);
    if (ids.dim() != 2 || ids.size(1) < 1 || ids.size(1) > context || !at::isIntegralType(ids.scalar_type(), false))
        mismatch("token ids have shape " + shape_text(ids.sizes()) + " (" + c10::toString(ids.scalar_type()) +
                 "), expected integers [N, L] with 1 <= L <= " + std::to_string(context));
    const at::Tensor index = ids.to(model.text.token_embedding.device(), at::kLong);
    if (index.numel() && (index.min().item<int64_t>() < 0 || index.max().item<int64_t>() >= vocab))
        mismatch("token ids must lie in [0, " + std::to_string(vocab) + ")");
    return at::embedding(model.text.token_embedding, index);
}

at::Tensor encode_text(const Clip& model, const at::Tensor& embeddings, const at::Tensor& eot,
                       const TextPrompts* prompts) {
    return text_forward(model.text, embeddings, eot, prompts);
}

at::Tensor encode_text_ids(const Clip& model, const at::Tensor& ids, const at::Tensor& eot,
                           const TextPrompts* prompts) {
    return text_forward(model.text, embed_tokens(model, ids), eot, prompts);
}

at::Tensor find_eot(const at::Tensor& ids, int64_t eot_id) {
    if (ids.dim() != 2) mismatch("token ids have shape " + shape_text(ids.sizes()) + ", expected [N, L]");
    const at::Tensor hits = ids.eq(eot_id);
    const at::Tensor found = hits.any(1).to(at::kCPU);
    for (int64_t i = 0; i < found.size(0); ++i)
        if (!found.data_ptr<bool>()[i])
            mismatch("row " + std::to_string(i) + " of the token ids has no EOT token (" + std::to_string(eot_id) +
                     ")");
    // argmax over a 0/1 row returns the first maximum, i.e. the first EOT.
    return hits.to(at::kByte).argmax(1);
}

at::Device parse_device(const std::string& text) {
    at::Device device(at::kCPU);
    try {
        device = at::Device(text);
    } catch (const c10::Error&) {
        throw Error(ErrorCode::usage, "unknown device '" + text + "' (expected cpu, cuda or cuda:N)");
    }
    if (device.is_cpu()) return device;
    if (!device.is_cuda())
        throw Error(ErrorCode::usage, "unsupported device '" + text + "' (expected cpu, cuda or cuda:N)");
    if (!at::hasCUDA()) throw Error(ErrorCode::usage, "device '" + text + "': this LibTorch was built without CUDA");
    const int64_t count = static_cast<int64_t>(at::getNumGPUs());
    if (device.has_index() && device.index() >= count)
        throw Error(ErrorCode::usage, "device '" + text + "': only " + std::to_string(count) + " CUDA devices");
    return device;
}

at::ScalarType parse_dtype(const std::string& text) {
    if (text == "fp32" || text == "float32" || text == "float") return at::kFloat;
    if (text == "fp16" || text == "float16" || text == "half") return at::kHalf;
    if (text == "bf16" || text == "bfloat16") return at::kBFloat16;
    throw Error(ErrorCode::usage, "unknown dtype '" + text + "' (expected fp32, fp16 or bf16)");
}

std::string dtype_name(at::ScalarType dtype) {
    switch (dtype) {
        case at::kFloat: return "fp32";
        case at::kHalf: return "fp16";
        case at::kBFloat16: return "bf16";
        default: return c10::toString(dtype);
    }
}

bool dtype_supported(at::Device device, at::ScalarType dtype) {
    if (dtype != at::kFloat && dtype != at::kHalf && dtype != at::kBFloat16) return false;
    if (device.is_cuda() && !at::hasCUDA()) return false;
    if (!device.is_cpu() && !device.is_cuda()) return false;
    static std::mutex mutex;
    static std::map<std::pair<int, int>, bool> probed;
    const std::pair<int, int> key{static_cast<int>(device.type()), static_cast<int>(dtype)};
    std::lock_guard<std::mutex> lock(mutex);
    const auto it = probed.find(key);
    if (it != probed.end()) return it->second;
    // Run each kind of op the forward uses once on tiny tensors; a missing kernel throws c10::Error.
    bool ok = true;
    try {
        const auto o = at::TensorOptions().device(device).dtype(dtype);
        const at::Tensor a = at::ones({1, 2, 4}, o), w = at::ones({4, 4}, o), bias = at::ones({4}, o);
        const at::Tensor y = at::linear(a, w, bias);
        (void)at::baddbmm(at::ones({2, 2}, o), y, y.transpose(1, 2));
        (void)at::bmm(at::softmax(y, -1), y.transpose(1, 2));
        (void)at::sigmoid(y);
        (void)at::matmul(y, w);
        (void)at::conv2d(at::ones({1, 3, 4, 4}, o), at::ones({2, 3, 2, 2}, o), {}, {2, 2});
    } catch (const c10::Error&) {
        ok = false;
    }
    probed[key] = ok;
    return ok;
}

}  // namespace dcar::model
