// CLIP image preprocessing with PIL's arithmetic. libvips decodes the file (JPEG through the same
// libjpeg-turbo that PIL uses, with the same default settings, so decoded pixels agree; PNG, GIF and lossless
// WebP are exact in any correct decoder); everything after decoding is done here, because the reference is defined by PIL's integer resampler and not by any
// libvips operation: PIL resamples 8-bit images with a separable bicubic filter (a = -0.5) widened by the
// downscale factor, fixed-point weights with 22 fractional bits, and rounds to 8 bits after the horizontal
// pass and again after the vertical one. Only the pixels that survive the centre crop are computed, which gives
// the same values as resizing the whole image and cropping afterwards.
#include "model/preprocess.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>
#include <vips/vips8>

#include "core/error.hpp"

namespace dcar::model {
namespace {

// ---------------------------------------------------------------------------------------------------------
// Decoded pixels and how PIL would treat them.

// What the loader knows that the pixel values do not: PIL picks its resampling and its RGB conversion by the
// image mode, and the mode follows the file's own colour type (a PNG with a tRNS chunk is still "RGB" to PIL,
// whereas libvips hands it over with an alpha band).
enum class AlphaUse { none, premultiply };

struct Pixels {
    int width = 0;
    int height = 0;
    int channels = 0;             // 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA or CMYK
    bool nearest = false;         // PIL modes "P" and "1": never interpolated
    bool cmyk = false;            // 4 channels are C, M, Y, K
    AlphaUse alpha = AlphaUse::none;
    const uint8_t* data = nullptr;  // HWC, row-major
};

// ---------------------------------------------------------------------------------------------------------
// Geometry: torchvision's Resize(int) and CenterCrop.

struct Geometry {
    int resized_width, resized_height;  // the size PIL resizes to
    int left, top;                      // the crop's corner in the resized image
};

// Python's round() of d / 2 for a non-negative integer d: halves go to the even neighbour.
int round_half_even_half(int d) {
    const int whole = d / 2;
    if (d % 2 == 0) return whole;
    return whole % 2 == 0 ? whole : whole + 1;
}

Geometry clip_geometry(int width, int height, int n, const std::string& place) {
    Geometry g{};
    // torchvision: short side → n, long side → int(n * long / short), a float division truncated.
    const int shorter = std::min(width, height), longer = std::max(width, height);
    const double new_long_exact = static_cast<double>(static_cast<int64_t>(n) * longer) / shorter;
    if (new_long_exact >= 2147483647.0)
        throw_error(ErrorCode::format, place, "image too elongated to resize: " + std::to_string(width) + "x" +
                                               std::to_string(height));
    const int new_long = static_cast<int>(new_long_exact);
    if (width <= height) {
        g.resized_width = n;
        g.resized_height = new_long;
    } else {
        g.resized_width = new_long;
        g.resized_height = n;
    }
    g.left = round_half_even_half(g.resized_width - n);
    g.top = round_half_even_half(g.resized_height - n);
    return g;
}

// ---------------------------------------------------------------------------------------------------------
// PIL-compatible resampling.

constexpr int kWeightBits = 22;  // 8-bit samples × weights up to ~1.3 stay within a signed 32-bit sum

// Keys' cubic convolution kernel with a = -0.5 (Catmull-Rom), support [-2, 2].
double cubic(double x) {
    constexpr double a = -0.5;
    x = std::fabs(x);
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
    if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
    return 0.0;
}

// Taps of a 1-D resampling from in_size to out_size, for the output positions [out_begin, out_end).
struct Taps {
    int stride = 0;              // weights per output position (the largest count)
    std::vector<int> first;      // first input index per output position
    std::vector<int> count;      // number of inputs per output position
    std::vector<int32_t> weight; // fixed-point weights, stride per output position
};

Taps bicubic_taps(int in_size, int out_size, int out_begin, int out_end) {
    const double scale = static_cast<double>(in_size) / out_size;
    // When shrinking, the kernel is stretched by the shrink factor so that every input pixel contributes
    // (antialiasing); when enlarging it stays at its natural width.
    const double filter_scale = std::max(scale, 1.0);
    const double support = 2.0 * filter_scale;
    const double inverse = 1.0 / filter_scale;
    Taps t;
    t.stride = static_cast<int>(std::ceil(support)) * 2 + 1;
    const int n = out_end - out_begin;
    t.first.resize(n);
    t.count.resize(n);
    t.weight.assign(static_cast<size_t>(n) * t.stride, 0);
    std::vector<double> w(t.stride);
    for (int i = 0; i < n; ++i) {
        const double centre = (out_begin + i + 0.5) * scale;
        // The window is [centre - support, centre + support) rounded to pixel boundaries, clipped to the image;
        // truncation (not floor) matches the reference, and the clip makes the two agree for negatives anyway.
        const int lo = std::max(static_cast<int>(centre - support + 0.5), 0);
        const int hi = std::min(static_cast<int>(centre + support + 0.5), in_size);
        const int m = std::min(hi - lo, t.stride);
        double total = 0.0;
        for (int k = 0; k < m; ++k) {
            w[k] = cubic((static_cast<double>(lo + k) - centre + 0.5) * inverse);
            total += w[k];
        }
        for (int k = 0; k < m; ++k) {
            const double v = (total != 0.0 ? w[k] / total : w[k]) * (1 << kWeightBits);
            // Round half away from zero, as the reference converts its weights.
            t.weight[static_cast<size_t>(i) * t.stride + k] = static_cast<int32_t>(v < 0 ? v - 0.5 : v + 0.5);
        }
        t.first[i] = lo;
        t.count[i] = m;
    }
    return t;
}

inline uint8_t fixed_to_u8(int32_t acc) {
    if (acc <= 0) return 0;
    if (acc >= (256 << kWeightBits)) return 255;
    return static_cast<uint8_t>(acc >> kWeightBits);
}

// One pass along x: rows [row_begin, row_end) of src (width src_width) → dst rows of taps.first.size() pixels.
// The channel count is a template parameter so that each channel gets its own accumulator in a register: this
// pass dominates on large images (a 4000-pixel row shrunk to 298 has 54 taps per output pixel).
template <int C>
void resample_rows_n(const uint8_t* src, int src_width, int row_begin, int row_end, const Taps& taps, uint8_t* dst) {
    const int out_width = static_cast<int>(taps.first.size());
    for (int y = row_begin; y < row_end; ++y) {
        const uint8_t* row = src + static_cast<size_t>(y) * src_width * C;
        uint8_t* out = dst + static_cast<size_t>(y - row_begin) * out_width * C;
        for (int x = 0; x < out_width; ++x) {
            const uint8_t* in = row + static_cast<size_t>(taps.first[x]) * C;
            const int32_t* w = &taps.weight[static_cast<size_t>(x) * taps.stride];
            int32_t acc[C];
            for (int c = 0; c < C; ++c) acc[c] = 1 << (kWeightBits - 1);  // rounds the final shift to nearest
            const int count = taps.count[x];
            for (int k = 0; k < count; ++k)
                for (int c = 0; c < C; ++c) acc[c] += in[k * C + c] * w[k];
            for (int c = 0; c < C; ++c) out[x * C + c] = fixed_to_u8(acc[c]);
        }
    }
}

void resample_rows(const uint8_t* src, int src_width, int channels, int row_begin, int row_end, const Taps& taps,
                   uint8_t* dst) {
    switch (channels) {
        case 1: return resample_rows_n<1>(src, src_width, row_begin, row_end, taps, dst);
        case 2: return resample_rows_n<2>(src, src_width, row_begin, row_end, taps, dst);
        case 3: return resample_rows_n<3>(src, src_width, row_begin, row_end, taps, dst);
        default: return resample_rows_n<4>(src, src_width, row_begin, row_end, taps, dst);
    }
}

// One pass along y: src has rows starting at src_row0 and width `width`; dst gets taps.first.size() rows.
void resample_columns(const uint8_t* src, int width, int channels, int src_row0, const Taps& taps, uint8_t* dst) {
    const int out_height = static_cast<int>(taps.first.size());
    const size_t row_bytes = static_cast<size_t>(width) * channels;
    std::vector<int32_t> acc(row_bytes);
    for (int y = 0; y < out_height; ++y) {
        std::fill(acc.begin(), acc.end(), 1 << (kWeightBits - 1));
        const int32_t* w = &taps.weight[static_cast<size_t>(y) * taps.stride];
        for (int k = 0; k < taps.count[y]; ++k) {
            const uint8_t* in = src + static_cast<size_t>(taps.first[y] + k - src_row0) * row_bytes;
            const int32_t wk = w[k];
            for (size_t i = 0; i < row_bytes; ++i) acc[i] += in[i] * wk;
        }
        uint8_t* out = dst + static_cast<size_t>(y) * row_bytes;
        for (size_t i = 0; i < row_bytes; ++i) out[i] = fixed_to_u8(acc[i]);
    }
}

// Nearest-neighbour source indices for out positions [begin, end), sampling at pixel centres the way PIL's
// affine scaler does: it steps a double by in/out per output pixel rather than multiplying, and the two can
// differ in the last bit at exact pixel boundaries.
std::vector<int> nearest_indices(int in_size, int out_size, int begin, int end) {
    const double step = static_cast<double>(in_size) / out_size;
    std::vector<int> index(end - begin);
    double pos = step * 0.5;
    for (int i = 0; i < end; ++i) {
        if (i >= begin) index[i - begin] = std::clamp(static_cast<int>(pos), 0, in_size - 1);
        pos += step;
    }
    return index;
}

// Premultiplies colour by alpha (the last channel) as PIL's RGBA → RGBa conversion does: v·a/255 rounded.
void premultiply(uint8_t* data, size_t pixels, int channels) {
    for (size_t p = 0; p < pixels; ++p) {
        uint8_t* px = data + p * channels;
        const int a = px[channels - 1];
        for (int c = 0; c < channels - 1; ++c) {
            const int t = px[c] * a + 128;
            px[c] = static_cast<uint8_t>(((t >> 8) + t) >> 8);
        }
    }
}

// The inverse (RGBa → RGBA): 255·v/a truncated and clipped; fully opaque and fully transparent pixels pass.
inline uint8_t unpremultiply(uint8_t v, uint8_t a) {
    if (a == 0 || a == 255) return v;
    return static_cast<uint8_t>(std::min(255 * v / a, 255));
}

// Resizes to the CLIP geometry and crops: returns n×n×channels bytes.
std::vector<uint8_t> resize_and_crop(const Pixels& px, int n, const std::string& place) {
    const Geometry g = clip_geometry(px.width, px.height, n, place);
    const int ch = px.channels;
    std::vector<uint8_t> out(static_cast<size_t>(n) * n * ch);
    if (px.nearest) {
        const auto xs = nearest_indices(px.width, g.resized_width, g.left, g.left + n);
        const auto ys = nearest_indices(px.height, g.resized_height, g.top, g.top + n);
        for (int y = 0; y < n; ++y)
            for (int x = 0; x < n; ++x)
                std::memcpy(&out[(static_cast<size_t>(y) * n + x) * ch],
                            px.data + (static_cast<size_t>(ys[y]) * px.width + xs[x]) * ch, ch);
        return out;
    }

    // PIL skips a pass whose size does not change; that pass would be the identity anyway (the kernel at
    // integer offsets is 1, 0, 0), so skipping is for speed only.
    const bool horizontal = g.resized_width != px.width;
    const bool vertical = g.resized_height != px.height;
    Taps vtaps;
    int row_begin = g.top, row_end = g.top + n;  // source rows the vertical pass reads
    if (vertical) {
        vtaps = bicubic_taps(px.height, g.resized_height, g.top, g.top + n);
        row_begin = *std::min_element(vtaps.first.begin(), vtaps.first.end());
        row_end = 0;
        for (size_t i = 0; i < vtaps.first.size(); ++i) row_end = std::max(row_end, vtaps.first[i] + vtaps.count[i]);
    }

    // Horizontal pass (first, as in PIL) over the rows the vertical pass needs, only for the cropped columns.
    std::vector<uint8_t> mid;
    const uint8_t* mid_data;
    if (horizontal) {
        const Taps htaps = bicubic_taps(px.width, g.resized_width, g.left, g.left + n);
        mid.resize(static_cast<size_t>(row_end - row_begin) * n * ch);
        resample_rows(px.data, px.width, ch, row_begin, row_end, htaps, mid.data());
        mid_data = mid.data();
    } else {
        mid.resize(static_cast<size_t>(row_end - row_begin) * n * ch);
        for (int y = row_begin; y < row_end; ++y)
            std::memcpy(&mid[static_cast<size_t>(y - row_begin) * n * ch],
                        px.data + (static_cast<size_t>(y) * px.width + g.left) * ch, static_cast<size_t>(n) * ch);
        mid_data = mid.data();
    }
    if (vertical) {
        resample_columns(mid_data, n, ch, row_begin, vtaps, out.data());
    } else {
        std::memcpy(out.data(), mid_data, out.size());  // rows [top, top + n) were taken above
    }
    return out;
}

// ---------------------------------------------------------------------------------------------------------
// RGB conversion and normalisation.

// PIL's CMYK → RGB: (255 - K) · (1 - C/255), with its rounded division by 255.
inline uint8_t cmyk_channel(int c, int k) {
    const int nk = 255 - k;
    const int t = c * nk + 128;
    return static_cast<uint8_t>(std::max(nk - (((t >> 8) + t) >> 8), 0));
}

void to_rgb(const uint8_t* px, int channels, bool cmyk, AlphaUse alpha, uint8_t rgb[3]) {
    switch (channels) {
        case 1:
            rgb[0] = rgb[1] = rgb[2] = px[0];
            break;
        case 2:
            rgb[0] = rgb[1] = rgb[2] = alpha == AlphaUse::premultiply ? unpremultiply(px[0], px[1]) : px[0];
            break;
        case 3:
            rgb[0] = px[0], rgb[1] = px[1], rgb[2] = px[2];
            break;
        default:
            if (cmyk) {
                for (int c = 0; c < 3; ++c) rgb[c] = cmyk_channel(px[c], px[3]);
            } else {
                // PIL's convert("RGB") drops alpha without compositing on a background.
                for (int c = 0; c < 3; ++c)
                    rgb[c] = alpha == AlphaUse::premultiply ? unpremultiply(px[c], px[3]) : px[c];
            }
    }
}

void normalise(const std::vector<uint8_t>& crop, int n, int channels, bool cmyk, AlphaUse alpha,
               const PreprocessConfig& config, float* out) {
    // ToTensor divides by 255 in float32, Normalize subtracts and divides in float32: the same operations in
    // the same order give the same floats, and a table saves doing them per pixel.
    float table[3][256];
    for (int c = 0; c < 3; ++c)
        for (int v = 0; v < 256; ++v) table[c][v] = (static_cast<float>(v) / 255.0f - config.mean[c]) / config.std[c];
    const size_t plane = static_cast<size_t>(n) * n;
    for (size_t i = 0; i < plane; ++i) {
        uint8_t rgb[3];
        to_rgb(&crop[i * channels], channels, cmyk, alpha, rgb);
        out[i] = table[0][rgb[0]];
        out[plane + i] = table[1][rgb[1]];
        out[2 * plane + i] = table[2][rgb[2]];
    }
}

void check_config(const PreprocessConfig& config) {
    if (config.resolution <= 0 || config.resolution > 16384)
        throw_error(ErrorCode::usage, "", "preprocess: resolution must be in 1..16384, got " +
                                              std::to_string(config.resolution));
    for (int c = 0; c < 3; ++c)
        if (!(config.std[c] != 0.0f)) throw_error(ErrorCode::usage, "", "preprocess: std must be non-zero");
}

// mutable_data is px.data when the caller owns it (decoded images), null for the caller's own RGB pixels.
void process(Pixels& px, uint8_t* mutable_data, const PreprocessConfig& config, const std::string& place,
             float* out) {
    if (px.alpha == AlphaUse::premultiply && !px.nearest) {
        premultiply(mutable_data, static_cast<size_t>(px.width) * px.height, px.channels);
    }
    const auto crop = resize_and_crop(px, config.resolution, place);
    normalise(crop, config.resolution, px.channels, px.cmyk, px.nearest ? AlphaUse::none : px.alpha, config, out);
}

// ---------------------------------------------------------------------------------------------------------
// Decoding with libvips.

std::once_flag vips_once;
bool vips_ready = false;

void ignore_log(const gchar*, GLogLevelFlags, const gchar*, gpointer) {}

void ensure_vips(const char* argv0) {
    std::call_once(vips_once, [argv0] {
        if (VIPS_INIT(argv0 ? argv0 : "dcar") != 0) return;
        // Callers decode many images on their own threads; vips' own worker threads would only oversubscribe.
        vips_concurrency_set(1);
        // Every image is decoded once: caching operations would only hold memory.
        vips_cache_set_max(0);
        // Loaders libvips marks as unsafe for untrusted input (ImageMagick, MATLAB…) stay off.
        vips_block_untrusted_set(TRUE);
        // Library code never prints: libvips' warnings (libtiff's notices about unknown tags and the like) are
        // dropped; errors still arrive as exceptions.
        g_log_set_handler("VIPS",
                          static_cast<GLogLevelFlags>(G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO |
                                                      G_LOG_LEVEL_DEBUG),
                          ignore_log, nullptr);
        vips_ready = true;
    });
    if (!vips_ready) throw_error(ErrorCode::internal, "", "cannot start libvips: " + std::string(vips_error_buffer()));
}

std::string first_line(const char* message) {
    std::string s = message ? message : "";
    const auto end = s.find('\n');
    if (end != std::string::npos) s.resize(end);
    return s.empty() ? "unknown libvips error" : s;
}

// A PNG's colour type and bit depth from its IHDR, which libvips 8.14 does not report for non-palette images.
struct PngHeader {
    bool is_png = false;
    int bit_depth = 0;
    int colour_type = 0;
};

PngHeader png_header(const uint8_t* data, size_t size) {
    static const uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    PngHeader h;
    if (size >= 26 && std::memcmp(data, signature, 8) == 0 && std::memcmp(data + 12, "IHDR", 4) == 0) {
        h.is_png = true;
        h.bit_depth = data[24];
        h.colour_type = data[25];
    }
    return h;
}

// The palette colour of a GIF's transparent index in its first frame, read from the file (libvips does not
// report it).
struct GifKey {
    bool found = false;
    uint8_t rgb[3] = {0, 0, 0};
};

GifKey gif_transparent_colour(const uint8_t* data, size_t size) {
    GifKey key;
    if (size < 13 || std::memcmp(data, "GIF", 3) != 0) return key;
    auto table_bytes = [](uint8_t packed) { return (packed & 0x80) ? 3u << ((packed & 7) + 1) : 0u; };
    const size_t global_bytes = table_bytes(data[10]);
    size_t pos = 13 + global_bytes;
    int index = -1;
    while (pos < size) {
        const uint8_t block = data[pos];
        if (block == 0x21 && pos + 1 < size) {  // extension: label, then sub-blocks ending with a 0 length
            const uint8_t label = data[pos + 1];
            pos += 2;
            if (label == 0xf9 && pos + 5 < size && data[pos] >= 4 && (data[pos + 1] & 1)) index = data[pos + 4];
            while (pos < size && data[pos] != 0) pos += data[pos] + 1u;
            ++pos;
        } else if (block == 0x2c && pos + 10 <= size) {  // the first image: its local table, if any, wins
            if (index < 0) return key;
            const uint8_t packed = data[pos + 9];
            const size_t table = packed & 0x80 ? pos + 10 : 13;
            const size_t bytes = packed & 0x80 ? table_bytes(packed) : global_bytes;
            key.found = true;
            if (static_cast<size_t>(index) * 3 + 3 <= bytes && table + bytes <= size)
                std::memcpy(key.rgb, data + table + index * 3, 3);  // an index past the table reads as black
            return key;
        } else {
            return key;
        }
    }
    return key;
}

struct GFree {
    void operator()(uint8_t* p) const { g_free(p); }
};
using PixelBuffer = std::unique_ptr<uint8_t, GFree>;

// Decodes into 8-bit pixels and fills in the PIL mode. The returned buffer backs px.data.
PixelBuffer decode(const uint8_t* data, size_t size, const std::string& name, const PreprocessConfig& config,
                   Pixels& px) {
    using vips::VImage;
    if (size == 0) throw_error(ErrorCode::format, name, "cannot decode: empty file");
    const char* loader = vips_foreign_find_load_buffer(data, size);
    if (!loader) {
        const std::string why = first_line(vips_error_buffer());
        vips_error_clear();
        throw_error(ErrorCode::format, name, "cannot decode: " + why);
    }
    // Loader class names vary across libvips versions ("VipsForeignLoadNsgifBuffer" in 8.14), so match loosely.
    std::string loader_name = loader;
    std::transform(loader_name.begin(), loader_name.end(), loader_name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    const bool jpeg = loader_name.find("jpeg") != std::string::npos;
    const bool gif = loader_name.find("gif") != std::string::npos;
    const PngHeader png = png_header(data, size);

    auto options = [](vips::VOption* o) {
        // Truncated files are errors, as in PIL; libvips would otherwise pad them with grey.
        return o->set("access", VIPS_ACCESS_SEQUENTIAL)->set("fail_on", VIPS_FAIL_ON_TRUNCATED);
    };
    try {
        // Loading is lazy: this reads the header only, so the size check comes before any pixel is decoded.
        VImage image = VImage::new_from_buffer(data, size, "", options(VImage::option()));
        const uint64_t pixels = static_cast<uint64_t>(image.width()) * static_cast<uint64_t>(image.height());
        if (pixels > config.max_pixels)
            throw_error(ErrorCode::format, name,
                        "image too large: " + std::to_string(image.width()) + "x" + std::to_string(image.height()) +
                            " pixels (limit " + std::to_string(config.max_pixels) + ")");
        if (jpeg && config.shrink_on_load) {
            const double shorter = std::min(image.width(), image.height());
            int shrink = 1;
            for (int s : {8, 4, 2})
                if (shorter / s >= config.shrink_gap * config.resolution) {
                    shrink = s;
                    break;
                }
            if (shrink > 1)
                image = VImage::new_from_buffer(data, size, "", options(VImage::option())->set("shrink", shrink));
        }

        if (image.format() != VIPS_FORMAT_UCHAR && image.format() != VIPS_FORMAT_USHORT) {
            // Float, signed or 32-bit data (TIFF, FITS…): no PIL behaviour worth matching (PIL clips); libvips
            // maps it to sRGB or grey, and whatever is still not 8-bit is clipped.
            image = image.colourspace(image.bands() <= 2 ? VIPS_INTERPRETATION_B_W : VIPS_INTERPRETATION_sRGB);
            if (image.format() != VIPS_FORMAT_UCHAR) image = image.cast(VIPS_FORMAT_UCHAR);
        }
        const bool cmyk = image.interpretation() == VIPS_INTERPRETATION_CMYK && image.bands() >= 4;
        // Extra bands (TIFF extra samples, CMYK + alpha) carry nothing PIL would show.
        if (image.bands() > 4) image = image.extract_band(0, VImage::option()->set("n", cmyk ? 4 : 3));
        px.cmyk = cmyk;

        // The PIL mode, where the file format decides it.
        bool drop_alpha = false;
        GifKey gif_key;
        if (png.is_png) {
            switch (png.colour_type) {
                case 0:  // grey: an alpha band can only come from tRNS, which PIL keeps out of the pixels
                case 2:  // RGB: likewise
                    drop_alpha = true;
                    px.nearest = png.colour_type == 0 && png.bit_depth == 1;  // PIL mode "1"
                    break;
                case 3:  // palette: PIL mode "P"
                    drop_alpha = true;
                    px.nearest = true;
                    break;
                default:  // grey+alpha, RGBA
                    px.alpha = AlphaUse::premultiply;
            }
        } else if (gif) {
            // PIL opens a GIF's first frame as mode "P"; its RGB conversion shows the transparent index's palette
            // colour, where libvips has made those pixels transparent black. They are repainted below.
            px.nearest = true;
            if (image.bands() == 4) gif_key = gif_transparent_colour(data, size);
            drop_alpha = !gif_key.found;
        } else if (!cmyk && (image.bands() == 2 || image.bands() == 4)) {
            px.alpha = AlphaUse::premultiply;
        }
        if (drop_alpha && (image.bands() == 2 || image.bands() == 4))
            image = image.extract_band(0, VImage::option()->set("n", image.bands() - 1));
        if (px.nearest) px.alpha = AlphaUse::none;

        const bool wide = image.format() == VIPS_FORMAT_USHORT;
        size_t bytes = 0;
        // The decoded image is kept in libvips' own buffer and narrowed or repainted in place: large photographs
        // are tens of megabytes, and every decode thread holds one.
        PixelBuffer memory(static_cast<uint8_t*>(image.write_to_memory(&bytes)));
        px.width = image.width();
        px.height = image.height();
        px.channels = image.bands();
        const size_t count = static_cast<size_t>(px.width) * px.height * px.channels;
        if (!memory || bytes != count * (wide ? 2 : 1))
            throw_error(ErrorCode::internal, name, "unexpected decoded size from libvips");
        uint8_t* out = memory.get();
        if (wide) {
            // 16-bit samples keep their high byte, as PIL's 16-bit PNG modes do. Writing byte i after reading
            // bytes 2i and 2i + 1 never overwrites a sample still to be read.
            for (size_t i = 0; i < count; ++i) {
                uint16_t v;
                std::memcpy(&v, out + 2 * i, 2);
                out[i] = static_cast<uint8_t>(v >> 8);
            }
        }
        if (gif_key.found && px.channels == 4) {
            const size_t n = static_cast<size_t>(px.width) * px.height;
            for (size_t i = 0; i < n; ++i) {
                const uint8_t r = out[i * 4], g = out[i * 4 + 1], b = out[i * 4 + 2];
                const bool transparent = out[i * 4 + 3] == 0;
                out[i * 3] = transparent ? gif_key.rgb[0] : r;
                out[i * 3 + 1] = transparent ? gif_key.rgb[1] : g;
                out[i * 3 + 2] = transparent ? gif_key.rgb[2] : b;
            }
            px.channels = 3;
        }
        px.data = out;
        return memory;
    } catch (const vips::VError& e) {
        // libvips appends to one process-wide error buffer and VError copies it without clearing it, so it is
        // cleared here, or the next failure would report this one's message. (Two threads failing at the same
        // instant can still see each other's lines: the buffer is shared.)
        vips_error_clear();
        throw_error(ErrorCode::format, name, "cannot decode: " + first_line(e.what()));
    }
}

// No image file is this large; the bound keeps a mistaken path (a growing log, a disk image) from filling memory.
constexpr uint64_t max_image_file_bytes = uint64_t(1) << 30;

// Reads a regular file (symlinks followed) of at most max_image_file_bytes. Anything else (a device such as
// /dev/zero, a FIFO, a directory) is refused as a bad item: opened without blocking, checked, never read.
std::vector<uint8_t> read_file(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) throw_errno(path, "cannot open");
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        throw_error(ErrorCode::format, path, "not a regular file");
    }
    if (static_cast<uint64_t>(st.st_size) > max_image_file_bytes) {
        ::close(fd);
        throw_error(ErrorCode::format, path, "larger than 1 GiB: not read as an image");
    }
    std::vector<uint8_t> bytes;
    bytes.reserve(static_cast<size_t>(st.st_size));
    uint8_t chunk[1 << 16];
    for (;;) {
        if (bytes.size() > max_image_file_bytes) {  // grew while being read
            ::close(fd);
            throw_error(ErrorCode::format, path, "larger than 1 GiB: not read as an image");
        }
        const ssize_t got = ::read(fd, chunk, sizeof chunk);
        if (got == 0) break;
        if (got < 0) {
            if (errno == EINTR) continue;
            const int saved = errno;
            ::close(fd);
            errno = saved;
            throw_errno(path, "cannot read");
        }
        bytes.insert(bytes.end(), chunk, chunk + got);
    }
    ::close(fd);
    return bytes;
}

}  // namespace

