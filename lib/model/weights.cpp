// Weight loading: format detection by magic bytes, the three readers (TorchScript via torch::jit::load,
// torch.save zips via a restricted unpickler of our own, safetensors by hand in safetensors.cpp), the HF →
// OpenAI key map of docs/METHOD.md §10, config inference after OpenAI's build_model, one shape check against
// clip_tensor_specs, and the fingerprint. This is the only TU with TorchScript headers, and it takes the
// one that declares torch::jit::load rather than all of <torch/script.h> (12 s to compile instead of 25).
#include "model/weights.hpp"

#include <ATen/ops/cat.h>
#include <ATen/ops/empty.h>
#include <caffe2/serialize/inline_container.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <torch/csrc/jit/serialization/import.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <tuple>

#include "core/error.hpp"
#include "core/text.hpp"
#include "model/pickle.hpp"
#include "model/safetensors.hpp"

namespace dcar::model {
namespace {

using text::ends_with;
using text::starts_with;
using model::shape_text;
std::string shape_text(std::vector<int64_t> shape, bool reversed) {
    if (reversed) std::reverse(shape.begin(), shape.end());
    return text::shape_text(shape);
}

// c10::Error messages carry a C++ backtrace after the first line; users need only the first.
std::string first_line(const c10::Error& e) {
    std::string s = e.what_without_backtrace();
    const auto nl = s.find('\n');
    return nl == std::string::npos ? s : s.substr(0, nl);
}

// ---- the HF CLIPModel ↔ OpenAI key map (docs/METHOD.md §10) -----------------------------------------------

struct FixedName {
    const char* openai;
    const char* hf;
    bool transposed;  // HF's nn.Linear weight [out, in] against OpenAI's bare [in, out] matrix
};
constexpr FixedName fixed_names[] = {
    {"visual.conv1.weight", "vision_model.embeddings.patch_embedding.weight", false},
    {"visual.class_embedding", "vision_model.embeddings.class_embedding", false},
    {"visual.positional_embedding", "vision_model.embeddings.position_embedding.weight", false},
    {"visual.ln_pre.weight", "vision_model.pre_layrnorm.weight", false},  // sic: HF spells it "layrnorm"
    {"visual.ln_pre.bias", "vision_model.pre_layrnorm.bias", false},
    {"visual.ln_post.weight", "vision_model.post_layernorm.weight", false},
    {"visual.ln_post.bias", "vision_model.post_layernorm.bias", false},
    {"visual.proj", "visual_projection.weight", true},
    {"token_embedding.weight", "text_model.embeddings.token_embedding.weight", false},
    {"positional_embedding", "text_model.embeddings.position_embedding.weight", false},
    {"ln_final.weight", "text_model.final_layer_norm.weight", false},
    {"ln_final.bias", "text_model.final_layer_norm.bias", false},
    {"text_projection", "text_projection.weight", true},
    {"logit_scale", "logit_scale", false},
};
// Vision first: "transformer.resblocks." is also a suffix of the vision prefix.
constexpr std::pair<const char*, const char*> tower_prefixes[] = {
    {"visual.transformer.resblocks.", "vision_model.encoder.layers."},
    {"transformer.resblocks.", "text_model.encoder.layers."},
};
constexpr std::pair<const char*, const char*> block_names[] = {
    {"ln_1.weight", "layer_norm1.weight"},
    {"ln_1.bias", "layer_norm1.bias"},
    {"ln_2.weight", "layer_norm2.weight"},
    {"ln_2.bias", "layer_norm2.bias"},
    {"attn.out_proj.weight", "self_attn.out_proj.weight"},
    {"attn.out_proj.bias", "self_attn.out_proj.bias"},
    {"mlp.c_fc.weight", "mlp.fc1.weight"},
    {"mlp.c_fc.bias", "mlp.fc1.bias"},
    {"mlp.c_proj.weight", "mlp.fc2.weight"},
    {"mlp.c_proj.bias", "mlp.fc2.bias"},
};
// OpenAI packs q, k, v into in_proj_{weight,bias} (rows in that order); HF keeps three Linear layers.
constexpr std::pair<const char*, const char*> packed_names[] = {
    {"attn.in_proj_weight", "weight"},
    {"attn.in_proj_bias", "bias"},
};
constexpr const char* qkv_parts[] = {"q", "k", "v"};

// "<prefix><digits>.<rest>" → (index, rest).
bool split_block(const std::string& name, const std::string& prefix, std::string* index, std::string* rest) {
    if (!starts_with(name, prefix)) return false;
    const size_t start = prefix.size();
    size_t dot = start;
    while (dot < name.size() && std::isdigit(static_cast<unsigned char>(name[dot]))) ++dot;
    if (dot == start || dot >= name.size() || name[dot] != '.') return false;
    *index = name.substr(start, dot - start);
    *rest = name.substr(dot + 1);
    return true;
}

// HF name → OpenAI name. part is -1, or 0/1/2 for a q/k/v piece of an in_proj tensor.
bool hf_to_openai(const std::string& hf, std::string* openai, bool* transposed, int* part) {
    *transposed = false;
    *part = -1;
    for (const auto& f : fixed_names)
        if (hf == f.hf) {
            *openai = f.openai;
            *transposed = f.transposed;
            return true;
        }
    std::string index, rest;
    for (const auto& [oa_prefix, hf_prefix] : tower_prefixes) {
        if (!split_block(hf, hf_prefix, &index, &rest)) continue;
        const std::string base = std::string(oa_prefix) + index + ".";
        for (const auto& [oa, h] : block_names)
            if (rest == h) {
                *openai = base + oa;
                return true;
            }
        for (const auto& [oa, kind] : packed_names)
            for (int p = 0; p < 3; ++p)
                if (rest == std::string("self_attn.") + qkv_parts[p] + "_proj." + kind) {
                    *openai = base + oa;
                    *part = p;
                    return true;
                }
    }
    return false;
}

// OpenAI name → HF name, for messages about tensors an HF file lacks. part selects a q/k/v piece.
std::string openai_to_hf(const std::string& openai, int part = -1) {
    for (const auto& f : fixed_names)
        if (openai == f.openai) return f.hf;
    std::string index, rest;
    for (const auto& [oa_prefix, hf_prefix] : tower_prefixes) {
        if (!split_block(openai, oa_prefix, &index, &rest)) continue;
        const std::string base = std::string(hf_prefix) + index + ".";
        for (const auto& [oa, h] : block_names)
            if (rest == oa) return base + h;
        for (const auto& [oa, kind] : packed_names)
            if (rest == oa) return base + "self_attn." + qkv_parts[part < 0 ? 0 : part] + "_proj." + kind;
    }
    return openai;
}

bool is_transposed_in_hf(const std::string& openai) {
    for (const auto& f : fixed_names)
        if (openai == f.openai) return f.transposed;
    return false;
}

// ---- normalisation --------------------------------------------------------------------------------------

struct Item {
    at::Tensor tensor;            // in OpenAI orientation when it could be transposed
    std::string source;           // the name in the file
    std::vector<int64_t> stored;  // the shape in the file
    bool transposed = false;
};
struct QkvGroup {
    std::array<at::Tensor, 3> parts;
    std::array<std::string, 3> sources;
};
struct Normalised {
    std::map<std::string, Item> items;    // by OpenAI name (names the map does not know stay as they are)
    std::map<std::string, QkvGroup> qkv;  // HF only: in_proj names → their three pieces
    KeyLayout layout = KeyLayout::openai;
    std::vector<std::string> ignored;
};

Normalised normalise(const TensorMap& raw, const std::string& place) {
    // DataParallel / DDP prefixes apply to every key or to none.
    bool all_module = !raw.empty();
    for (const auto& [name, t] : raw) all_module = all_module && starts_with(name, "module.");
    Normalised n;
    for (const auto& [name, t] : raw) {
        const std::string key = all_module ? name.substr(7) : name;
        if (starts_with(key, "vision_model.") || starts_with(key, "text_model.") || key == "visual_projection.weight")
            n.layout = KeyLayout::hf;
        if (starts_with(key, "visual.layer1.") || starts_with(key, "visual.attnpool."))
            throw_error(ErrorCode::model, place,
                        "ResNet image towers (RN50 and kin) are not supported; only ViT CLIP models are");
    }
    for (const auto& [name, t] : raw) {
        const std::string key = all_module ? name.substr(7) : name;
        if (is_ignored_tensor_name(key, n.layout)) {
            n.ignored.push_back(name);
            continue;
        }
        std::string openai = key;
        bool transposed = false;
        int part = -1;
        if (n.layout == KeyLayout::hf && !hf_to_openai(key, &openai, &transposed, &part)) openai = key;
        if (part >= 0) {
            auto& group = n.qkv[openai];
            group.parts[part] = t;
            group.sources[part] = name;
            continue;
        }
        Item item{t, name, t.sizes().vec(), false};
        if (transposed) {
            item.transposed = true;
            if (t.dim() == 2) item.tensor = t.t();
        }
        n.items[openai] = std::move(item);
    }
    return n;
}

// The name under which a missing OpenAI tensor would have appeared in the file.
std::string source_name(const Normalised& n, const std::string& openai, int part = -1) {
    return n.layout == KeyLayout::hf ? openai_to_hf(openai, part) : openai;
}

[[noreturn]] void fail_missing(const Normalised& n, const std::string& place, const std::string& openai) {
    throw_error(ErrorCode::model, place,
                "missing tensor " + source_name(n, openai) + " (needed to infer the model's sizes)");
}

const Item& require(const Normalised& n, const std::string& place, const std::string& openai, int64_t dims,
                    const char* expected_openai, const char* expected_hf) {
    const auto it = n.items.find(openai);
    if (it == n.items.end()) fail_missing(n, place, openai);
    if (it->second.tensor.dim() != dims)
        throw_error(ErrorCode::model, place,
                    "tensor " + it->second.source + " has shape " + shape_text(it->second.stored) + ", expected " +
                        (n.layout == KeyLayout::hf ? expected_hf : expected_openai));
    return it->second;
}

// Blocks of a tower: one more than the highest index seen (gaps are reported later as missing tensors).
int64_t count_layers(const Normalised& n, const std::string& prefix) {
    int64_t layers = 0;
    std::string index, rest;
    auto see = [&](const std::string& name) {
        if (split_block(name, prefix, &index, &rest) && index.size() < 7)
            layers = std::max<int64_t>(layers, std::stoll(index) + 1);
    };
    for (const auto& [name, item] : n.items) see(name);
    for (const auto& [name, group] : n.qkv) see(name);
    return layers;
}

// The architecture to read the weights with: --arch, else what the file declares; heads options override both.
Architecture chosen_architecture(const LoadOptions& options, const std::optional<Architecture>& declared) {
    Architecture a;
    if (!options.arch.empty())
        a = parse_architecture(options.arch);
    else if (declared)
        a = *declared;
    if (options.vision_heads > 0) a.vision_heads = options.vision_heads;
    if (options.text_heads > 0) a.text_heads = options.text_heads;
    return a;
}

// The activation and heads onto c, refusing what nothing states and any stated size the weights contradict.
void apply_architecture(ClipConfig& c, const Architecture& a, const std::string& place) {
    if (!a.activation || (!a.heads_for_vision(c.vision_width) && !a.vision_head_width) ||
        (!a.heads_for_text(c.text_width) && !a.text_head_width))
        throw_error(ErrorCode::model, place,
                    "cannot tell the model's architecture: the weights do not show the MLP activation (QuickGELU or "
                    "GELU) nor the attention heads" +
                        (a.source.empty() ? std::string() : ", and " + a.source + " does not say") +
                        ". Pass --arch (ViT-B-32-quickgelu for OpenAI's ViT-B/32 weights, ViT-B-32 for open_clip's "
                        "GELU ones, likewise for other sizes; openai or open_clip for those rules at any size), or "
                        "put the model's open_clip_config.json or Hugging Face config.json beside it");
    auto heads = [&](int64_t width, int64_t stated, int64_t head_width, const char* tower) {
        if (stated > 0) {
            if (width % stated != 0)
                throw_error(ErrorCode::model, place,
                            std::string(tower) + " width " + std::to_string(width) + " is not divisible by " +
                                std::to_string(stated) + " heads (" + a.source + ")");
            return stated;
        }
        if (width % head_width != 0)
            throw_error(ErrorCode::model, place,
                        std::string(tower) + " width " + std::to_string(width) + " is not a multiple of head width " +
                            std::to_string(head_width) + " (" + a.source + "); give the heads explicitly");
        return width / head_width;
    };
    c.activation = *a.activation;
    c.vision_heads = heads(c.vision_width, a.vision_heads, a.vision_head_width, "vision");
    c.text_heads = heads(c.text_width, a.text_heads, a.text_head_width, "text");
    const std::pair<const char*, std::pair<int64_t, int64_t>> sizes[] = {
        {"embedding width", {a.embed_dim, c.embed_dim}},
        {"image size", {a.image_resolution, c.image_resolution}},
        {"patch size", {a.patch_size, c.patch_size}},
        {"vision width", {a.vision_width, c.vision_width}},
        {"vision layers", {a.vision_layers, c.vision_layers}},
        {"vision MLP width", {a.vision_mlp_width, c.vision_mlp_width}},
        {"context length", {a.context_length, c.context_length}},
        {"vocabulary size", {a.vocab_size, c.vocab_size}},
        {"text width", {a.text_width, c.text_width}},
        {"text layers", {a.text_layers, c.text_layers}},
        {"text MLP width", {a.text_mlp_width, c.text_mlp_width}},
    };
    for (const auto& [what, stated_and_found] : sizes)
        if (stated_and_found.first && stated_and_found.first != stated_and_found.second)
            throw_error(ErrorCode::model, place,
                        a.source + " says " + what + " " + std::to_string(stated_and_found.first) +
                            ", the weights have " + std::to_string(stated_and_found.second));
}

// Every size the weights show; the activation and heads are apply_architecture's.
ClipConfig infer_config(const Normalised& n, const std::string& place) {
    ClipConfig c;
    // dcar's convolutional stem (clip.hpp), when the file has one: visual.stem.<i>.weight [C_i, C_i-1, 3, 3].
    for (int64_t i = 0;; ++i) {
        const auto it = n.items.find("visual.stem." + std::to_string(i) + ".weight");
        if (it == n.items.end()) break;
        const auto& ws = it->second.tensor.sizes();
        const int64_t in = i ? c.stem_channels.back() : 3;
        if (ws.size() != 4 || ws[1] != in || ws[2] != 3 || ws[3] != 3 || ws[0] < 1 || i >= 8)
            throw_error(ErrorCode::model, place,
                        "tensor " + it->second.source + " has shape " + shape_text(it->second.stored) + ", expected [channels, " +
                            std::to_string(in) + ", 3, 3] (a stem of at most 8 layers)");
        c.stem_channels.push_back(ws[0]);
    }
    const std::string conv1_shape = "[width, " + std::to_string(c.conv1_channels()) + ", patch, patch]";
    const Item& conv1 = require(n, place, "visual.conv1.weight", 4, conv1_shape.c_str(), conv1_shape.c_str());
    const auto& cs = conv1.tensor.sizes();
    if (cs[1] != c.conv1_channels() || cs[2] != cs[3])
        throw_error(ErrorCode::model, place,
                    "tensor " + conv1.source + " has shape " + shape_text(cs) + ", expected " + conv1_shape);
    c.vision_width = cs[0];
    c.patch_size = cs[3] << c.stem_channels.size();
    const Item& vpos = require(n, place, "visual.positional_embedding", 2, "[tokens, width]", "[tokens, width]");
    const int64_t tokens = vpos.tensor.size(0);
    const auto grid =
        static_cast<int64_t>(std::lround(std::sqrt(static_cast<double>(std::max<int64_t>(tokens - 1, 0)))));
    if (tokens < 2 || grid * grid != tokens - 1)
        throw_error(ErrorCode::model, place,
                    "tensor " + vpos.source + " has " + std::to_string(tokens) +
                        " rows, not a square number of patches plus the class token");
    c.image_resolution = grid * c.patch_size;
    c.vision_layers = count_layers(n, "visual.transformer.resblocks.");
    c.embed_dim = require(n, place, "text_projection", 2, "[width, embed]", "[embed, width]").tensor.size(1);
    c.vocab_size = require(n, place, "token_embedding.weight", 2, "[vocab, width]", "[vocab, width]").tensor.size(0);
    c.context_length =
        require(n, place, "positional_embedding", 2, "[context, width]", "[context, width]").tensor.size(0);
    c.text_width = require(n, place, "ln_final.weight", 1, "[width]", "[width]").tensor.size(0);
    c.text_layers = count_layers(n, "transformer.resblocks.");
    // MLP widths from the first block (4 × width in every OpenAI model); a missing block is reported later.
    auto mlp = [&](const std::string& prefix, int64_t width) {
        const auto it = n.items.find(prefix + "0.mlp.c_fc.weight");
        return it != n.items.end() && it->second.tensor.dim() == 2 ? it->second.tensor.size(0) : 4 * width;
    };
    c.vision_mlp_width = mlp("visual.transformer.resblocks.", c.vision_width);
    c.text_mlp_width = mlp("transformer.resblocks.", c.text_width);
    return c;
}

// Every missing, unexpected or mis-shaped tensor, in spec order then file order; one error for all of them.
void check(const Normalised& n, const ClipConfig& config, const std::string& place) {
    std::vector<std::string> problems;
    std::set<std::string> expected;
    const bool hf = n.layout == KeyLayout::hf;
    for (const auto& spec : clip_tensor_specs(config)) {
        expected.insert(spec.name);
        const auto group = n.qkv.find(spec.name);
        if (hf && (ends_with(spec.name, ".attn.in_proj_weight") || ends_with(spec.name, ".attn.in_proj_bias"))) {
            std::vector<int64_t> piece = spec.shape;
            piece[0] /= 3;
            for (int p = 0; p < 3; ++p) {
                const bool have = group != n.qkv.end() && group->second.parts[p].defined();
                const std::string name = have ? group->second.sources[p] : source_name(n, spec.name, p);
                if (!have)
                    problems.push_back("missing tensor " + name + " (expected shape " + shape_text(piece, false) + ")");
                else if (group->second.parts[p].sizes().vec() != piece)
                    problems.push_back("tensor " + name + " has shape " + shape_text(group->second.parts[p].sizes()) +
                                       ", expected " + shape_text(piece, false));
            }
            continue;
        }
        const auto it = n.items.find(spec.name);
        const bool reversed = hf && is_transposed_in_hf(spec.name);
        if (it == n.items.end())
            problems.push_back("missing tensor " + source_name(n, spec.name) + " (expected shape " +
                               shape_text(spec.shape, reversed) + ")");
        else if (it->second.tensor.sizes().vec() != spec.shape)
            problems.push_back("tensor " + it->second.source + " has shape " + shape_text(it->second.stored) +
                               ", expected " + shape_text(spec.shape, reversed));
    }
    for (const auto& [name, item] : n.items)
        if (!expected.count(name))
            problems.push_back("unexpected tensor " + item.source + " with shape " + shape_text(item.stored));
    for (const auto& [name, group] : n.qkv)
        if (!expected.count(name))
            for (int p = 0; p < 3; ++p)
                if (group.parts[p].defined())
                    problems.push_back("unexpected tensor " + group.sources[p] + " with shape " +
                                       shape_text(group.parts[p].sizes()));
    if (problems.empty()) return;
    std::string message = problems.front();
    if (problems.size() > 1)
        message +=
            " (and " + std::to_string(problems.size() - 1) + " more problem" + (problems.size() > 2 ? "s" : "") + ")";
    throw_error(ErrorCode::model, place, message);
}

// ---- readers -----------------------------------------------------------------------------------------------

TensorMap read_torchscript(const std::string& path) {
    torch::jit::Module module;
    try {
        module = torch::jit::load(path, at::Device(at::kCPU));
    } catch (const c10::Error& e) {
        throw_error(ErrorCode::format, path, "cannot read TorchScript archive: " + first_line(e));
    }
    TensorMap out;
    for (const auto& p : module.named_parameters(/*recurse=*/true)) out[p.name] = p.value.detach();
    for (const auto& b : module.named_buffers(/*recurse=*/true)) out[b.name] = b.value.detach();
    return out;
}

// torch.save zips hold data.pkl (a pickle, protocol 2 by default, read by pickle.cpp) and one record per
// storage (data/<key>); each tensor is a view of its storage's record, and one record may back several tensors.
TensorMap read_torch_pickle(const std::string& path, caffe2::serialize::PyTorchStreamReader& reader) {
    auto fail = [&](const std::string& message) { throw_error(ErrorCode::format, path, "torch.save file: " + message); };
    std::string pickle_bytes;
    try {
        at::DataPtr data;
        size_t bytes = 0;
        std::tie(data, bytes) = reader.getRecord("data.pkl");
        pickle_bytes.assign(static_cast<const char*>(data.get()), bytes);
    } catch (const c10::Error& e) {
        throw_error(ErrorCode::format, path, "cannot read torch.save file: " + first_line(e));
    }
    static const std::map<pickle::StorageType, at::ScalarType> dtypes = {
        {pickle::StorageType::f32, at::kFloat}, {pickle::StorageType::f16, at::kHalf},  {pickle::StorageType::bf16, at::kBFloat16},
        {pickle::StorageType::f64, at::kDouble}, {pickle::StorageType::i64, at::kLong}, {pickle::StorageType::i32, at::kInt},
        {pickle::StorageType::i16, at::kShort}, {pickle::StorageType::i8, at::kChar},   {pickle::StorageType::u8, at::kByte},
        {pickle::StorageType::boolean, at::kBool},
    };
    std::map<std::string, at::Tensor> storages;  // by key
    TensorMap out;
    for (const auto& [name, ref] : pickle::read_state_dict(pickle_bytes, path)) {
        const at::ScalarType dtype = dtypes.at(ref.type);
        auto cached = storages.find(ref.storage_key);
        if (cached == storages.end()) {
            at::DataPtr data;
            size_t bytes = 0;
            try {
                std::tie(data, bytes) = reader.getRecord("data/" + ref.storage_key);
            } catch (const c10::Error& e) {
                fail("storage record data/" + ref.storage_key + ": " + first_line(e));
            }
            if (bytes % pickle::element_size(ref.type))
                fail("storage data/" + ref.storage_key + " holds " + std::to_string(bytes) + " bytes, not whole " +
                     ref.storage_name + " elements");
            c10::Storage st(c10::Storage::use_byte_size_t(), bytes, std::move(data), nullptr, false);
            cached = storages.emplace(ref.storage_key, at::empty({0}, at::TensorOptions().dtype(dtype)).set_(st)).first;
        }
        const at::Tensor& st = cached->second;
        if (st.scalar_type() != dtype)
            fail("storage data/" + ref.storage_key + " is named as two element types");
        try {
            out[name] = at::empty({0}, st.options()).set_(st.storage(), ref.offset, ref.sizes, ref.strides).detach();
        } catch (const c10::Error& e) {
            fail("a tensor does not fit its storage: " + first_line(e));
        }
    }
    return out;
}

WeightFormat sniff(const std::string& path, std::unique_ptr<caffe2::serialize::PyTorchStreamReader>* zip) {
    unsigned char head[9] = {};
    ssize_t got = 0;
    {
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) throw_errno(path, "cannot open");
        while (got < static_cast<ssize_t>(sizeof head)) {
            const ssize_t n = ::read(fd, head + got, sizeof head - got);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) {
                const int saved = errno;
                ::close(fd);
                errno = saved;
                throw_errno(path, "cannot read");
            }
            if (n == 0) break;
            got += n;
        }
        ::close(fd);
    }
    if (got >= 4 && std::memcmp(head, "PK\x03\x04", 4) == 0) {
        try {
            *zip = std::make_unique<caffe2::serialize::PyTorchStreamReader>(path);
        } catch (const c10::Error& e) {
            throw_error(ErrorCode::format, path, "cannot read zip archive: " + first_line(e));
        }
        if ((*zip)->hasRecord("constants.pkl")) return WeightFormat::torchscript;
        if ((*zip)->hasRecord("data.pkl")) return WeightFormat::torch_pickle;
        throw_error(ErrorCode::format, path, "zip archive is neither a TorchScript archive nor a torch.save file");
    }
    if (got == 9 && head[8] == '{') return WeightFormat::safetensors;  // u64 header length, then JSON
    if (got >= 2 && head[0] == 0x80 && head[1] <= 5)                   // a bare pickle stream
        throw_error(
            ErrorCode::format, path,
            "legacy (pre-1.6, non-zip) torch.save file; re-save it with a current torch.save or as safetensors");
    throw_error(ErrorCode::format, path, "not a TorchScript archive, torch.save zip or safetensors file");
}

