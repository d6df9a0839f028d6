// Weight loading. With Debian's python3-torch (via /usr/bin/python3), tests/unit/clip_reference.py writes one
// tiny CLIP as TorchScript (fp16), torch.save (plain and wrapped), safetensors (fp32 and fp16) and HF-layout
// safetensors, plus fp32 reference embeddings; every copy must load with one fingerprint and reproduce Python's
// embeddings within 1e-5. Without that Python those tests skip. The error messages (missing, unexpected,
// mis-shaped tensors; corrupt safetensors) are checked word for word on files written here in C++.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ATen/ATen.h>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "clip_fixture.hpp"
#include "core/error.hpp"
#include "model/safetensors.hpp"
#include "model/weights.hpp"

namespace dcar::model {
namespace {

namespace fs = std::filesystem;
using testing::max_abs_diff;
using testing::fixture_weights;
using testing::tiny_config;

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_file(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A private directory for the files a test writes, removed when the process exits.
std::string temp_dir() {
    struct Dir {
        std::string path;
        Dir() {
            std::string templ = ::testing::TempDir() + "dcar-weights-XXXXXX";
            if (!mkdtemp(templ.data())) throw std::runtime_error("mkdtemp failed");
            path = templ + "/";
        }
        ~Dir() {
            std::error_code ignored;
            fs::remove_all(path, ignored);
        }
    };
    static const Dir dir;
    return dir.path;
}

// The Python reference files, generated once per script version and shared by test processes: a private
// directory is filled, then renamed into place (a concurrent process that loses the race uses the winner's).
// Empty when /usr/bin/python3 has no torch.
const std::string& reference_dir() {
    static const std::string dir = []() -> std::string {
        if (std::system("/usr/bin/python3 -c 'import torch, numpy' >/dev/null 2>&1") != 0) return "";
        const std::string script = std::string(DCAR_SOURCE_DIR) + "/tests/unit/clip_reference.py";
        const std::string final_dir =
            ::testing::TempDir() + "dcar-clip-ref-" + std::to_string(std::hash<std::string>()(read_file(script)));
        if (fs::exists(final_dir + "/done")) return final_dir + "/";
        std::string work = final_dir + ".XXXXXX";
        if (!mkdtemp(work.data())) return "";
        const std::string cmd = "/usr/bin/python3 '" + script + "' '" + work + "' >'" + work + "/log' 2>&1";
        if (std::system(cmd.c_str()) != 0) {
            std::cerr << read_file(work + "/log");
            return "";
        }
        if (std::rename(work.c_str(), final_dir.c_str()) != 0) fs::remove_all(work);
        return fs::exists(final_dir + "/done") ? final_dir + "/" : "";
    }();
    return dir;
}

#define REQUIRE_REFERENCE() \
    if (reference_dir().empty()) GTEST_SKIP() << "/usr/bin/python3 with torch is not available"

const char* const formats[] = {"tiny.jit.pt",      "tiny.state_dict.pt",   "tiny.wrapped.pt",
                               "tiny.safetensors", "tiny.f16.safetensors", "tiny.hf.safetensors"};

using testing::expect_error;

// The reference files other than the TorchScript archive say nothing of the activation and heads: they load
// with OpenAI's rules given explicitly, as --arch openai gives them.
LoadOptions openai_rules() {
    LoadOptions o;
    o.arch = "openai";
    return o;
}

// ---- against Python -------------------------------------------------------------------------------------------

TEST(WeightsPython, EveryFormatLoadsWithOneFingerprintAndConfig) {
    REQUIRE_REFERENCE();
    std::string fingerprint;
    for (const char* name : formats) {
        SCOPED_TRACE(name);
        const LoadedWeights w = load_weights(reference_dir() + name, openai_rules());
        EXPECT_EQ(w.config, tiny_config()) << w.config.describe();
        EXPECT_EQ(w.tensors.size(), clip_tensor_specs(w.config).size());
        EXPECT_EQ(w.fingerprint.size(), 21u);
        EXPECT_EQ(w.fingerprint.rfind("clip-", 0), 0u);
        if (fingerprint.empty()) fingerprint = w.fingerprint;
        EXPECT_EQ(w.fingerprint, fingerprint);
        const std::string file(name);
        EXPECT_EQ(w.format, file.find(".jit.") != std::string::npos ? WeightFormat::torchscript
                            : file.find(".pt") != std::string::npos ? WeightFormat::torch_pickle
                                                                    : WeightFormat::safetensors);
        EXPECT_EQ(w.layout, file.find(".hf.") != std::string::npos ? KeyLayout::hf : KeyLayout::openai);
        const std::vector<std::string> extras =
            w.layout == KeyLayout::hf
                ? std::vector<std::string>{"text_model.embeddings.position_ids", "vision_model.embeddings.position_ids"}
            : file == "tiny.wrapped.pt"
                ? std::vector<std::string>{"module.attn_mask", "module.context_length", "module.input_resolution",
                                           "module.vocab_size"}
                : std::vector<std::string>{"attn_mask", "context_length", "input_resolution", "vocab_size"};
        std::vector<std::string> ignored = w.ignored;
        std::sort(ignored.begin(), ignored.end());
        EXPECT_EQ(ignored, extras);
        for (const auto& [n, t] : w.tensors) {
            EXPECT_EQ(t.scalar_type(), at::kFloat) << n;
            EXPECT_FALSE(t.requires_grad()) << n;  // TorchScript parameters come with requires_grad set
        }
    }
    std::cout << "[ fingerprint ] " << fingerprint << " for all " << std::size(formats) << " files\n";
}

TEST(WeightsPython, EmbeddingsMatchPythonInEveryFormat) {
    REQUIRE_REFERENCE();
    const TensorMap ref = read_safetensors(reference_dir() + "reference.safetensors");
    const at::Tensor ids = ref.at("ids"), eot = ref.at("eot");
    EXPECT_TRUE(at::equal(find_eot(ids, 99), eot));  // first EOT = OpenAI's argmax here
    double worst = 0;
    for (const char* name : formats) {
        SCOPED_TRACE(name);
        const Clip model = load_clip(reference_dir() + name, at::kCPU, at::kFloat, openai_rules());
        const double di = max_abs_diff(encode_image(model, ref.at("pixels")), ref.at("image_features"));
        const double dt = max_abs_diff(encode_text_ids(model, ids, eot), ref.at("text_features"));
        EXPECT_LT(di, 1e-5);
        EXPECT_LT(dt, 1e-5);
        worst = std::max({worst, di, dt});
    }
    std::cout << "[ tiny CLIP ] max |C++ - Python| over 6 files, both towers: " << worst << "\n";
}

// dcar's convolutional stem: sizes inferred from the file, image features equal to PyTorch's, and visual
// prompts still reach the output (they enter after conv1, whatever made the patch tokens).
TEST(WeightsPython, ConvolutionalStemLoadsAndMatchesPython) {
    REQUIRE_REFERENCE();
    const TensorMap ref = read_safetensors(reference_dir() + "reference.safetensors");
    const TensorMap stem_ref = read_safetensors(reference_dir() + "stem_reference.safetensors");
    const Clip model = load_clip(reference_dir() + "tiny.stem.safetensors", at::kCPU, at::kFloat, openai_rules());
    EXPECT_EQ(model.config.stem_channels, (std::vector<int64_t>{16, 32}));
    EXPECT_EQ(model.config.patch_size, 8);
    EXPECT_EQ(model.config.image_resolution, 32);
    EXPECT_EQ(model.config.describe().rfind("vit stem16-32 patch8 32px", 0), 0u) << model.config.describe();
    const double d = max_abs_diff(encode_image(model, ref.at("pixels")), stem_ref.at("image_features"));
    EXPECT_LT(d, 1e-5);
    std::cout << "[ stem ] max |C++ - Python|: " << d << "\n";
    // The plain model's features differ: the stem is used.
    EXPECT_GT(max_abs_diff(encode_image(load_clip(reference_dir() + "tiny.safetensors", at::kCPU, at::kFloat, openai_rules()),
                                        ref.at("pixels")),
                           stem_ref.at("image_features")), 1e-2);
    VisualPrompts prompts;
    prompts.layers = {at::randn({2, model.config.vision_width}), at::randn({2, model.config.vision_width})};
    const at::Tensor prompted = encode_image(model, ref.at("pixels"), &prompts);
    EXPECT_EQ(prompted.sizes(), stem_ref.at("image_features").sizes());
    EXPECT_GT(max_abs_diff(prompted, stem_ref.at("image_features")), 1e-4);

    // A stem layer whose input channels do not chain is refused, naming the tensor.
    TensorMap broken = read_safetensors(reference_dir() + "tiny.stem.safetensors");
    broken["visual.stem.1.weight"] = at::zeros({32, 8, 3, 3});
    const std::string path = reference_dir() + "broken-stem.safetensors";
    write_safetensors(path, broken);
    try {
        load_clip(path, at::kCPU, at::kFloat, openai_rules());
        ADD_FAILURE() << "a broken stem loaded";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("visual.stem.1.weight has shape [32, 8, 3, 3], expected [channels, 16, 3, 3]"),
                  std::string::npos) << e.what();
    }
}

TEST(WeightsPython, HfAndOpenAiLayoutsGiveIdenticalEmbeddings) {
    REQUIRE_REFERENCE();
    const TensorMap ref = read_safetensors(reference_dir() + "reference.safetensors");
    const Clip openai = load_clip(reference_dir() + "tiny.safetensors", at::kCPU, at::kFloat, openai_rules());
    const Clip hf = load_clip(reference_dir() + "tiny.hf.safetensors", at::kCPU, at::kFloat, openai_rules());
    EXPECT_TRUE(at::equal(encode_image(openai, ref.at("pixels")), encode_image(hf, ref.at("pixels"))));
    EXPECT_TRUE(at::equal(encode_text_ids(openai, ref.at("ids"), ref.at("eot")),
                          encode_text_ids(hf, ref.at("ids"), ref.at("eot"))));
}

// open_clip's variants: exact GELU and a head width of 32, read from an open_clip hub directory and from a
// Hugging Face one; both must embed as PyTorch does, and any other reading must be refused or fingerprinted
// apart.
TEST(WeightsPython, GeluAndOtherHeadWidthsFromTheirConfigs) {
    REQUIRE_REFERENCE();
    const TensorMap ref = read_safetensors(reference_dir() + "reference.safetensors");
    const TensorMap gelu_ref = read_safetensors(reference_dir() + "gelu_reference.safetensors");
    const std::string open_clip_dir = reference_dir() + "gelu.open_clip", hf_dir = reference_dir() + "gelu.hf";
    const LoadedWeights from_open_clip = load_weights(open_clip_dir), from_hf = load_weights(hf_dir);
    for (const LoadedWeights* w : {&from_open_clip, &from_hf}) {
        EXPECT_EQ(w->config.activation, Activation::gelu);
        EXPECT_EQ(w->config.vision_heads, 6);
        EXPECT_EQ(w->config.text_heads, 4);
        EXPECT_EQ(w->config.describe().substr(w->config.describe().size() - 6), "; gelu");
    }
    EXPECT_EQ(from_open_clip.architecture_source, "open_clip config " + open_clip_dir + "/open_clip_config.json");
    EXPECT_EQ(from_hf.architecture_source, "Hugging Face config " + hf_dir + "/config.json");
    EXPECT_EQ(from_open_clip.fingerprint, from_hf.fingerprint);
    EXPECT_NE(from_open_clip.fingerprint, weights_fingerprint(from_open_clip.tensors));
    for (const std::string& dir : {open_clip_dir, hf_dir}) {
        SCOPED_TRACE(dir);
        const Clip model = load_clip(dir);
        const at::Tensor image = encode_image(model, ref.at("pixels"));
        const at::Tensor text = encode_text_ids(model, ref.at("ids"), ref.at("eot"));
        EXPECT_LT(max_abs_diff(image, gelu_ref.at("image_features")), 1e-5);
        EXPECT_LT(max_abs_diff(text, gelu_ref.at("text_features")), 1e-5);
        EXPECT_GT(at::cosine_similarity(image, gelu_ref.at("image_features"), 1).min().item<double>(), 0.9999);
        EXPECT_GT(at::cosine_similarity(text, gelu_ref.at("text_features"), 1).min().item<double>(), 0.9999);
    }
    // The weights file alone, away from its config, is refused; read with OpenAI's rules it is another model
    // (QuickGELU, 3 and 2 heads), with another fingerprint and other embeddings.
    const std::string alone = temp_dir() + "gelu-alone.safetensors";
    fs::copy_file(open_clip_dir + "/open_clip_model.safetensors", alone, fs::copy_options::overwrite_existing);
    try {
        load_weights(alone);
        ADD_FAILURE() << "a GELU model without its config loaded";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("cannot tell the model's architecture"), std::string::npos) << e.what();
    }
    const Clip wrong = load_clip(alone, at::kCPU, at::kFloat, openai_rules());
    EXPECT_NE(wrong.fingerprint, from_open_clip.fingerprint);
    EXPECT_GT(max_abs_diff(encode_image(wrong, ref.at("pixels")), gelu_ref.at("image_features")), 1e-3);
    // --arch wins over the config: GELU with head width 32 read by --arch gives the config's model exactly.
    LoadOptions explicit_arch;
    explicit_arch.arch = "activation=gelu,head-width=32";
    EXPECT_EQ(load_weights(alone, explicit_arch).fingerprint, from_open_clip.fingerprint);
    // A preset whose sizes the weights contradict is refused, naming both.
    LoadOptions preset;
    preset.arch = "ViT-B-32";
    expect_error([&] { load_weights(open_clip_dir, preset); }, ErrorCode::model,
                 open_clip_dir + "/open_clip_model.safetensors: --arch ViT-B-32 says embedding width 512, the weights have 32");
}

TEST(WeightsPython, StoredDtypeIsKeptByTheRawReader) {
    REQUIRE_REFERENCE();
    WeightFormat format;
    const TensorMap jit = read_tensor_file(reference_dir() + "tiny.jit.pt", &format);
    EXPECT_EQ(format, WeightFormat::torchscript);
    EXPECT_EQ(jit.at("visual.proj").scalar_type(), at::kHalf);
    EXPECT_EQ(jit.at("vocab_size").scalar_type(), at::kLong);
    const TensorMap f16 = read_tensor_file(reference_dir() + "tiny.f16.safetensors", &format);
    EXPECT_EQ(format, WeightFormat::safetensors);
    EXPECT_EQ(f16.at("token_embedding.weight").scalar_type(), at::kHalf);
}

TEST(WeightsPython, TorchSaveViewsAndRefusals) {
    REQUIRE_REFERENCE();
    WeightFormat format;
    const TensorMap views = read_tensor_file(reference_dir() + "views.pt", &format);
    EXPECT_EQ(format, WeightFormat::torch_pickle);
    EXPECT_TRUE(at::equal(views.at("base"), at::arange(12, at::kFloat).view({3, 4})));
    EXPECT_TRUE(at::equal(views.at("view"), at::tensor({4.f, 6.f, 8.f, 10.f}).view({2, 2})));
    const std::string list = reference_dir() + "list.pt", object = reference_dir() + "object.pt";
    expect_error([&] { read_tensor_file(list); }, ErrorCode::format,
                 list + ": torch.save file holds a list, not a state dict");
    expect_error(
        [&] { read_tensor_file(object); }, ErrorCode::format,
        object + ": torch.save file: cannot load a fractions.Fraction object (dcar reads state dicts of tensors)");
    const std::string cycle = reference_dir() + "cycle.pt";
    expect_error([&] { read_tensor_file(cycle); }, ErrorCode::format,
                 cycle + ": torch.save \"state_dict\" wrappers nest too deeply");
}

TEST(WeightsPython, HfErrorsUseHfNames) {
    REQUIRE_REFERENCE();
    TensorMap hf = read_safetensors(reference_dir() + "tiny.hf.safetensors");
    const std::string path = temp_dir() + "hf-broken.safetensors";
    TensorMap missing = hf;
    missing.erase("vision_model.encoder.layers.1.self_attn.k_proj.bias");
    write_safetensors(path, missing);
    expect_error([&] { load_weights(path); }, ErrorCode::model,
                 path + ": missing tensor vision_model.encoder.layers.1.self_attn.k_proj.bias (expected shape [192])");
    TensorMap shaped = hf;
    shaped["visual_projection.weight"] = at::zeros({31, 192});  // HF stores [embed, width]
    write_safetensors(path, shaped);
    expect_error([&] { load_weights(path); }, ErrorCode::model,
                 path + ": tensor visual_projection.weight has shape [31, 192], expected [32, 192]");
}

// ---- errors on files written here ------------------------------------------------------------------------------

std::string write_tiny(const std::string& name, const std::function<void(TensorMap&)>& edit) {
    TensorMap t = fixture_weights(tiny_config(), 11);
    edit(t);
    const std::string path = temp_dir() + name;
    write_safetensors(path, t, clip_metadata(tiny_config()));
    return path;
}

TEST(WeightsErrors, MissingTensor) {
    const std::string path = write_tiny("missing.safetensors", [](TensorMap& t) { t.erase("visual.ln_post.bias"); });
    expect_error([&] { load_weights(path); }, ErrorCode::model,
                 path + ": missing tensor visual.ln_post.bias (expected shape [192])");
}

TEST(WeightsErrors, WrongShape) {
    const std::string path = write_tiny("shape.safetensors", [](TensorMap& t) {
        t["transformer.resblocks.1.mlp.c_fc.weight"] = at::zeros({512, 127});
    });
    expect_error([&] { load_weights(path); }, ErrorCode::model,
                 path + ": tensor transformer.resblocks.1.mlp.c_fc.weight has shape [512, 127], expected [512, 128]");
}

TEST(WeightsErrors, NonFiniteWeightsAreRefusedByName) {
    for (const double bad : {std::nan(""), HUGE_VAL}) {
        const std::string path = write_tiny("nan.safetensors", [&](TensorMap& t) {
            t["visual.proj"] = t["visual.proj"].clone();
            t["visual.proj"][1][2] = bad;
        });
        expect_error([&] { load_weights(path); }, ErrorCode::model,
                     path + ": tensor 'visual.proj' holds a NaN or an infinity");
    }
}

TEST(WeightsErrors, UnexpectedTensorAndProblemCount) {
    const std::string path = write_tiny("extra.safetensors", [](TensorMap& t) {
        t["visual.extra"] = at::zeros({3});
        t.erase("ln_final.bias");
        t.erase("visual.transformer.resblocks.0.ln_2.weight");
    });
    expect_error([&] { load_weights(path); }, ErrorCode::model,
                 path +
                     ": missing tensor visual.transformer.resblocks.0.ln_2.weight (expected shape [192]) "
                     "(and 2 more problems)");
    const std::string one = write_tiny("extra1.safetensors", [](TensorMap& t) { t["visual.extra"] = at::zeros({3}); });
    expect_error([&] { load_weights(one); }, ErrorCode::model, one + ": unexpected tensor visual.extra with shape [3]");
}

TEST(WeightsErrors, CoreTensorMissingBeforeConfig) {
    const std::string path = write_tiny("noproj.safetensors", [](TensorMap& t) { t.erase("text_projection"); });
    expect_error([&] { load_weights(path); }, ErrorCode::model,
                 path + ": missing tensor text_projection (needed to infer the model's sizes)");
}

TEST(WeightsErrors, HeadsNeedWidthMultipleOfTheHeadWidthOrAnOverride) {
    ClipConfig c = tiny_config();
    c.vision_width = 96;
    c.vision_mlp_width = 384;
    const TensorMap t = fixture_weights(c, 3);
    expect_error([&] { weights_from_tensors(t, "odd", openai_rules()); }, ErrorCode::model,
                 "odd: vision width 96 is not a multiple of head width 64 (--arch openai); give the heads explicitly");
    LoadOptions options = openai_rules();
    options.vision_heads = 2;
    EXPECT_EQ(weights_from_tensors(t, "odd", options).config.vision_heads, 2);
}

// Nothing states the activation and heads: refused, saying what to pass; heads alone are not enough.
TEST(WeightsErrors, AnArchitectureNothingStatesIsRefused) {
    const TensorMap t = fixture_weights(tiny_config(), 3);
    const std::string message =
        "plain.safetensors: cannot tell the model's architecture: the weights do not show the MLP activation "
        "(QuickGELU or GELU) nor the attention heads. Pass --arch (ViT-B-32-quickgelu for OpenAI's ViT-B/32 "
        "weights, ViT-B-32 for open_clip's GELU ones, likewise for other sizes; openai or open_clip for those "
        "rules at any size), or put the model's open_clip_config.json or Hugging Face config.json beside it";
    expect_error([&] { weights_from_tensors(t, "plain.safetensors"); }, ErrorCode::model, message);
    LoadOptions heads_only;
    heads_only.vision_heads = 3;
    heads_only.text_heads = 2;
    expect_error([&] { weights_from_tensors(t, "plain.safetensors", heads_only); }, ErrorCode::model, message);
    const std::string path = temp_dir() + "bare.safetensors";
    write_safetensors(path, t);
    expect_error([&] { load_weights(path); }, ErrorCode::model,
                 message.substr(0, 0) + path + message.substr(std::string("plain.safetensors").size()));
    // dcar's own files say it, in the metadata dcar-tune writes.
    write_safetensors(path, t, clip_metadata(tiny_config()));
    const LoadedWeights w = load_weights(path);
    EXPECT_EQ(w.config, tiny_config());
    EXPECT_EQ(w.architecture_source, "dcar.architecture in " + path);
    EXPECT_EQ(w.fingerprint, weights_fingerprint(w.tensors));  // OpenAI's reading keeps the weights' fingerprint
}

TEST(WeightsErrors, ResNetTowersAreRefused) {
    TensorMap t = fixture_weights(tiny_config(), 2);
    t["visual.layer1.0.conv1.weight"] = at::zeros({1});
    expect_error([&] { weights_from_tensors(t, "rn50.pt"); }, ErrorCode::model,
                 "rn50.pt: ResNet image towers (RN50 and kin) are not supported; only ViT CLIP models are");
}

TEST(WeightsErrors, NotAWeightsFile) {
    const std::string path = temp_dir() + "text.bin";
    write_file(path, "hello, this is not a checkpoint");
    expect_error([&] { load_weights(path); }, ErrorCode::format,
                 path + ": not a TorchScript archive, torch.save zip or safetensors file");
    write_file(path, std::string("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8", 12));
    expect_error([&] { load_weights(path); }, ErrorCode::format,
                 path +
                     ": legacy (pre-1.6, non-zip) torch.save file; re-save it with a current torch.save or as "
                     "safetensors");
    expect_error([&] { load_weights(temp_dir() + "absent.pt"); }, ErrorCode::io,
                 temp_dir() + "absent.pt: cannot open: No such file or directory");
}

// ---- the loader's own rules --------------------------------------------------------------------------------

TEST(WeightsRules, WrappersAndIgnoredNames) {
    TensorMap t = fixture_weights(tiny_config(), 5);
    const std::string fp = weights_from_tensors(t, "plain", openai_rules()).fingerprint;
    TensorMap wrapped;
    for (const auto& [n, v] : t) wrapped["module." + n] = v;
    wrapped["module.attn_mask"] = at::zeros({16, 16});
    wrapped["module.transformer.resblocks.0.attn_mask"] = at::zeros({16, 16});
    const LoadedWeights w = weights_from_tensors(wrapped, "wrapped", openai_rules());
    EXPECT_EQ(w.fingerprint, fp);
    EXPECT_EQ(w.ignored.size(), 2u);
    EXPECT_TRUE(is_ignored_tensor_name("vocab_size", KeyLayout::openai));
    EXPECT_TRUE(is_ignored_tensor_name("vision_model.embeddings.position_ids", KeyLayout::hf));
    EXPECT_FALSE(is_ignored_tensor_name("position_ids", KeyLayout::openai));
}

// Released models' sizes come back from their shapes alone. The tensors are expanded scalars, so even
// ViT-L/14 costs no memory here.
TEST(WeightsRules, ConfigsOfReleasedModelsAreInferred) {
    auto config = [](int64_t patch, int64_t res, int64_t vw, int64_t vl, int64_t tw, int64_t embed) {
        ClipConfig c;
        c.embed_dim = embed;
        c.image_resolution = res;
        c.patch_size = patch;
        c.vision_width = vw;
        c.vision_layers = vl;
        c.vision_heads = vw / 64;
        c.vision_mlp_width = 4 * vw;
        c.context_length = 77;
        c.vocab_size = 49408;
        c.text_width = tw;
        c.text_layers = 12;
        c.text_heads = tw / 64;
        c.text_mlp_width = 4 * tw;
        return c;
    };
    const std::pair<const char*, ClipConfig> models[] = {
        {"ViT-B/32", config(32, 224, 768, 12, 512, 512)},
        {"ViT-B/16", config(16, 224, 768, 12, 512, 512)},
        {"ViT-L/14", config(14, 224, 1024, 24, 768, 768)},
        {"ViT-L/14@336px", config(14, 336, 1024, 24, 768, 768)},
    };
    for (const auto& [name, expected] : models) {
        TensorMap shapes;
        for (const auto& spec : clip_tensor_specs(expected)) shapes[spec.name] = at::zeros({}).expand(spec.shape);
        shapes["input_resolution"] = at::zeros({}, at::kLong);
        LoadOptions as_named;
        as_named.arch = name;  // OpenAI's own model names are presets
        const ClipConfig got = inspect_weights(shapes, name, as_named);
        EXPECT_EQ(got, expected) << name << ": " << got.describe();
    }
    EXPECT_EQ(models[2].second.vision_heads, 16);
    EXPECT_EQ(models[2].second.text_heads, 12);
}

TEST(WeightsRules, FingerprintSeesValuesNamesAndDtypeNot) {
    const TensorMap t = fixture_weights(tiny_config(), 5);
    const std::string fp = weights_fingerprint(t);
    EXPECT_EQ(fp, weights_fingerprint(t));
    TensorMap nudged = t;
    nudged["visual.proj"] = t.at("visual.proj").clone();
    nudged["visual.proj"][3][4] = std::nextafter(nudged["visual.proj"][3][4].item<float>(), 10.f);
    EXPECT_NE(weights_fingerprint(nudged), fp);
    TensorMap as_double;
    for (const auto& [n, v] : t) as_double[n] = v.to(at::kDouble);
    EXPECT_EQ(weights_fingerprint(as_double), fp);  // values, not storage
    TensorMap renamed = t;
    renamed["zz"] = renamed.at("logit_scale");
    renamed.erase("logit_scale");
    EXPECT_NE(weights_fingerprint(renamed), fp);
}

TEST(WeightsRules, LoadClipCastsOnce) {
    const std::string path = write_tiny("ok.safetensors", [](TensorMap&) {});
    const Clip model = load_clip(path, at::kCPU, at::kBFloat16);
    EXPECT_EQ(model.dtype(), at::kBFloat16);
    EXPECT_EQ(model.fingerprint, load_weights(path).fingerprint);
    EXPECT_EQ(model.config, tiny_config());
}

// ---- safetensors ---------------------------------------------------------------------------------------------

TEST(WeightsSafetensors, RoundTripEveryDtype) {
    TensorMap t;
    t["a_f64"] = at::arange(6, at::kDouble).view({2, 3}) / 3;
    t["b_f32"] = at::randn({4});
    t["c_f16"] = at::randn({3, 1}).to(at::kHalf);
    t["d_bf16"] = at::randn({5}).to(at::kBFloat16);
    t["e_i64"] = at::tensor(std::vector<int64_t>{-1, int64_t{1} << 40}, at::kLong);
    t["f_i32"] = at::tensor({7}, at::kInt);
    t["g_i16"] = at::tensor({-3}, at::kShort);
    t["h_i8"] = at::tensor({-2}, at::kChar);
    t["i_u8"] = at::tensor({200}, at::kByte);
    t["j_bool"] = at::tensor({1, 0}).to(at::kBool);
    t["k_scalar"] = at::full({}, 2.5);
    t["l_empty"] = at::zeros({0, 3});
    const std::string path = temp_dir() + "all.safetensors";
    write_safetensors(path, t, {{"format", "pt"}});
    SafetensorsMetadata meta;
    const TensorMap back = read_safetensors(path, &meta);
    EXPECT_EQ(meta, (SafetensorsMetadata{{"format", "pt"}}));
    ASSERT_EQ(back.size(), t.size());
    for (const auto& [n, v] : t) {
        SCOPED_TRACE(n);
        EXPECT_EQ(back.at(n).scalar_type(), v.scalar_type());
        EXPECT_TRUE(at::equal(back.at(n), v));
    }
    const std::string bytes = read_file(path);
    uint64_t header = 0;
    std::memcpy(&header, bytes.data(), 8);
    EXPECT_EQ(header % 8, 0u);  // padded so data starts 8-byte aligned
}

// A two-tensor file built byte by byte: "a" F32 [2] at [0, 8), "b" I64 [1] at [8, 16).
std::string hand_file(const std::string& header_json, size_t data_bytes = 16) {
    std::string out(8, '\0');
    for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((header_json.size() >> (8 * i)) & 0xff);
    out += header_json;
    for (size_t i = 0; i < data_bytes; ++i) out += static_cast<char>(i);
    return out;
}

const std::string good_header =
    R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"I64","shape":[1],"data_offsets":[8,16]}})";