void init_image_library(const char* argv0) { ensure_vips(argv0); }

void preprocess_buffer(const void* data, size_t size, const std::string& name, const PreprocessConfig& config,
                       float* out) {
    check_config(config);
    ensure_vips("dcar");
    Pixels px;
    const PixelBuffer storage = decode(static_cast<const uint8_t*>(data), size, name, config, px);
    if (px.width <= 0 || px.height <= 0) throw_error(ErrorCode::format, name, "cannot decode: empty image");
    process(px, storage.get(), config, name, out);
}

void preprocess_file(const std::string& path, const PreprocessConfig& config, float* out) {
    const auto bytes = read_file(path);
    preprocess_buffer(bytes.data(), bytes.size(), path, config, out);
}

void preprocess_rgb(const uint8_t* rgb, int width, int height, const PreprocessConfig& config, float* out) {
    check_config(config);
    if (width <= 0 || height <= 0)
        throw_error(ErrorCode::usage, "", "preprocess: image size must be positive, got " + std::to_string(width) +
                                              "x" + std::to_string(height));
    Pixels px;
    px.width = width;
    px.height = height;
    px.channels = 3;
    px.data = rgb;
    process(px, nullptr, config, "", out);
}

}  // namespace dcar::model

namespace dcar::model {

RgbImage decode_rgb_file(const std::string& path, const PreprocessConfig& config) {
    check_config(config);
    ensure_vips("dcar");
    const auto bytes = read_file(path);
    Pixels px;
    const PixelBuffer storage = decode(bytes.data(), bytes.size(), path, config, px);
    if (px.width <= 0 || px.height <= 0) throw_error(ErrorCode::format, path, "cannot decode: empty image");
    RgbImage image;
    image.width = px.width;
    image.height = px.height;
    image.pixels.resize(static_cast<size_t>(px.width) * px.height * 3);
    const size_t count = static_cast<size_t>(px.width) * px.height;
    for (size_t i = 0; i < count; ++i)
        to_rgb(px.data + i * px.channels, px.channels, px.cmyk, AlphaUse::none, &image.pixels[i * 3]);
    return image;
}

void preprocess_region(const RgbImage& image, int left, int top, int width, int height, const PreprocessConfig& config,
                       float* out) {
    check_config(config);
    if (width < 1 || height < 1 || left < 0 || top < 0 || left + width > image.width || top + height > image.height)
        throw_error(ErrorCode::usage, "", "preprocess: crop box outside the image");
    const int n = config.resolution;
    std::vector<uint8_t> box(static_cast<size_t>(width) * height * 3);
    for (int y = 0; y < height; ++y)
        std::memcpy(&box[static_cast<size_t>(y) * width * 3],
                    &image.pixels[(static_cast<size_t>(top + y) * image.width + left) * 3], static_cast<size_t>(width) * 3);
    std::vector<uint8_t> mid(static_cast<size_t>(height) * n * 3);
    resample_rows(box.data(), width, 3, 0, height, bicubic_taps(width, n, 0, n), mid.data());
    std::vector<uint8_t> square(static_cast<size_t>(n) * n * 3);
    resample_columns(mid.data(), n, 3, 0, bicubic_taps(height, n, 0, n), square.data());
    normalise(square, n, 3, false, AlphaUse::none, config, out);
}

void preprocess_decoded(const RgbImage& image, const PreprocessConfig& config, float* out) {
    preprocess_rgb(image.pixels.data(), image.width, image.height, config, out);
}

}  // namespace dcar::model