// ---- fingerprint -------------------------------------------------------------------------------------------

class Hash64 {
public:
    void word(uint64_t w) {
        h_ = rotl(h_ ^ mix(w), 29) * 0x9e3779b97f4a7c15ull;
        bytes_ += 8;
    }
    void bytes(const void* data, size_t n) {
        const auto* p = static_cast<const unsigned char*>(data);
        size_t i = 0;
        for (; i + 8 <= n; i += 8) {
            uint64_t w;
            std::memcpy(&w, p + i, 8);  // little-endian host (static_assert in safetensors.cpp)
            word(w);
        }
        uint64_t tail = 0;
        if (n > i) std::memcpy(&tail, p + i, n - i);
        word(tail ^ (static_cast<uint64_t>(n) << 3));  // the length closes every field: no two splits collide
    }
    uint64_t digest() const { return mix(h_ ^ bytes_); }

private:
    static uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
    static uint64_t mix(uint64_t x) {
        x ^= x >> 31;
        x *= 0x7fb5d329728ea185ull;
        x ^= x >> 27;
        x *= 0x81dadef4bc2dd44dull;
        x ^= x >> 33;
        return x;
    }
    uint64_t h_ = 0x6a09e667f3bcc908ull;
    uint64_t bytes_ = 0;
};

}  // namespace