TEST(WeightsSafetensors, HandBuiltFileParses) {
    const TensorMap t = parse_safetensors(hand_file(good_header), "mem");
    EXPECT_EQ(t.at("b").item<int64_t>(), 0x0f0e0d0c0b0a0908LL);
}

TEST(WeightsSafetensors, TruncatedFiles) {
    const std::string full = hand_file(good_header);
    const std::string path = temp_dir() + "cut.safetensors";
    write_file(path, full.substr(0, 5));
    expect_error([&] { read_safetensors(path); }, ErrorCode::format,
                 path + ": truncated safetensors file: 5 bytes, too short for the 8-byte header length");
    write_file(path, full.substr(0, 50));
    expect_error([&] { read_safetensors(path); }, ErrorCode::format,
                 path + ": truncated safetensors file: the header claims " + std::to_string(good_header.size()) +
                     " bytes but only 42 follow the length field");
    write_file(path, full.substr(0, full.size() - 3));
    expect_error([&] { read_safetensors(path); }, ErrorCode::format,
                 path +
                     ": safetensors tensor 'b': bytes [8, 16) lie outside the data section (13 bytes; truncated "
                     "file?)");
    // load_weights sniffs the format first and reports the same.
    expect_error([&] { load_weights(path); }, ErrorCode::format,
                 path +
                     ": safetensors tensor 'b': bytes [8, 16) lie outside the data section (13 bytes; truncated "
                     "file?)");
}

