// dcar-tune's option table. Keys are checkpoint.json's and stay as they are, so older checkpoints resume; the
// recorded options keep their order, which is the order checkpoint.json lists them in.
#include "train/tune_options.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>

#include "core/error.hpp"
#include "core/json.hpp"
#include "core/text.hpp"

namespace dcar::train {

namespace {

using Json = nlohmann::ordered_json;
using Option = TuneOption;
using Source = TuneOption::Source;
using Default = TuneOption::Default;

[[noreturn]] void bad_value(const char* flag, const std::string& text, const std::string& wanted) {
    throw Error(ErrorCode::usage, std::string("--") + flag + " takes " + wanted + ", not '" + text + "'");
}

double real(const char* flag, const std::string& text) {
    if (const auto v = text::to_double(text)) return *v;
    bad_value(flag, text, "a number");
}

double real_at_least(const char* flag, const std::string& text, double low) {
    const auto v = text::to_double(text);
    if (!v || *v < low) bad_value(flag, text, "a number of at least " + text::format_float(static_cast<float>(low)));
    return *v;
}

int64_t count(const char* flag, const std::string& text) {  // a whole number >= 0
    const auto v = text::to_int64(text);
    if (!v || *v < 0) bad_value(flag, text, "a whole number of at least 0");
    return *v;
}

int64_t positive(const char* flag, const std::string& text) {
    const auto v = text::to_int64(text);
    if (!v || *v < 1 || *v > INT32_MAX) bad_value(flag, text, "a whole number of at least 1");
    return *v;
}

std::string file_name(const char* flag, const std::string& text) {
    if (text.empty()) throw Error(ErrorCode::usage, std::string("--") + flag + ": empty file name");
    return text;
}

const std::vector<Option> options = {
    {"method", 0, "NAME", "coop | vpt | maple | dcar | full", Default::fixed, "method", false, Source::own,
     [](TuneConfig& c, const std::string& t) { c = method_defaults(parse_method(t)); },
     [](const TuneConfig& c) { return Json(method_name(c.method)); }},
    {"model", 'm', "FILE", "CLIP weights (frozen; for full: the starting point)", Default::none, "backbone", false, Source::own,
     [](TuneConfig& c, const std::string& t) { c.model = file_name("model", t); }, nullptr},
    {"init-size", 0, "SPEC", "full from random weights: image=64,patch=8,width=192,layers=4,text-width=192,text-layers=4,embed=128,context=77",
     Default::none, "init_size", false, Source::own,
     [](TuneConfig& c, const std::string& t) {
         if (c.method != Method::full) throw Error(ErrorCode::usage, "--init-size applies to --method full only");
         c.init_size = t;
     },
     [](const TuneConfig& c) { return Json(c.init_size); }, "model"},
    {"output", 'o', "DIR", "checkpoint directory (checkpoint.json + state files)", Default::none, nullptr, false, Source::own,
     [](TuneConfig& c, const std::string& t) { c.output = file_name("output", t); }, nullptr},
    {"resume", 0, nullptr, "continue the checkpoint in DIR (the options must be the same)", Default::none, nullptr, false, Source::own,
     [](TuneConfig& c, const std::string&) { c.resume = true; }, nullptr},
    {"prompt-length", 0, "K", "prompt tokens per layer", Default::per_method, "prompt_length", true, Source::own,
     [](TuneConfig& c, const std::string& t) { c.prompts.length = positive("prompt-length", t); },
     [](const TuneConfig& c) { return Json(c.prompts.length); }},
    {"prompt-depth", 0, "J", "prompted layers, cut to the towers' layers unless given", Default::per_method, "prompt_depth", true, Source::own,
     [](TuneConfig& c, const std::string& t) {
         c.prompts.depth = positive("prompt-depth", t);
         c.prompt_depth_given = true;
     },
     [](const TuneConfig& c) { return Json(c.prompts.depth); }},
    {"no-text-prompts", 0, nullptr, "learn image prompts only (needs --visual-prompts independent)", Default::none, "text_prompts", true, Source::own,
     [](TuneConfig& c, const std::string&) { c.prompts.text = false; },
     [](const TuneConfig& c) { return Json(c.prompts.text); }},
    {"visual-prompts", 0, "MODE", "none | coupled | independent", Default::per_method, "visual_prompts", true, Source::own,
     [](TuneConfig& c, const std::string& t) { c.prompts.visual = parse_visual_mode(t); },
     [](const TuneConfig& c) { return Json(visual_mode_name(c.prompts.visual)); }},
    {"visual-init", 0, "KIND", "independent visual prompts start as normal (N(0, 0.02^2), MaPLe's IVLP) | xavier (VPT)", Default::fixed,
     "visual_init", false, Source::own,
     [](TuneConfig& c, const std::string& t) {
         if (t != "normal" && t != "xavier") bad_value("visual-init", t, "normal or xavier");
         c.prompts.visual_xavier = t == "xavier";
     },
     [](const TuneConfig& c) { return Json(c.prompts.visual_xavier ? "xavier" : "normal"); }},
    {"cate-in-batch", 0, nullptr, "the category loss also takes the batch's other positive captions as candidates", Default::none,
     "cate_in_batch", false, Source::own,
     [](TuneConfig& c, const std::string&) { c.objective.cate_in_batch = true; },
     [](const TuneConfig& c) { return Json(c.objective.cate_in_batch); }},
    {"prompt-init", 0, "TEXT", "layer-0 text prompts start from these words, or 'random' (default: a photo of a)", Default::none, "prompt_init", true, Source::own,
     [](TuneConfig& c, const std::string& t) { c.prompts.init = t == "random" ? "" : t; },
     [](const TuneConfig& c) { return Json(c.prompts.init); }},
    {"caa", 0, "KIND", "CAA head: adapter | identity", Default::fixed, "caa", false, Source::own,
     [](TuneConfig& c, const std::string& t) {
         if (t != "adapter" && t != "identity") bad_value("caa", t, "adapter or identity");
         c.caa.identity = t == "identity";
     },
     [](const TuneConfig& c) { return Json(c.caa.identity ? "identity" : "adapter"); }},
    {"caa-hidden", 0, "N", "CAA bottleneck width", Default::fixed, "caa_hidden", false, Source::own,
     [](TuneConfig& c, const std::string& t) { c.caa.hidden = positive("caa-hidden", t); },
     [](const TuneConfig& c) { return Json(c.caa.hidden); }},
    {"caa-ratio", 0, "R", "CAA residual ratio", Default::fixed, "caa_ratio", false, Source::own,
     [](TuneConfig& c, const std::string& t) { c.caa.ratio = real("caa-ratio", t); },
     [](const TuneConfig& c) { return Json(c.caa.ratio); }},
    {"con-mode", 0, "MODE", "contrastive loss: sym | i2t", Default::fixed, "con_mode", false, Source::own,
     [](TuneConfig& c, const std::string& t) { c.objective.con = parse_con_mode(t); },
     [](const TuneConfig& c) { return Json(con_mode_name(c.objective.con)); }},
    {"lambda", 0, "L", "weight of the category loss", Default::per_method, "lambda", false, Source::own,
     [](TuneConfig& c, const std::string& t) { c.objective.lambda = real_at_least("lambda", t, 0); },
     [](const TuneConfig& c) { return Json(c.objective.lambda); }},
    {"cate-form", 0, "FORM", "category loss: denominator | per-term | logit", Default::fixed, "cate_form", false, Source::own,
     [](TuneConfig& c, const std::string& t) { c.objective.form = parse_cate_form(t); },
     [](const TuneConfig& c) { return Json(cate_form_name(c.objective.form)); }},
    {"dtr", 0, "MODE", "token weights in training: pair | table | none", Default::per_method, "dtr_train", true, Source::own,
     [](TuneConfig& c, const std::string& t) {
         c.objective.dtr = parse_dtr_mode(t);
         c.objective.update_table = c.objective.dtr != DtrMode::none;
         c.dtr_infer = c.objective.update_table ? "table" : "none";  // unless --dtr-infer, set after this
     },
     [](const TuneConfig& c) { return Json(dtr_mode_name(c.objective.dtr)); }},
    {"--dtr or --dtr-infer", 0, nullptr, "", Default::none, "dtr_table", false, Source::derived, nullptr,
     [](const TuneConfig& c) { return Json(c.objective.update_table); }},
    {"dtr-infer", 0, "MODE", "token weights dcar-embed applies to captions: table | none", Default::per_method, "dtr_infer", true, Source::own,
     [](TuneConfig& c, const std::string& t) {
         if (t != "table" && t != "none") bad_value("dtr-infer", t, "table or none");
         c.dtr_infer = t;
         if (t == "table") c.objective.update_table = true;
     },
     [](const TuneConfig& c) { return Json(c.dtr_infer); }},
    {"w-min", 0, nullptr, "", Default::none, "w_min", false, Source::shared, nullptr,
     [](const TuneConfig& c) { return Json(c.objective.dtr_config.w_min); }},
    {"w-max", 0, nullptr, "", Default::none, "w_max", false, Source::shared, nullptr,
     [](const TuneConfig& c) { return Json(c.objective.dtr_config.w_max); }},
    {"ema", 0, nullptr, "", Default::none, "ema", false, Source::shared, nullptr,
     [](const TuneConfig& c) { return Json(c.objective.dtr_config.momentum); }},
    {"blank", 0, nullptr, "", Default::none, "blank", false, Source::shared, nullptr,
     [](const TuneConfig& c) { return Json(blank_name(c.objective.blank)); }},
    {"alpha", 0, "A", "candidates of the image's own class weigh 1+A", Default::fixed, "alpha", false, Source::own,
     [](TuneConfig& c, const std::string& t) { c.alpha = real_at_least("alpha", t, 0); },
     [](const TuneConfig& c) { return Json(c.alpha); }},
    {"candidates", 0, "N", "at most N candidate negatives per caption", Default::fixed, "candidates", false, Source::own,
     [](TuneConfig& c, const std::string& t) { c.candidates = static_cast<size_t>(count("candidates", t)); },
     [](const TuneConfig& c) { return Json(c.candidates); }},
    {"weight-table", 0, "FILE", "start the token weight table from dcar-weigh's output", Default::none, "weight_table", false, Source::own,
     [](TuneConfig& c, const std::string& t) { c.weight_table = file_name("weight-table", t); },
     [](const TuneConfig& c) { return Json(c.weight_table); }},
    {"optimizer", 0, "NAME", "sgd | adamw", Default::per_method, "optimizer", false, Source::own,
     [](TuneConfig& c, const std::string& t) {
         if (t != "sgd" && t != "adamw") bad_value("optimizer", t, "sgd or adamw");
         c.optimizer.kind = t;
     },
     [](const TuneConfig& c) { return Json(c.optimizer.kind); }},
    {"momentum", 0, "M", "SGD momentum", Default::fixed, "momentum", false, Source::own,
     [](TuneConfig& c, const std::string& t) { c.optimizer.momentum = real_at_least("momentum", t, 0); },
     [](const TuneConfig& c) { return Json(c.optimizer.momentum); }},
    {"weight-decay", 0, "WD", "weight decay", Default::per_method, "weight_decay", false, Source::own,
     [](TuneConfig& c, const std::string& t) { c.optimizer.weight_decay = real_at_least("weight-decay", t, 0); },
     [](const TuneConfig& c) { return Json(c.optimizer.weight_decay); }},
    {"lr", 0, "LR", "peak learning rate", Default::per_method, "lr", false, Source::own,
     [](TuneConfig& c, const std::string& t) { c.lr = real_at_least("lr", t, 0); },
     [](const TuneConfig& c) { return Json(c.lr); }},
    {"warmup-lr", 0, "LR", "warm-up learning rate", Default::fixed, "warmup_lr", false, Source::own,
     [](TuneConfig& c, const std::string& t) { c.warmup_lr = real_at_least("warmup-lr", t, 0); },
     [](const TuneConfig& c) { return Json(c.warmup_lr); }},
    {"warmup-epochs", 0, "N", "warm-up epochs", Default::per_method, "warmup_epochs", false, Source::own,
     [](TuneConfig& c, const std::string& t) { c.warmup_epochs = static_cast<int>(std::min<int64_t>(count("warmup-epochs", t), INT32_MAX)); },
     [](const TuneConfig& c) { return Json(c.warmup_epochs); }},
    {"warmup-steps", 0, "N", "warm-up steps, instead of --warmup-epochs", Default::none, "warmup_steps", false, Source::own,
     [](TuneConfig& c, const std::string& t) { c.warmup_steps = count("warmup-steps", t); },
     [](const TuneConfig& c) { return Json(c.warmup_steps); }, "warmup-epochs"},
    {"warmup", 0, "KIND", "constant (at --warmup-lr) | linear (up to --lr)", Default::per_method, "warmup", false, Source::own,
     [](TuneConfig& c, const std::string& t) { c.warmup = parse_warmup(t); },
     [](const TuneConfig& c) { return Json(warmup_name(c.warmup)); }},
    {"epochs", 0, "N", "epochs", Default::per_method, "epochs", false, Source::own,
     [](TuneConfig& c, const std::string& t) { c.epochs = static_cast<int>(positive("epochs", t)); },
     [](const TuneConfig& c) { return Json(c.epochs); }},
    {"batch", 0, nullptr, "", Default::none, "batch", false, Source::shared, nullptr,
     [](const TuneConfig& c) { return Json(c.batch); }},
    {"hard-batches", 0, nullptr, "every batch from one meta_category of the manifest (hard negatives within a batch)", Default::none,
     "hard_batches", false, Source::own,
     [](TuneConfig& c, const std::string&) { c.hard_batches = true; },
     [](const TuneConfig& c) { return Json(c.hard_batches); }},
    {"hard-batch-share", 0, "S", "with --hard-batches: the share of each epoch's examples batched by meta_category, the rest in mixed batches",
     Default::fixed, "hard_batch_share", false, Source::own,
     [](TuneConfig& c, const std::string& t) {
         c.hard_batch_share = real("hard-batch-share", t);
         if (!(c.hard_batch_share > 0 && c.hard_batch_share <= 1)) bad_value("hard-batch-share", t, "a share in (0, 1]");
     },
     [](const TuneConfig& c) { return Json(c.hard_batch_share); }},
    {"shots", 0, "N", "images per class, 0 = all", Default::per_method, "shots", false, Source::own,
     [](TuneConfig& c, const std::string& t) { c.shots = count("shots", t); },
     [](const TuneConfig& c) { return Json(c.shots); }},
    {"augment", 0, nullptr, "random resized crops (the default except for full)", Default::none, nullptr, false, Source::own,
     [](TuneConfig& c, const std::string&) { c.augment = true; }, nullptr},
    {"no-augment", 0, nullptr, "no random resized crops (the test transform only)", Default::none, nullptr, false, Source::own,
     [](TuneConfig& c, const std::string&) { c.augment = false; }, nullptr, "augment"},
    {"--augment or --no-augment", 0, nullptr, "", Default::none, "augment", false, Source::derived, nullptr,
     [](const TuneConfig& c) { return Json(c.augment); }},
    {"crop-min", 0, "S", "smallest crop, as a fraction of the image area", Default::fixed, "crop_min", false, Source::own,
     [](TuneConfig& c, const std::string& t) {
         c.crop_min = real("crop-min", t);
         if (!(c.crop_min > 0 && c.crop_min <= 1)) bad_value("crop-min", t, "a fraction in (0, 1]");
     },
     [](const TuneConfig& c) { return Json(c.crop_min); }},
    {"val-fraction", 0, "F", "hold out this fraction of images for per-epoch validation R@1", Default::fixed, "val_fraction", false, Source::own,
     [](TuneConfig& c, const std::string& t) {
         c.val_fraction = real("val-fraction", t);
         if (!(c.val_fraction >= 0 && c.val_fraction < 1)) bad_value("val-fraction", t, "a fraction in [0, 1)");
     },
     [](const TuneConfig& c) { return Json(c.val_fraction); }},
    {"val", 0, "FILE", "validate on this file's images and captions instead (e.g. dcar-mine-negatives --val-output)", Default::none, "val",
     false, Source::own,
     [](TuneConfig& c, const std::string& t) { c.val_input = file_name("val", t); },
     [](const TuneConfig& c) { return Json(c.val_input); }, "val-fraction"},
    {"seed", 0, "N", "random seed (shots, order, crops, initial prompts)", Default::fixed, "seed", false, Source::own,
     [](TuneConfig& c, const std::string& t) {
         const auto v = text::to_uint64(t);
         if (!v) bad_value("seed", t, "a whole number of at least 0");
         c.seed = *v;
     },
     [](const TuneConfig& c) { return Json(c.seed); }},
    {"max-steps", 0, "N", "stop after N steps in all (benchmarks; an epoch cut short is not checkpointed)", Default::fixed, nullptr, false,
     Source::own, [](TuneConfig& c, const std::string& t) { c.max_steps = count("max-steps", t); },
     [](const TuneConfig& c) { return Json(c.max_steps); }},
    {"step-log", 0, "FILE", "write one JSON line per step (loss, lr, seconds)", Default::none, nullptr, false, Source::own,
     [](TuneConfig& c, const std::string& t) { c.step_log = file_name("step-log", t); }, nullptr},
};

const Method all_methods[] = {Method::coop, Method::vpt, Method::maple, Method::dcar, Method::full};

std::string shown(const Json& value) {
    if (value.is_number_float()) {
        char number[32];
        std::snprintf(number, sizeof number, "%g", value.get<double>());
        return number;
    }
    return value.is_string() ? value.get<std::string>() : dump_json(value);
}

}  // namespace

const std::vector<TuneOption>& tune_options() { return options; }

const TuneOption& tune_option(const std::string& flag) {
    for (const auto& o : options)
        if (flag == o.flag) return o;
    throw Error(ErrorCode::internal, "dcar-tune has no option --" + flag);
}

const TuneOption& recorded_option(const std::string& key) {
    for (const auto& o : options)
        if (o.key && key == o.key) return o;
    throw Error(ErrorCode::internal, "no dcar-tune option is recorded as '" + key + "'");
}

std::string flag_text(const TuneOption& option) {
    return option.source == Source::derived ? option.flag : std::string("--") + option.flag;
}

std::string default_text(const TuneOption& option) {
    if (option.shown_default == Default::none || !option.get) return "";
    if (option.shown_default == Default::fixed) return shown(option.get(method_defaults(Method::dcar)));
    std::string text = "[";
    for (const Method m : all_methods) {
        if (m != Method::coop) text += "/";
        text += m == Method::full && option.prompts_only ? "-" : shown(option.get(method_defaults(m)));
    }
    return text + "]";
}

TuneConfig tune_config(const std::map<std::string, std::string>& given) {
    for (const auto& [flag, text] : given) {
        const TuneOption* option = nullptr;
        for (const auto& o : options)
            if (flag == o.flag && o.source == Source::own) option = &o;
        if (!option) throw Error(ErrorCode::usage, "dcar-tune has no option --" + flag);
        if (option->excludes && given.count(option->excludes))
            throw Error(ErrorCode::usage, "--" + flag + " and --" + option->excludes + " exclude each other");
    }
    TuneConfig config = method_defaults(Method::dcar);
    for (const auto& o : options) {
        const auto found = given.find(o.flag);
        if (o.source != Source::own || found == given.end()) continue;
        if (o.prompts_only && config.method == Method::full)
            throw Error(ErrorCode::usage, "--" + found->first + " does not apply to --method full");
        o.set(config, found->second);
    }
    if (!config.prompts.text) config.prompts.init.clear();
    if (config.hard_batch_share != 1 && !config.hard_batches)
        throw Error(ErrorCode::usage, "--hard-batch-share below 1 needs --hard-batches");
    return config;
}

Json options_json(const TuneConfig& config, const std::string& backbone) {
    Json j;
    for (const auto& o : options)
        if (o.key) j[o.key] = o.get ? o.get(config) : Json(backbone);
    return j;
}

}  // namespace dcar::train