const char* format_name(WeightFormat format) {
    switch (format) {
        case WeightFormat::torchscript: return "torchscript";
        case WeightFormat::torch_pickle: return "torch.save";
        case WeightFormat::safetensors: return "safetensors";
    }
    return "?";
}

const char* layout_name(KeyLayout layout) { return layout == KeyLayout::hf ? "hf" : "openai"; }

bool is_ignored_tensor_name(const std::string& name, KeyLayout layout) {
    if (layout == KeyLayout::hf)
        return name == "text_model.embeddings.position_ids" || name == "vision_model.embeddings.position_ids";
    if (name == "input_resolution" || name == "context_length" || name == "vocab_size" || name == "attn_mask")
        return true;
    std::string index, rest;
    for (const auto& prefix : {"visual.transformer.resblocks.", "transformer.resblocks."})
        if (split_block(name, prefix, &index, &rest) && rest == "attn_mask") return true;
    return false;
}

std::string weights_fingerprint(const TensorMap& tensors) {
    Hash64 h;
    for (const auto& [name, tensor] : tensors) {
        h.bytes(name.data(), name.size());
        h.word(static_cast<uint64_t>(tensor.dim()));
        for (const int64_t d : tensor.sizes()) h.word(static_cast<uint64_t>(d));
        h.bytes("f32", 3);
        const at::Tensor t = tensor.detach().to(at::kCPU, at::kFloat).contiguous();
        h.bytes(t.data_ptr(), static_cast<size_t>(t.numel()) * sizeof(float));
    }
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h.digest()));
    return std::string("clip-") + hex;
}