TEST(WeightsSafetensors, CorruptHeaders) {
    auto error_of = [](const std::string& header, size_t data = 16) {
        try {
            parse_safetensors(hand_file(header, data), "f");
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), ErrorCode::format);
            return std::string(e.what());
        }
        return std::string("no error");
    };
    EXPECT_EQ(
        error_of(
            R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"I64","shape":[1],"data_offsets":[4,12]}})",
            12),
        "f: safetensors tensors 'a' and 'b' overlap (bytes [0, 8) and [4, 12))");
    EXPECT_EQ(error_of(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})"),
              "f: safetensors data section bytes [8, 16) belong to no tensor");
    EXPECT_EQ(
        error_of(
            R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]},"b":{"dtype":"I64","shape":[1],"data_offsets":[8,16]}})"),
        "f: safetensors tensor 'a': holds 8 bytes but F32 [3] needs 12");
    EXPECT_EQ(error_of(R"({"a":{"dtype":"F8_E4M3","shape":[8],"data_offsets":[0,8]}})"),
              "f: safetensors tensor 'a': unsupported dtype 'F8_E4M3'");
    EXPECT_EQ(error_of(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})"),
              "f: safetensors tensor 'a': shape is not a list of non-negative integers");
    EXPECT_EQ(error_of(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})"),
              "f: safetensors tensor 'a': data_offsets is not a pair of integers [begin, end] with begin <= end");
    EXPECT_EQ(error_of(R"([1, 2])"), "f: safetensors header is not a JSON object");
    EXPECT_EQ(error_of(R"({"__metadata__":{"n":1}})", 0), "f: safetensors __metadata__ entry 'n' is not a string");
    const std::string bad_json = error_of(R"({"a":{"dtype":"F32",)");
    EXPECT_EQ(bad_json.rfind("f: safetensors header is not valid JSON: [json.exception.parse_error.101]", 0), 0u)
        << bad_json;
    std::string huge(8, '\0');
    huge[7] = 1;  // 2^56-byte header
    try {
        parse_safetensors(huge + "{}", "f");
        ADD_FAILURE();
    } catch (const Error& e) {
        EXPECT_EQ(std::string(e.what()), "f: safetensors header length 72057594037927936 is implausibly large");
    }
}

}  // namespace
}  // namespace dcar::model
