#include "model/architecture.hpp"

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/enum_words.hpp"
#include "core/error.hpp"
#include "core/text.hpp"

namespace dcar::model {

namespace {

// HF's config spells QuickGELU quick_gelu; open_clip's model names quickgelu.
const EnumWord<Activation> activation_words[] = {{Activation::gelu, "gelu"},
                                                 {Activation::quick_gelu, "quick-gelu"},
                                                 {Activation::quick_gelu, "quick_gelu"},
                                                 {Activation::quick_gelu, "quickgelu"}};

}  // namespace

namespace {

using Json = nlohmann::json;

// OpenAI's and open_clip's ViT CLIPs (sizes as their model configs state them). "-quickgelu" is the same
// model with OpenAI's activation: OpenAI's own weights, and open_clip's that were trained with it.
struct Preset {
    const char* name;
    int64_t embed, image, patch, vision_width, vision_layers, vision_head_width, vision_mlp, text_width,
        text_layers, text_heads;
};
constexpr Preset presets[] = {
    {"ViT-B-32", 512, 224, 32, 768, 12, 64, 3072, 512, 12, 8},
    {"ViT-B-16", 512, 224, 16, 768, 12, 64, 3072, 512, 12, 8},
    {"ViT-B-16-plus-240", 640, 240, 16, 896, 12, 64, 3584, 640, 12, 10},
    {"ViT-L-14", 768, 224, 14, 1024, 24, 64, 4096, 768, 12, 12},
    {"ViT-L-14-336", 768, 336, 14, 1024, 24, 64, 4096, 768, 12, 12},
    {"ViT-H-14", 1024, 224, 14, 1280, 32, 80, 5120, 1024, 24, 16},
    {"ViT-g-14", 1024, 224, 14, 1408, 40, 88, 6144, 1024, 24, 16},
    {"ViT-bigG-14", 1280, 224, 14, 1664, 48, 104, 8192, 1280, 32, 20},
};
// OpenAI's names for its released ViTs (clip.available_models()).
const std::pair<const char*, const char*> openai_names[] = {
    {"ViT-B/32", "ViT-B-32-quickgelu"},
    {"ViT-B/16", "ViT-B-16-quickgelu"},
    {"ViT-L/14", "ViT-L-14-quickgelu"},
    {"ViT-L/14@336px", "ViT-L-14-336-quickgelu"},
};
const std::string quick_suffix = "-quickgelu";

[[noreturn]] void usage(const std::string& message) { throw Error(ErrorCode::usage, message); }
[[noreturn]] void fail(ErrorCode code, const std::string& place, const std::string& message) {
    throw Error(code, place + ": " + message);
}

Architecture from_preset(const Preset& p, bool quick) {
    Architecture a;
    a.activation = quick ? Activation::quick_gelu : Activation::gelu;
    a.embed_dim = p.embed;
    a.image_resolution = p.image;
    a.patch_size = p.patch;
    a.vision_width = p.vision_width;
    a.vision_layers = p.vision_layers;
    a.vision_head_width = p.vision_head_width;
    a.vision_mlp_width = p.vision_mlp;
    a.context_length = 77;
    a.vocab_size = 49408;
    a.text_width = p.text_width;
    a.text_layers = p.text_layers;
    a.text_heads = p.text_heads;
    a.text_mlp_width = 4 * p.text_width;
    return a;
}

bool find_preset(std::string name, Architecture* out) {
    for (const auto& [openai, ours] : openai_names)
        if (name == openai) name = ours;
    if (name == "openai" || name == "open_clip") {
        out->activation = name == "openai" ? Activation::quick_gelu : Activation::gelu;
        out->vision_head_width = out->text_head_width = 64;
        return true;
    }
    const bool quick = text::ends_with(name, quick_suffix);
    if (quick) name.resize(name.size() - quick_suffix.size());
    for (const Preset& p : presets)
        if (name == p.name) {
            *out = from_preset(p, quick);
            return true;
        }
    return false;
}

int64_t positive(const std::string& key, const std::string& value) {
    try {
        size_t used = 0;
        const long long v = std::stoll(value, &used);
        if (used == value.size() && v > 0 && v <= 1 << 16) return v;
    } catch (const std::exception&) {
    }
    usage("--arch: " + key + " must be a positive whole number, not '" + value + "'");
}

}  // namespace

const char* activation_name(Activation activation) { return enum_word(activation, activation_words); }

int64_t Architecture::heads_for_vision(int64_t width) const {
    if (vision_heads > 0) return vision_heads;
    return vision_head_width > 0 && width % vision_head_width == 0 ? width / vision_head_width : 0;
}
int64_t Architecture::heads_for_text(int64_t width) const {
    if (text_heads > 0) return text_heads;
    return text_head_width > 0 && width % text_head_width == 0 ? width / text_head_width : 0;
}

std::vector<std::string> architecture_presets() {
    std::vector<std::string> names;
    for (const Preset& p : presets) {
        names.emplace_back(p.name);
        names.emplace_back(std::string(p.name) + quick_suffix);
    }
    names.emplace_back("openai");
    names.emplace_back("open_clip");
    return names;
}

Architecture parse_architecture(const std::string& spec) {
    Architecture a;
    a.source = "--arch " + spec;
    const std::vector<std::string> items = text::split(spec, ',');
    for (size_t i = 0; i < items.size(); ++i) {
        const std::string& item = items[i];
        const size_t eq = item.find('=');
        if (eq == std::string::npos) {
            Architecture preset;
            if (i != 0 || !find_preset(item, &preset))
                usage("--arch: unknown architecture '" + item + "'; give one of " +
                      text::join(architecture_presets(), ", ") +
                      ", or key=value pairs (activation, head-width, vision-heads, text-heads)");
            preset.source = a.source;
            a = preset;
            continue;
        }
        const std::string key = item.substr(0, eq), value = item.substr(eq + 1);
        if (key == "activation") {
            const auto activation = find_enum(value, activation_words);
            if (!activation) usage("--arch: activation must be " + enum_word_list(activation_words) + ", not '" + value + "'");
            a.activation = *activation;
        } else if (key == "head-width") {
            a.vision_head_width = a.text_head_width = positive(key, value);
            a.vision_heads = a.text_heads = 0;
        } else if (key == "vision-head-width") {
            a.vision_head_width = positive(key, value);
            a.vision_heads = 0;
        } else if (key == "text-head-width") {
            a.text_head_width = positive(key, value);
            a.text_heads = 0;
        } else if (key == "vision-heads") {
            a.vision_heads = positive(key, value);
        } else if (key == "text-heads") {
            a.text_heads = positive(key, value);
        } else {
            usage("--arch: unknown key '" + key +
                  "' (known: activation, head-width, vision-heads, text-heads, vision-head-width, text-head-width)");
        }
    }
    if (items.empty()) usage("--arch: empty");
    return a;
}

std::string architecture_spec(Activation activation, int64_t vision_heads, int64_t text_heads) {
    return std::string("activation=") + activation_name(activation) + ",vision-heads=" + std::to_string(vision_heads) +
           ",text-heads=" + std::to_string(text_heads);
}

// ---- config files ---------------------------------------------------------------------------------------

namespace {

Json parse_object(const std::string& json_text, const std::string& place) {
    Json j = Json::parse(json_text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) fail(ErrorCode::format, place, "not a JSON object");
    return j;
}

// A value of an object that must be a positive integer when present; 0 when absent.
int64_t size_of(const Json& o, const char* key, const std::string& place, const std::string& where) {
    const auto it = o.find(key);
    if (it == o.end() || it->is_null()) return 0;
    if (!it->is_number_integer() || it->get<int64_t>() <= 0 || it->get<int64_t>() > (int64_t(1) << 24))
        fail(ErrorCode::format, place, where + key + " must be a positive whole number");
    return it->get<int64_t>();
}
// The same, with the config format's default when the key is absent.
int64_t size_or(const Json& o, const char* key, int64_t fallback, const std::string& place, const std::string& where) {
    const int64_t v = size_of(o, key, place, where);
    return v ? v : fallback;
}
double number_of(const Json& o, const char* key, double fallback, const std::string& place, const std::string& where) {
    const auto it = o.find(key);
    if (it == o.end() || it->is_null()) return fallback;
    if (!it->is_number() || !std::isfinite(it->get<double>()) || it->get<double>() <= 0)
        fail(ErrorCode::format, place, where + key + " must be a positive number");
    return it->get<double>();
}

// open_clip keys that change the model's numbers in a way dcar does not implement, with the value that
// means "off"; keys that change nothing at inference; anything else is refused as unknown.
bool is_off(const Json& v, const Json& off) { return v.is_null() || v == off; }
void check_open_clip_keys(const Json& cfg, const char* tower, const std::string& place,
                          const std::vector<std::pair<const char*, Json>>& off_values,
                          const std::vector<const char*>& understood) {
    const std::string where = std::string(tower) + ".";
    for (const auto& [key, value] : cfg.items()) {
        bool known = false;
        for (const char* k : understood) known = known || key == k;
        if (known) continue;
        bool off_key = false;
        for (const auto& [k, off] : off_values)
            if (key == k) {
                off_key = true;
                if (!is_off(value, off))
                    fail(ErrorCode::model, place,
                         where + key + " = " + value.dump() + " is a model dcar cannot run (only " + off.dump() + ")");
            }
        if (!off_key)
            fail(ErrorCode::model, place, "unknown key " + where + key + ": dcar cannot tell whether it changes the model");
    }
}

}  // namespace

Architecture open_clip_architecture(const std::string& json_text, const std::string& place) {
    Json root = parse_object(json_text, place);
    if (root.contains("model_cfg")) {  // the hub's open_clip_config.json
        if (!root["model_cfg"].is_object()) fail(ErrorCode::format, place, "model_cfg is not an object");
        root = root["model_cfg"];
    }
    const auto vision_it = root.find("vision_cfg"), text_it = root.find("text_cfg");
    if (vision_it == root.end() || text_it == root.end() || !vision_it->is_object() || !text_it->is_object())
        fail(ErrorCode::format, place, "not an open_clip model config (needs vision_cfg and text_cfg objects)");
    const Json& v = *vision_it;
    const Json& t = *text_it;
    check_open_clip_keys(root, "config", place,
                         {{"custom_text", false}, {"multimodal_cfg", nullptr}, {"init_logit_bias", nullptr}},
                         {"embed_dim", "quick_gelu", "vision_cfg", "text_cfg", "cast_dtype", "init_logit_scale"});
    check_open_clip_keys(v, "vision_cfg", place,
                         {{"timm_model_name", nullptr}, {"ls_init_value", nullptr}, {"attentional_pool", false},
                          {"no_ln_pre", false}, {"final_ln_after_pool", false}, {"global_average_pool", false},
                          {"pool_type", "tok"}, {"pos_embed_type", "learnable"}, {"input_patchnorm", false},
                          {"act_kwargs", nullptr}, {"norm_kwargs", nullptr}},
                         {"image_size", "layers", "width", "head_width", "mlp_ratio", "patch_size", "patch_dropout",
                          "output_tokens", "timm_model_pretrained", "timm_pool", "timm_proj", "timm_proj_bias",
                          "timm_drop", "timm_drop_path", "attn_pooler_queries", "attn_pooler_heads"});
    check_open_clip_keys(t, "text_cfg", place,
                         {{"hf_model_name", nullptr}, {"ls_init_value", nullptr}, {"embed_cls", false},
                          {"no_causal_mask", false}, {"proj_bias", false}, {"pool_type", "argmax"},
                          {"pooler_type", "argmax"}, {"proj_type", "linear"}, {"proj", "linear"},
                          {"act_kwargs", nullptr}, {"norm_kwargs", nullptr}, {"attn_mask", true}},
                         {"context_length", "vocab_size", "width", "heads", "layers", "mlp_ratio", "output_tokens",
                          "pad_id", "hf_tokenizer_name", "tokenizer_kwargs", "hf_model_pretrained", "hf_proj_type",
                          "hf_pooler_type"});
    const auto quick = root.find("quick_gelu");
    if (quick != root.end() && !quick->is_boolean() && !quick->is_null())
        fail(ErrorCode::format, place, "quick_gelu must be true or false");

    Architecture a;
    a.source = "open_clip config " + place;
    a.activation = quick != root.end() && quick->is_boolean() && quick->get<bool>() ? Activation::quick_gelu : Activation::gelu;
    // open_clip's defaults where a key is missing (its CLIPVisionCfg and CLIPTextCfg).
    a.embed_dim = size_of(root, "embed_dim", place, "");
    a.image_resolution = size_of(v, "image_size", place, "vision_cfg.");
    a.patch_size = size_of(v, "patch_size", place, "vision_cfg.");
    a.vision_width = size_or(v, "width", 768, place, "vision_cfg.");
    a.vision_layers = size_or(v, "layers", 12, place, "vision_cfg.");
    a.vision_head_width = size_or(v, "head_width", 64, place, "vision_cfg.");
    a.vision_mlp_width = int64_t(double(a.vision_width) * number_of(v, "mlp_ratio", 4.0, place, "vision_cfg."));
    a.context_length = size_of(t, "context_length", place, "text_cfg.");
    a.vocab_size = size_of(t, "vocab_size", place, "text_cfg.");
    a.text_width = size_or(t, "width", 512, place, "text_cfg.");
    a.text_heads = size_or(t, "heads", 8, place, "text_cfg.");
    a.text_layers = size_or(t, "layers", 12, place, "text_cfg.");
    a.text_mlp_width = int64_t(double(a.text_width) * number_of(t, "mlp_ratio", 4.0, place, "text_cfg."));
    if (a.vision_width % a.vision_head_width != 0)
        fail(ErrorCode::model, place,
             "vision_cfg.width " + std::to_string(a.vision_width) + " is not a multiple of head_width " +
                 std::to_string(a.vision_head_width));
    return a;
}

Architecture hf_architecture(const std::string& json_text, const std::string& place) {
    const Json root = parse_object(json_text, place);
    const auto type = root.find("model_type");
    if (type != root.end() && (!type->is_string() || type->get<std::string>() != "clip"))
        fail(ErrorCode::model, place,
             "model_type " + type->dump() + " is not a CLIP model dcar can run (only \"clip\")");
    const auto vision_it = root.find("vision_config"), text_it = root.find("text_config");
    if (vision_it == root.end() || text_it == root.end() || !vision_it->is_object() || !text_it->is_object())
        fail(ErrorCode::format, place, "not a Hugging Face CLIP config (needs vision_config and text_config objects)");
    const Json& v = *vision_it;
    const Json& t = *text_it;
    // Hugging Face's defaults where a key is missing (CLIPVisionConfig, CLIPTextConfig).
    auto activation_of = [&](const Json& o, const std::string& where) {
        const auto it = o.find("hidden_act");
        const std::string act = it == o.end() ? "quick_gelu" : it->is_string() ? it->get<std::string>() : "";
        if (const auto activation = find_enum(act, activation_words)) return *activation;
        fail(ErrorCode::model, place,
             where + "hidden_act " + (it == o.end() ? std::string("?") : it->dump()) +
                 " is not an activation dcar runs (gelu or quick_gelu)");
    };
    const Activation vision_act = activation_of(v, "vision_config."), text_act = activation_of(t, "text_config.");
    if (vision_act != text_act)
        fail(ErrorCode::model, place, "the towers use different activations; dcar runs one for both");
    for (const auto& [o, where] : {std::pair<const Json*, const char*>{&v, "vision_config."}, {&t, "text_config."}})
        if (std::abs(number_of(*o, "layer_norm_eps", 1e-5, place, where) - 1e-5) > 1e-12)
            fail(ErrorCode::model, place, std::string(where) + "layer_norm_eps is not 1e-05, which dcar uses");
    Architecture a;
    a.source = "Hugging Face config " + place;
    a.activation = vision_act;
    a.embed_dim = size_or(root, "projection_dim", 512, place, "");
    a.image_resolution = size_or(v, "image_size", 224, place, "vision_config.");
    a.patch_size = size_or(v, "patch_size", 32, place, "vision_config.");
    a.vision_width = size_or(v, "hidden_size", 768, place, "vision_config.");
    a.vision_layers = size_or(v, "num_hidden_layers", 12, place, "vision_config.");
    a.vision_heads = size_or(v, "num_attention_heads", 12, place, "vision_config.");
    a.vision_mlp_width = size_or(v, "intermediate_size", 3072, place, "vision_config.");
    a.context_length = size_or(t, "max_position_embeddings", 77, place, "text_config.");
    a.vocab_size = size_or(t, "vocab_size", 49408, place, "text_config.");
    a.text_width = size_or(t, "hidden_size", 512, place, "text_config.");
    a.text_layers = size_or(t, "num_hidden_layers", 12, place, "text_config.");
    a.text_heads = size_or(t, "num_attention_heads", 8, place, "text_config.");
    a.text_mlp_width = size_or(t, "intermediate_size", 2048, place, "text_config.");
    return a;
}

Architecture config_architecture(const std::string& json_text, const std::string& place) {
    const Json root = parse_object(json_text, place);
    if (root.contains("vision_config") || root.contains("text_config")) return hf_architecture(json_text, place);
    if (root.contains("model_cfg") || root.contains("vision_cfg")) return open_clip_architecture(json_text, place);
    fail(ErrorCode::format, place, "neither an open_clip nor a Hugging Face CLIP config");
}

}  // namespace dcar::model