std::string clip_fingerprint(const TensorMap& tensors, const ClipConfig& config) {
    const std::string weights = weights_fingerprint(tensors);
    const bool openai_reading = config.activation == Activation::quick_gelu &&
                                config.vision_heads * 64 == config.vision_width && config.text_heads * 64 == config.text_width;
    if (openai_reading) return weights;
    Hash64 h;
    h.bytes(weights.data(), weights.size());
    const std::string arch = architecture_spec(config.activation, config.vision_heads, config.text_heads);
    h.bytes(arch.data(), arch.size());
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h.digest()));
    return std::string("clip-") + hex;
}

std::map<std::string, std::string> clip_metadata(const ClipConfig& config) {
    return {{"format", "pt"},
            {architecture_metadata_key, architecture_spec(config.activation, config.vision_heads, config.text_heads)}};
}

TensorMap read_tensor_file(const std::string& path, WeightFormat* format, std::map<std::string, std::string>* metadata) {
    std::unique_ptr<caffe2::serialize::PyTorchStreamReader> zip;
    const WeightFormat f = sniff(path, &zip);
    if (format) *format = f;
    switch (f) {
        case WeightFormat::torchscript: zip.reset(); return read_torchscript(path);
        case WeightFormat::torch_pickle: return read_torch_pickle(path, *zip);
        case WeightFormat::safetensors: return read_safetensors(path, metadata);
    }
    return {};
}

