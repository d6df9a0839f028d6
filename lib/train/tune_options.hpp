// dcar-tune's options, one table keyed by flag: how each is given (value or switch), what its default is (one
// for every method, or each method's own from method_defaults), how its text sets the TuneConfig, and under
// which key checkpoint.json's "options" records it. The table drives the tool's option declarations and --help,
// the parsing, the checkpoint's option snapshot and the resume errors, so an option is added in one place
// (plus its man page and completions).
#pragma once
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "train/tune.hpp"

namespace dcar::train {

struct TuneOption {
    enum class Source {
        own,      // declared and parsed by this table
        shared,   // declared and parsed with the model tools' shared options (cli); recorded here
        derived,  // a recorded value that follows from other options; `flag` names them ("--augment or --no-augment")
    };
    enum class Default { none, fixed, per_method };

    const char* flag;        // the long name without dashes ("lr"); derived: the flags it follows, as shown
    char short_name;         // 'o' for -o, or 0
    const char* value_name;  // "LR"; nullptr for a switch
    const char* help;
    Default shown_default;   // what --help appends: nothing, "(=0.5)", or "[coop/vpt/maple/dcar/full]"
    const char* key;         // checkpoint.json's options key; nullptr: not recorded
    bool prompts_only;       // refused with --method full, shown as "-" in its defaults
    Source source;
    // Sets the option from its text ("" for a switch); Error(usage) naming the flag for a value out of range.
    // Options are set in table order over the method's defaults, --method first.
    void (*set)(TuneConfig& config, const std::string& text);
    // The value as recorded and shown (nullptr: not recorded, or filled in by the trainer: the backbone).
    nlohmann::ordered_json (*get)(const TuneConfig& config);
    const char* excludes = nullptr;  // an option that may not be given with this one
};

const std::vector<TuneOption>& tune_options();
// Error(internal) for a name the table does not hold.
const TuneOption& tune_option(const std::string& flag);
const TuneOption& recorded_option(const std::string& key);

// The flag as a user types it ("--lr"), or a derived option's text.
std::string flag_text(const TuneOption& option);

// What --help shows as the option's default: "0.5" (fixed) or "[0.002/0.0035/0.0035/0.0035/0.0005]" (per
// method; "-" for full where prompts_only); "" for Default::none.
std::string default_text(const TuneOption& option);

// The options a user gave (flag → text; "" for switches), set in table order over the defaults of the method
// given (dcar without --method). Error(usage) naming the flag for an unknown flag, a bad value, a prompt option
// with --method full, or two options that exclude each other. Shared options are the caller's to apply.
TuneConfig tune_config(const std::map<std::string, std::string>& given);

// checkpoint.json's "options": every recorded option of the table, in table order; backbone = the fingerprint.
nlohmann::ordered_json options_json(const TuneConfig& config, const std::string& backbone);

}  // namespace dcar::train
