// Image decoding and CLIP preprocessing, reproducing OpenAI CLIP's `_transform` (torchvision on PIL): shorter
// side to n pixels with PIL's antialiased bicubic, centre crop n×n, convert to RGB, scale to [0, 1], normalise.
// libvips only decodes; the resampling, the crop and the colour conversion are done here on 8-bit pixels with
// PIL's arithmetic, so the output matches the Python reference bit for bit on the common formats (the few
// deliberate differences are listed at PreprocessConfig). The output is a plain CHW float32 buffer, so this
// file needs no LibTorch; the model code wraps it in a tensor.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace dcar::model {

struct PreprocessConfig {
    int resolution = 224;
    float mean[3] = {0.48145466f, 0.4578275f, 0.40821073f};
    float std[3] = {0.26862954f, 0.26130258f, 0.27577711f};
    // Refuse images whose header declares more pixels than this, before decoding them: PIL's decompression
    // bomb limit (it warns at 89,478,485 pixels and refuses above twice that).
    uint64_t max_pixels = 2ull * 89478485ull;
    // Let libjpeg decode large JPEGs at 1/2, 1/4 or 1/8 scale (its DCT scaling) when the shrunk image still has
    // at least shrink_gap × resolution pixels on its shorter side (1792 at 224 for the default gap: only
    // camera-sized photographs). PIL does not do this, so values move slightly: on 4000×3000 JPEGs the default
    // (1/2) roughly halves the time per image for a mean error of 0.1–0.25 of an 8-bit level, and gap 2 (1/4)
    // is about 3× faster at 0.3–0.5 levels (preprocess_test.cpp prints the figures). Switch it off for
    // bit-exact parity with the Python reference.
    bool shrink_on_load = true;
    double shrink_gap = 4.0;
};

// Where this implementation knowingly differs from PIL 9.4 + torchvision 0.14:
//  - 16-bit greyscale PNG: PIL opens it as mode "I" and its convert("RGB") clips values above 255 (so most
//    such images come out white); here every 16-bit image keeps its high byte, as PIL itself does for 16-bit
//    RGB(A) PNGs.
//  - Palette images other than PNG and GIF (palette TIFF, BMP) are resampled bicubically, where PIL would use
//    nearest neighbour (it never interpolates mode "P"); PNG and GIF palettes do use nearest neighbour.
//  - JPEG shrink-on-load, when enabled (above).
//  - Formats PIL 9.4 cannot open but libvips can (HEIF, JPEG XL, SVG, PDF where its modules are installed) are
//    decoded; loaders libvips marks untrusted (ImageMagick…) are blocked.

// Decodes and preprocesses one image into out[3 * resolution * resolution] (CHW, float32, normalised).
// EXIF orientation is not applied and embedded ICC profiles are ignored, as in PIL. Throws dcar::Error naming
// the file: io when it cannot be read, format for unreadable, truncated (refused as PIL refuses them, where
// libvips alone would fill in grey), empty or too large images.
void preprocess_file(const std::string& path, const PreprocessConfig& config, float* out);
// The same from an encoded image in memory; name is used in error messages.
void preprocess_buffer(const void* data, size_t size, const std::string& name, const PreprocessConfig& config,
                       float* out);
// From 8-bit RGB pixels (HWC, row-major, no padding), for golden tests and callers that decode themselves.
void preprocess_rgb(const uint8_t* rgb, int width, int height, const PreprocessConfig& config, float* out);

// Training-time augmentation (torchvision's RandomResizedCrop on the decoded image): decode once to 8-bit RGB
// (PIL's convert("RGB") rules, before any resampling), then cut any box and resize it to resolution ×
// resolution with the same antialiased bicubic, ignoring its aspect ratio, and normalise.
struct RgbImage {
    int width = 0, height = 0;
    std::vector<uint8_t> pixels;  // HWC, 3 channels
};
RgbImage decode_rgb_file(const std::string& path, const PreprocessConfig& config);
// The box must lie inside the image (throws dcar::Error(usage) otherwise).
void preprocess_region(const RgbImage& image, int left, int top, int width, int height, const PreprocessConfig& config,
                       float* out);
// The centre-crop transform of preprocess_file, from an already decoded image.
void preprocess_decoded(const RgbImage& image, const PreprocessConfig& config, float* out);

// Starts libvips for this process: vips concurrency 1 (callers run their own decode threads), no operation
// cache, loaders marked untrusted blocked, libvips warnings silenced. The preprocess functions call it
// themselves on first use (argv0 "dcar"); calling it earlier with the real argv[0] is optional. Safe to call
// more than once and from several threads.
void init_image_library(const char* argv0);

}  // namespace dcar::model