namespace {

bool is_directory(const std::string& path) {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}
bool is_file(const std::string& path) {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}
std::string directory_of(const std::string& path) {
    if (is_directory(path)) return path;
    const size_t slash = path.rfind('/');
    return slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
}
std::string read_small_file(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw_error(ErrorCode::io, path, std::string("cannot open: ") + std::strerror(errno));
    std::string text;
    char buffer[65536];
    for (;;) {
        const ssize_t got = ::read(fd, buffer, sizeof buffer);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) {
            const int e = errno;
            ::close(fd);
            throw_error(ErrorCode::io, path, std::string("cannot read: ") + std::strerror(e));
        }
        if (got == 0) break;
        text.append(buffer, size_t(got));
        if (text.size() > (size_t(1) << 24)) {
            ::close(fd);
            throw_error(ErrorCode::format, path, "a model config larger than 16 MiB");
        }
    }
    ::close(fd);
    return text;
}

}  // namespace

std::string weights_file_in(const std::string& path) {
    if (!is_directory(path)) return path;
    for (const char* name : {"open_clip_model.safetensors", "open_clip_pytorch_model.bin", "model.safetensors",
                             "pytorch_model.bin"}) {
        const std::string candidate = path + "/" + name;
        if (is_file(candidate)) return candidate;
    }
    throw_error(ErrorCode::io, path,
                "a model directory without weights (open_clip_model.safetensors, open_clip_pytorch_model.bin, "
                "model.safetensors or pytorch_model.bin)");
}

