// The synthetic fine-grained world of docs/WORLD.md: shape families (meta-categories) whose fine classes
// differ only in four small attributes (part count, rim pattern, mark colour, mark shape), images that vary in
// nuisance (size, tint, orientation, position, background) inside every class, captions that describe a
// random subset of both, and three splits written as FDRD JSON plus JPEG files:
//   pretrain  base classes, generic captions (no class names), for pretraining a backbone;
//   train     novel classes, "This is a {class}. {description}", enough images to draw 16 shots several ways;
//   test      novel classes, the same caption form.
// Everything is a pure function of the WorldConfig: generators are seeded per purpose and per image
// (detail.hpp), so the output is byte-identical across runs and thread counts.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/log.hpp"

namespace dcar::world {

// Bumped whenever the same options would give other images or captions (docs/WORLD.md). Every version stays
// reproducible: WorldConfig::version selects the geometry, the splits and the caption forms of that version.
constexpr int latest_world_version = 2;

constexpr int max_families = 6;  // star, flower, gear, tile, cushion, pinwheel
constexpr int values_per_attribute = 4;
constexpr int combinations_per_family = 256;  // 4 class attributes × 4 values

enum class Split { pretrain = 0, train = 1, test = 2 };
const char* split_name(Split split);  // "pretrain" | "train" | "test"

// --- vocabularies (docs/WORLD.md §1–§3); index = the value's code ---
const char* family_name(int family);     // "star", ...
const char* part_noun(int family);       // "points", ...
const char* number_word(int parts);      // 3..6 → "three".."six"
const char* rim_name(int rim);           // solid, dashed, dotted, double
const char* mark_colour_name(int colour);  // red, blue, yellow, green
const char* mark_shape_name(int shape);  // dot, ring, cross, bar
const char* size_name(int size);         // small, medium, large
const char* tint_name(int tint);         // grey, tan, pink, lavender, brown
const char* orientation_name(int o);     // upright, tilted
const char* position_name(int cell);     // 0..8, row-major: "top left" ... "bottom right"
const char* background_name(int bg);     // white, black, navy, sky, olive, beige
const char* pattern_name(int pattern);   // plain, striped, spotted
constexpr int tint_count = 5, size_count = 3, orientation_count = 2, position_count = 9, background_count = 6,
              pattern_count = 3;

struct Rgb {
    uint8_t r = 0, g = 0, b = 0;
};
Rgb mark_colour_rgb(int colour);
Rgb tint_rgb(int tint);
Rgb background_rgb(int bg);

// The class attributes: what a fine class is, inside its family.
struct ClassAttributes {
    int parts = 3;        // 3..6
    int rim = 0;          // rim_name
    int mark_colour = 0;  // mark_colour_name
    int mark_shape = 0;   // mark_shape_name
    bool operator==(const ClassAttributes& o) const {
        return parts == o.parts && rim == o.rim && mark_colour == o.mark_colour && mark_shape == o.mark_shape;
    }
};

struct ClassSpec {
    std::string name;  // invented word
    int family = 0;
    bool novel = false;  // novel (train/test) or base (pretrain)
    int rank = 0;        // position among the family's novel (or base) classes; part of image seeds
    ClassAttributes attributes;
};

// Per-image nuisance, drawn independently of the class. Geometry is kept as unit draws; the renderer turns
// them into pixels for the body's actual size and part count.
struct Nuisance {
    int size = 0;
    double size_factor = 1.0;  // U(0.95, 1.05)
    int tint = 0;
    int tint_jitter[3] = {0, 0, 0};  // added to each channel, U{-10..10}
    int orientation = 0;
    double turn = 0;  // body rotation in part periods: U(-0.03, 0.03), or ±U(0.15, 0.35) when tilted
    int position = 4;
    double position_u[2] = {0.5, 0.5};  // unit draws for the x and y jitter
    int background = 0;
    int pattern = 0;
    double pattern_angle = 0;  // radians
    double pattern_phase[2] = {0, 0};
    double mark_angle = 0;  // radians, never described
    uint64_t noise_seed = 0;
};

struct Scene {
    int version = latest_world_version;  // the world version whose geometry draws it
    int family = 0;
    ClassAttributes attributes;
    Nuisance nuisance;
};

// Draws a nuisance from `seed` (the same seed gives the same nuisance whatever the class).
Nuisance draw_nuisance(uint64_t seed);

// Renders `scene` as size × size 8-bit RGB, row-major, 3 bytes a pixel, noise included.
std::vector<uint8_t> render(const Scene& scene, int size);

// Where a scene's parts lie in a size × size image (for tests): body centre and outer radius in pixels, and
// the mark's radius.
struct Layout {
    double cx = 0, cy = 0, radius = 0, mark_radius = 0, rotation = 0;  // rotation in radians
};
Layout layout_of(const Scene& scene, int size);

// --- captions (docs/WORLD.md §5) ---
struct Description {
    std::string text;
    std::vector<std::string> mentioned;  // attribute keys: parts rim mark_colour mark_shape size orientation
                                         // tint position background pattern
};
// With `part_count` false, the same draws and text without the part count.
Description describe(const Scene& scene, double p_class, double p_nuisance, uint64_t seed, bool part_count = true);
// The silhouette alone: the family and its part count, nothing else, in the template `seed` draws.
Description describe_silhouette(const Scene& scene, uint64_t seed);
// Version 1: "This is a {name}. {description}"
std::string downstream_caption(const std::string& class_name, const std::string& description);
// Version 2 (FDRD's form): "This is a {name}." then `filler` sentences of the fixed bank (distinct, drawn with
// `seed`), each placed before or after the description at random.
std::string downstream_caption(const std::string& class_name, const std::string& description, int filler, uint64_t seed);
// `text` with `count` distinct sentences of the filler bank (drawn with `seed`), each before or after it at random.
std::string with_filler(const std::string& text, int count, uint64_t seed);
// Version 2 pretraining text for a downstream class's image, like alt-text that names a breed:
// "{name} {family}. {description}".
std::string named_pretrain_caption(const std::string& class_name, int family, const std::string& description);
constexpr int filler_bank_size = 16;
const char* filler_sentence(int i);  // 0..filler_bank_size-1
// Every word the caption grammar of `version` can produce, lowercase (class names must avoid them).
const std::vector<std::string>& caption_words(int version = latest_world_version);

// --- the world ---
// The defaults are version 2's; defaults_of_version(1) gives version 1's.
struct WorldConfig {
    int version = latest_world_version;
    uint64_t seed = 1;
    int size = 96;  // pixels a side
    int families = 6;
    int base_per_family = 8;
    int novel_per_family = 8;
    int pretrain_per_class = 200;
    int pretrain_per_novel = 25;  // v2: pretraining images of each novel class (0 in v1)
    int train_per_class = 32;
    int test_per_class = 25;
    double mention_class = 0.5;
    double mention_nuisance = 0.5;
    int filler = 3;  // v2: filler sentences per downstream caption (0 in v1)
    double pretrain_mention_class = 1.0;
    double pretrain_mention_nuisance = 0.2;
    double pretrain_mention_name = 0.5;  // v2: chance that a novel class's pretraining caption names it
    double pretrain_silhouette = 0;      // v2: chance that a pretraining caption describes the silhouette alone
    // v2: chance that a pretraining caption leaves out the part count and keeps everything else it would name (a
    // share of all pretraining captions, drawn among those that are not silhouette-only; with pretrain_silhouette,
    // at most 1)
    double pretrain_without_parts = 0;
    // v2: chance that a base class's pretraining image takes class attributes drawn at random (its family kept,
    // never a novel class's combination) instead of its class's, so that no attribute predicts another.
    double pretrain_random_attributes = 0;
    // v2: chance that a pretraining caption carries one filler sentence, before or after it, as web alt-text
    // carries chatter; the filler's words are then known to the text tower, as a web-trained one knows them.
    double pretrain_filler = 0;
    // v2: what a pretraining record's meta_category names, which dcar-tune --hard-batches groups by: "family", or
    // "silhouette" (the family and the part count drawn, "star/3"), so that a batch of one group needs the rest.
    std::string pretrain_category = "family";
    int quality = 90;  // JPEG
};
WorldConfig defaults_of_version(int version);  // throws dcar::Error(usage) for an unknown version
// Throws dcar::Error(usage) naming the option (as --flag) that is out of range.
void check_config(const WorldConfig& config);

// Novel classes first (family by family, by rank), then base classes. Throws dcar::Error(usage) when the
// counts do not fit in a family.
std::vector<ClassSpec> make_classes(const WorldConfig& config);

// One image of a split: its class (index into make_classes), number, and everything drawn for it.
struct ImagePlan {
    Split split = Split::pretrain;
    size_t class_index = 0;
    int number = 0;
    std::string id;         // "<split>_<class>_<nnnn>"
    std::string file_name;  // "<class>_<nnnn>.jpg"
    std::string path;       // "images/<split>/<class>/<nnnn>.jpg", relative to OUT
    Scene scene;
    Description description;
    std::string caption;  // what goes into "positive"
};
std::vector<ImagePlan> plan_split(const WorldConfig& config, const std::vector<ClassSpec>& classes, Split split);

// JPEG bytes of an RGB image (libvips). Throws dcar::Error(internal) when libvips fails.
std::string encode_jpeg(const std::vector<uint8_t>& rgb, int width, int height, int quality);
// Decodes an image file to 8-bit RGB (tests). Throws dcar::Error(io|format).
std::vector<uint8_t> decode_rgb(const std::string& path, int& width, int& height);

struct GenerateJob {
    WorldConfig config;
    std::string out_dir;
    bool force = false;  // replace a world made with other options, or write into a non-empty directory
    // false: pretrain.json is written but the pretraining split's images are not rendered (a run that uses a
    // backbone made before needs only the train and test images); a later run with true adds them.
    bool pretrain_images = true;
};

struct GenerateStats {
    size_t classes = 0;
    size_t images[3] = {0, 0, 0};  // per split
    size_t written = 0;            // images rendered now
    size_t kept = 0;               // images already there (same options)
    size_t removed = 0;            // images of a replaced world removed
    size_t not_rendered = 0;       // pretraining images left out (GenerateJob::pretrain_images false)
    bool up_to_date = false;       // nothing needed doing
    std::string summary(const std::string& out_dir) const;
};

// Writes the world into job.out_dir (created if needed): world.json, the three split files and the images,
// every file atomically; see docs/WORLD.md §8 for reruns. Progress and the summary go to `log`.
// Throws dcar::Error(usage) on a bad config, (mismatch) when out_dir holds something else and !force,
// (io) on file errors.
GenerateStats generate_world(const GenerateJob& job, const Log& log);

}  // namespace dcar::world
