// What the weights cannot show (lib/model/architecture): --arch presets and key=value lists, and the
// activation and heads read from open_clip's and Hugging Face's config files, including what is refused.
#include <gtest/gtest.h>

#include <string>

#include "core/error.hpp"
#include "model/architecture.hpp"

namespace dcar::model {
namespace {

std::string error_of(const std::function<void()>& f, ErrorCode* code = nullptr) {
    try {
        f();
    } catch (const Error& e) {
        if (code) *code = e.code();
        return e.what();
    }
    return "";
}

TEST(Architecture, PresetsFixActivationHeadsAndSizes) {
    const Architecture b32 = parse_architecture("ViT-B-32");
    EXPECT_EQ(b32.activation, Activation::gelu);
    EXPECT_EQ(b32.heads_for_vision(b32.vision_width), 12);
    EXPECT_EQ(b32.heads_for_text(b32.text_width), 8);
    EXPECT_EQ(b32.patch_size, 32);
    EXPECT_EQ(b32.embed_dim, 512);
    EXPECT_EQ(parse_architecture("ViT-B-32-quickgelu").activation, Activation::quick_gelu);
    // OpenAI's names are its QuickGELU models.
    const Architecture l336 = parse_architecture("ViT-L/14@336px");
    EXPECT_EQ(l336.activation, Activation::quick_gelu);
    EXPECT_EQ(l336.image_resolution, 336);
    EXPECT_EQ(l336.heads_for_vision(1024), 16);
    EXPECT_EQ(l336.heads_for_text(768), 12);
    // The large open_clip models break width / 64.
    const Architecture h = parse_architecture("ViT-H-14"), g = parse_architecture("ViT-g-14"),
                       big = parse_architecture("ViT-bigG-14");
    EXPECT_EQ(h.heads_for_vision(1280), 16);
    EXPECT_EQ(h.heads_for_text(1024), 16);
    EXPECT_EQ(g.heads_for_vision(1408), 16);
    EXPECT_EQ(g.vision_mlp_width, 6144);
    EXPECT_EQ(big.heads_for_vision(1664), 16);
    EXPECT_EQ(big.heads_for_text(1280), 20);
    EXPECT_EQ(big.vision_mlp_width, 8192);
    for (const std::string& name : architecture_presets()) EXPECT_TRUE(parse_architecture(name).activation) << name;
    // The generic rules fix only the activation and the head width.
    const Architecture openai = parse_architecture("openai");
    EXPECT_EQ(openai.activation, Activation::quick_gelu);
    EXPECT_EQ(openai.heads_for_vision(192), 3);
    EXPECT_EQ(openai.vision_width, 0);
    EXPECT_EQ(openai.heads_for_vision(100), 0);  // not a multiple: unknown
    EXPECT_EQ(parse_architecture("open_clip").activation, Activation::gelu);
}

TEST(Architecture, KeyValueListsAndTheSpellingDcarWrites) {
    const Architecture a = parse_architecture("activation=gelu,vision-heads=6,text-heads=4");
    EXPECT_EQ(a.activation, Activation::gelu);
    EXPECT_EQ(a.heads_for_vision(192), 6);
    EXPECT_EQ(a.heads_for_text(128), 4);
    EXPECT_EQ(architecture_spec(Activation::gelu, 6, 4), "activation=gelu,vision-heads=6,text-heads=4");
    const Architecture round = parse_architecture(architecture_spec(Activation::quick_gelu, 3, 2));
    EXPECT_EQ(round.activation, Activation::quick_gelu);
    EXPECT_EQ(round.heads_for_vision(192), 3);
    // A preset with overrides.
    const Architecture over = parse_architecture("ViT-B-32,activation=quick-gelu,head-width=32");
    EXPECT_EQ(over.activation, Activation::quick_gelu);
    EXPECT_EQ(over.heads_for_vision(768), 24);
    EXPECT_EQ(over.heads_for_text(512), 16);
    EXPECT_EQ(over.vision_width, 768);
    ErrorCode code{};
    EXPECT_NE(error_of([] { parse_architecture("ViT-Q-99"); }, &code).find("unknown architecture 'ViT-Q-99'; give one of ViT-B-32, ViT-B-32-quickgelu"),
              std::string::npos);
    EXPECT_EQ(code, ErrorCode::usage);
    EXPECT_EQ(error_of([] { parse_architecture("activation=relu"); }), "--arch: activation must be gelu or quick-gelu, not 'relu'");
    EXPECT_EQ(error_of([] { parse_architecture("head-width=0"); }), "--arch: head-width must be a positive whole number, not '0'");
    EXPECT_NE(error_of([] { parse_architecture("depth=3"); }).find("unknown key 'depth'"), std::string::npos);
    EXPECT_NE(error_of([] { parse_architecture("activation=gelu,ViT-B-32"); }).find("unknown architecture"), std::string::npos);
}

TEST(Architecture, OpenClipConfigs) {
    // A model config as open_clip keeps them, with quick_gelu, and the hub's wrapper of it.
    const std::string model = R"({"embed_dim": 1024, "quick_gelu": true,
        "vision_cfg": {"image_size": 224, "layers": 32, "width": 1280, "head_width": 80, "patch_size": 14},
        "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 1024, "heads": 16, "layers": 24}})";
    for (const std::string& text : {model, R"({"model_cfg": )" + model + R"(, "preprocess_cfg": {"mean": [0.5]}})"}) {
        const Architecture a = config_architecture(text, "cfg.json");
        EXPECT_EQ(a.activation, Activation::quick_gelu);
        EXPECT_EQ(a.heads_for_vision(1280), 16);
        EXPECT_EQ(a.heads_for_text(1024), 16);
        EXPECT_EQ(a.vision_layers, 32);
        EXPECT_EQ(a.vision_mlp_width, 5120);
        EXPECT_EQ(a.source, "open_clip config cfg.json");
    }
    // Without quick_gelu, open_clip builds nn.GELU; missing sizes take open_clip's defaults.
    const Architecture d = open_clip_architecture(R"({"embed_dim": 512, "vision_cfg": {"patch_size": 32}, "text_cfg": {}})", "d.json");
    EXPECT_EQ(d.activation, Activation::gelu);
    EXPECT_EQ(d.heads_for_vision(768), 12);
    EXPECT_EQ(d.heads_for_text(512), 8);
    // What dcar does not run is refused by key.
    ErrorCode code{};
    EXPECT_EQ(error_of([] { open_clip_architecture(R"({"vision_cfg": {"ls_init_value": 1e-5}, "text_cfg": {}})", "ls.json"); }, &code),
              "ls.json: vision_cfg.ls_init_value = 1e-05 is a model dcar cannot run (only null)");
    EXPECT_EQ(code, ErrorCode::model);
    EXPECT_EQ(error_of([] { open_clip_architecture(R"({"vision_cfg": {"timm_model_name": "convnext_base"}, "text_cfg": {}})", "t.json"); }),
              "t.json: vision_cfg.timm_model_name = \"convnext_base\" is a model dcar cannot run (only null)");
    EXPECT_EQ(error_of([] { open_clip_architecture(R"({"vision_cfg": {}, "text_cfg": {"hf_model_name": "xlm-roberta-base"}})", "x.json"); }),
              "x.json: text_cfg.hf_model_name = \"xlm-roberta-base\" is a model dcar cannot run (only null)");
    EXPECT_EQ(error_of([] { open_clip_architecture(R"({"vision_cfg": {"fancy": 1}, "text_cfg": {}})", "f.json"); }),
              "f.json: unknown key vision_cfg.fancy: dcar cannot tell whether it changes the model");
    // Harmless keys and "off" values pass.
    EXPECT_NO_THROW(open_clip_architecture(
        R"({"vision_cfg": {"patch_dropout": 0.5, "ls_init_value": null, "pool_type": "tok"}, "text_cfg": {"pool_type": "argmax"}})", "ok.json"));
    EXPECT_EQ(error_of([] { open_clip_architecture("[1, 2]", "a.json"); }, &code), "a.json: not a JSON object");
    EXPECT_EQ(code, ErrorCode::format);
    EXPECT_EQ(error_of([] { config_architecture(R"({"hello": 1})", "h.json"); }),
              "h.json: neither an open_clip nor a Hugging Face CLIP config");
    EXPECT_EQ(error_of([] { open_clip_architecture(R"({"vision_cfg": {"width": 100}, "text_cfg": {}})", "w.json"); }),
              "w.json: vision_cfg.width 100 is not a multiple of head_width 64");
}

TEST(Architecture, HuggingFaceConfigs) {
    const Architecture a = config_architecture(R"({"model_type": "clip", "projection_dim": 1024,
        "text_config": {"hidden_act": "gelu", "hidden_size": 1024, "num_attention_heads": 16, "num_hidden_layers": 24},
        "vision_config": {"hidden_act": "gelu", "hidden_size": 1280, "num_attention_heads": 16, "num_hidden_layers": 32,
                          "patch_size": 14, "intermediate_size": 5120}})", "config.json");
    EXPECT_EQ(a.activation, Activation::gelu);
    EXPECT_EQ(a.heads_for_vision(1280), 16);
    EXPECT_EQ(a.heads_for_text(1024), 16);
    EXPECT_EQ(a.embed_dim, 1024);
    EXPECT_EQ(a.source, "Hugging Face config config.json");
    // Missing keys take Hugging Face's defaults: QuickGELU, 12 and 8 heads, ViT-B/32's sizes.
    const Architecture d = hf_architecture(R"({"text_config": {}, "vision_config": {}})", "c.json");
    EXPECT_EQ(d.activation, Activation::quick_gelu);
    EXPECT_EQ(d.heads_for_vision(768), 12);
    EXPECT_EQ(d.heads_for_text(512), 8);
    EXPECT_EQ(d.patch_size, 32);
    EXPECT_EQ(error_of([] { hf_architecture(R"({"text_config": {"hidden_act": "gelu"}, "vision_config": {}})", "m.json"); }),
              "m.json: the towers use different activations; dcar runs one for both");
    EXPECT_EQ(error_of([] { hf_architecture(R"({"model_type": "siglip", "text_config": {}, "vision_config": {}})", "s.json"); }),
              "s.json: model_type \"siglip\" is not a CLIP model dcar can run (only \"clip\")");
    EXPECT_EQ(error_of([] { hf_architecture(R"({"text_config": {"layer_norm_eps": 1e-6}, "vision_config": {}})", "e.json"); }),
              "e.json: text_config.layer_norm_eps is not 1e-05, which dcar uses");
    EXPECT_EQ(error_of([] { hf_architecture(R"({"text_config": {"hidden_act": "relu"}, "vision_config": {"hidden_act": "relu"}})", "r.json"); }),
              "r.json: vision_config.hidden_act \"relu\" is not an activation dcar runs (gelu or quick_gelu)");
    EXPECT_EQ(error_of([] { hf_architecture(R"({"text_config": {"num_attention_heads": -1}, "vision_config": {}})", "n.json"); }),
              "n.json: text_config.num_attention_heads must be a positive whole number");
}

}  // namespace
}  // namespace dcar::model