std::optional<Architecture> declared_architecture(const std::string& path, WeightFormat format,
                                                  const std::map<std::string, std::string>& metadata) {
    if (format == WeightFormat::torchscript) {  // OpenAI's archives, and nothing else writes them for CLIP
        Architecture a = parse_architecture("openai");
        a.source = "OpenAI's TorchScript archive";
        return a;
    }
    const auto it = metadata.find(architecture_metadata_key);
    if (it != metadata.end()) {
        try {
            Architecture a = parse_architecture(it->second);
            a.source = std::string(architecture_metadata_key) + " in " + path;
            return a;
        } catch (const Error& e) {
            throw_error(ErrorCode::format, path, std::string(architecture_metadata_key) + ": " + e.what());
        }
    }
    const std::string dir = directory_of(path);
    for (const char* name : {"open_clip_config.json", "config.json"}) {
        const std::string config = dir + "/" + name;
        if (is_file(config)) return config_architecture(read_small_file(config), config);
    }
    return std::nullopt;
}

ClipConfig inspect_weights(const TensorMap& raw, const std::string& place, const LoadOptions& options,
                           const std::optional<Architecture>& declared) {
    const Normalised n = normalise(raw, place);
    ClipConfig config = infer_config(n, place);
    check(n, config, place);
    apply_architecture(config, chosen_architecture(options, declared), place);
    return config;
}

LoadedWeights weights_from_tensors(const TensorMap& raw, const std::string& place, const LoadOptions& options,
                                   const std::optional<Architecture>& declared) {
    const Normalised n = normalise(raw, place);
    LoadedWeights w;
    w.layout = n.layout;
    w.ignored = n.ignored;
    const Architecture arch = chosen_architecture(options, declared);
    w.config = infer_config(n, place);
    check(n, w.config, place);
    apply_architecture(w.config, arch, place);
    w.architecture_source = arch.source;
    auto canonical = [](const at::Tensor& t) { return t.detach().to(at::kCPU, at::kFloat).contiguous(); };
    for (const auto& spec : clip_tensor_specs(w.config)) {
        const auto group = n.qkv.find(spec.name);
        if (group != n.qkv.end()) {
            const auto& p = group->second.parts;
            w.tensors[spec.name] = at::cat({canonical(p[0]), canonical(p[1]), canonical(p[2])}, 0);
        } else {
            w.tensors[spec.name] = canonical(n.items.at(spec.name).tensor);
        }
    }
    w.fingerprint = clip_fingerprint(w.tensors, w.config);
    return w;
}

LoadedWeights load_weights(const std::string& path, const LoadOptions& options) {
    const std::string file = weights_file_in(path);
    WeightFormat format;
    std::map<std::string, std::string> metadata;
    const TensorMap raw = read_tensor_file(file, &format, &metadata);
    // --arch wins; what the file states is only read (and a broken config beside it only reported) without it.
    const std::optional<Architecture> declared =
        options.arch.empty() ? declared_architecture(file, format, metadata) : std::nullopt;
    LoadedWeights w = weights_from_tensors(raw, file, options, declared);
    // A NaN or infinity in a weight would surface only later, as a loss of NaN or embeddings that match
    // nothing: refused here, naming the tensor.
    for (const auto& [name, t] : w.tensors)
        if (t.is_floating_point() && !t.isfinite().all().item<bool>())
            throw_error(ErrorCode::model, file, "tensor '" + name + "' holds a NaN or an infinity");
    w.format = format;
    return w;
}

Clip load_clip(const std::string& path, at::Device device, at::ScalarType dtype, const LoadOptions& options) {
    const LoadedWeights w = load_weights(path, options);
    Clip model = Clip::from_weights(w.tensors, w.config);
    model.fingerprint = w.fingerprint;
    return model.to(device, dtype);
}

}  // namespace dcar::model
