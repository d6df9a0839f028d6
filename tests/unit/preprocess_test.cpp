// CLIP image preprocessing against its references: OpenAI's own transform output (golden data from the
// modelzoo package), torchvision + PIL run live on Caltech101 JPEGs and on generated files of every colour
// mode (bench/reference_transform.py, skipped where /usr/bin/python3 lacks torchvision), refusal of bad
// files, JPEG shrink-on-load error, and thread safety. Differences are printed so the numbers can be reported.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vips/vips8>

#include "core/error.hpp"
#include "model/preprocess.hpp"
#include "test_util.hpp"

using dcar::model::PreprocessConfig;
using dcar::model::preprocess_buffer;
using dcar::model::preprocess_file;
using dcar::model::preprocess_rgb;
using vips::VImage;

namespace {

const std::string kPython = "/usr/bin/python3";

bool exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
}

std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void write_bytes(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary);
    out << bytes;
}

// The torchvision reference is optional: Debian's python3-torchvision on the build machine.
bool have_torchvision() {
    static const bool ok =
        exists(kPython) && std::system((kPython + " -c 'import torchvision, PIL, numpy' >/dev/null 2>&1").c_str()) == 0;
    return ok;
}

std::string shell_quote(const std::string& s) {
    std::string q = "'";
    for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
}

// A float32 .npy as numpy.save writes it (format 1.0, little-endian, C order).
std::vector<float> read_npy(const std::string& path) {
    const std::string bytes = read_text(path);
    if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0) return {};
    const size_t header = static_cast<uint8_t>(bytes[8]) | (static_cast<size_t>(static_cast<uint8_t>(bytes[9])) << 8);
    const std::string dict = bytes.substr(10, header);
    if (dict.find("'<f4'") == std::string::npos || dict.find("'fortran_order': False") == std::string::npos) return {};
    const size_t offset = 10 + header;
    std::vector<float> v((bytes.size() - offset) / sizeof(float));
    std::memcpy(v.data(), bytes.data() + offset, v.size() * sizeof(float));
    return v;
}

struct Reference {
    bool ok = false;
    std::string status;  // the script's line after the index: "ok MODE WxH" or "error ..."
    std::vector<float> values;
};

// Runs bench/reference_transform.py over files; one Reference per file.
std::vector<Reference> run_reference(const std::vector<std::string>& files, int resolution, const std::string& dir) {
    ::mkdir(dir.c_str(), 0755);
    std::string cmd = kPython + " " + shell_quote(std::string(DCAR_SOURCE_DIR) + "/bench/reference_transform.py") +
                      " " + std::to_string(resolution) + " " + shell_quote(dir);
    for (const auto& f : files) cmd += " " + shell_quote(f);
    cmd += " >" + shell_quote(dir + "/log") + " 2>" + shell_quote(dir + "/stderr");
    EXPECT_EQ(std::system(cmd.c_str()), 0) << read_text(dir + "/stderr");
    std::vector<Reference> refs(files.size());
    std::istringstream log(read_text(dir + "/log"));
    std::string line;
    while (std::getline(log, line)) {
        const size_t space = line.find(' ');
        const size_t i = std::stoul(line.substr(0, space));
        if (i >= refs.size()) continue;
        refs[i].status = line.substr(space + 1);
        refs[i].ok = refs[i].status.compare(0, 3, "ok ") == 0;
        if (refs[i].ok) refs[i].values = read_npy(dir + "/" + std::to_string(i) + ".npy");
    }
    return refs;
}

struct Diff {
    double max = 0, mean = 0;
    size_t differing = 0;  // values differing by more than float noise
};

Diff compare(const std::vector<float>& a, const std::vector<float>& b) {
    Diff d;
    if (a.size() != b.size() || a.empty()) {
        d.max = d.mean = INFINITY;
        return d;
    }
    double sum = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        const double e = std::fabs(static_cast<double>(a[i]) - b[i]);
        d.max = std::max(d.max, e);
        sum += e;
        if (e > 1e-6) ++d.differing;
    }
    d.mean = sum / a.size();
    return d;
}

std::vector<float> run_file(const std::string& path, const PreprocessConfig& config) {
    std::vector<float> out(3ull * config.resolution * config.resolution);
    preprocess_file(path, config, out.data());
    return out;
}

PreprocessConfig exact_config() {
    PreprocessConfig c;
    c.shrink_on_load = false;
    return c;
}

// One quantisation level of 8-bit input after normalisation, for the green channel (the smallest std).
constexpr double kOneLevel = 1.0 / 255.0 / 0.26130258;

// ---------------------------------------------------------------------------------------------------------
// Generated images: smooth structure, edges and noise, so that resampling differences would show.

uint8_t pattern(int x, int y, int c, uint32_t seed) {
    uint32_t h = (static_cast<uint32_t>(x) * 73856093u) ^ (static_cast<uint32_t>(y) * 19349663u) ^
                 (static_cast<uint32_t>(c + 1) * 83492791u) ^ seed;
    h ^= h >> 13;
    h *= 0x5bd1e995u;
    h ^= h >> 15;
    const double smooth = 110.0 * std::sin(x * 0.031 * (c + 1) + seed) * std::cos(y * 0.047 + c);
    const double edge = ((x / 37 + y / 23) % 2) ? 40.0 : -40.0;
    const double v = 128.0 + smooth + edge + static_cast<int>(h % 41) - 20;
    return static_cast<uint8_t>(std::clamp(v, 0.0, 255.0));
}

std::vector<uint8_t> pattern_pixels(int w, int h, int bands, uint32_t seed) {
    std::vector<uint8_t> px(static_cast<size_t>(w) * h * bands);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            for (int c = 0; c < bands; ++c) px[(static_cast<size_t>(y) * w + x) * bands + c] = pattern(x, y, c, seed);
    return px;
}

// An alpha channel with fully transparent, fully opaque and partial regions.
uint8_t alpha_at(int x, int y, int w, int h) {
    if (x < w / 5) return 0;
    if (y < h / 4) return 255;
    return static_cast<uint8_t>((x * 255) / std::max(w - 1, 1) ^ (y & 0x3f));
}

VImage make_image(std::vector<uint8_t>& storage, int w, int h, int bands, VipsInterpretation interpretation) {
    VImage im = VImage::new_from_memory(storage.data(), storage.size(), w, h, bands, VIPS_FORMAT_UCHAR);
    return im.copy(VImage::option()->set("interpretation", interpretation));
}

// A PNG that declares w×h pixels but holds no image data worth decoding.
std::string png_with_header(uint32_t w, uint32_t h) {
    auto crc32 = [](const std::string& s) {
        uint32_t c = 0xffffffffu;
        for (unsigned char b : s) {
            c ^= b;
            for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
        }
        return c ^ 0xffffffffu;
    };
    auto be32 = [](uint32_t v) {
        std::string s(4, '\0');
        for (int i = 0; i < 4; ++i) s[i] = static_cast<char>(v >> (24 - 8 * i));
        return s;
    };
    auto chunk = [&](const std::string& type, const std::string& data) {
        return be32(static_cast<uint32_t>(data.size())) + type + data + be32(crc32(type + data));
    };
    const std::string ihdr = be32(w) + be32(h) + std::string("\x08\x02\x00\x00\x00", 5);
    const std::string empty_zlib("\x78\x9c\x03\x00\x00\x00\x00\x01", 8);
    return std::string("\x89PNG\r\n\x1a\n", 8) + chunk("IHDR", ihdr) + chunk("IDAT", empty_zlib) + chunk("IEND", "");
}

// A 4×3 greyscale TIFF with a private tag libtiff does not know, which makes libvips log a warning.
std::string tiff_with_unknown_tag() {
    std::string t("II*\0\x08\0\0\0", 8);
    auto u16 = [&](uint16_t v) { t += static_cast<char>(v & 0xff), t += static_cast<char>(v >> 8); };
    auto u32 = [&](uint32_t v) { u16(static_cast<uint16_t>(v & 0xffff)), u16(static_cast<uint16_t>(v >> 16)); };
    const uint16_t kShort = 3, kLong = 4;
    const uint32_t entries = 10, pixels_at = 8 + 2 + entries * 12 + 4;
    u16(entries);
    auto entry = [&](uint16_t tag, uint16_t type, uint32_t value) {
        u16(tag), u16(type), u32(1);
        if (type == kShort) u16(static_cast<uint16_t>(value)), u16(0);
        else u32(value);
    };
    entry(256, kShort, 4);          // width
    entry(257, kShort, 3);          // height
    entry(258, kShort, 8);          // bits per sample
    entry(259, kShort, 1);          // no compression
    entry(262, kShort, 1);          // black is zero
    entry(273, kLong, pixels_at);   // strip offset
    entry(277, kShort, 1);          // samples per pixel
    entry(278, kShort, 3);          // rows per strip
    entry(279, kLong, 12);          // strip bytes
    entry(65000, kShort, 7);        // unknown
    u32(0);
    for (int i = 0; i < 12; ++i) t += static_cast<char>(i * 20);
    return t;
}

class PreprocessFiles : public ::testing::Test {
protected:
    void SetUp() override {
        dcar::model::init_image_library("preprocess_test");
        ASSERT_FALSE(dir_.path().empty());
    }
    std::string file(const std::string& name) const { return dir_.file(name); }
    dcar::test::TempDir dir_;
};

// Every generated colour mode, written by libvips: name → path.
std::vector<std::pair<std::string, std::string>> write_vips_samples(const dcar::test::TempDir& dir) {
    std::vector<std::pair<std::string, std::string>> files;
    auto add = [&](const std::string& name, VImage im, const char* options = "") {
        const std::string path = dir.file(name);
        im.write_to_file((path + options).c_str());
        files.emplace_back(name, path);
    };
    const int w = 333, h = 251;
    auto rgb = pattern_pixels(w, h, 3, 1);
    auto grey = pattern_pixels(w, h, 1, 2);
    auto ga = pattern_pixels(w, h, 2, 3);
    auto rgba = pattern_pixels(w, h, 4, 4);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            ga[(static_cast<size_t>(y) * w + x) * 2 + 1] = alpha_at(x, y, w, h);
            rgba[(static_cast<size_t>(y) * w + x) * 4 + 3] = alpha_at(x, y, w, h);
        }
    auto cmyk = pattern_pixels(w, h, 4, 5);
    add("rgb.jpg", make_image(rgb, w, h, 3, VIPS_INTERPRETATION_sRGB), "[Q=90]");
    add("rgb.png", make_image(rgb, w, h, 3, VIPS_INTERPRETATION_sRGB));
    add("grey.jpg", make_image(grey, w, h, 1, VIPS_INTERPRETATION_B_W), "[Q=90]");
    add("grey.png", make_image(grey, w, h, 1, VIPS_INTERPRETATION_B_W));
    add("grey_alpha.png", make_image(ga, w, h, 2, VIPS_INTERPRETATION_B_W));
    add("rgba.png", make_image(rgba, w, h, 4, VIPS_INTERPRETATION_sRGB));
    add("rgb.tif", make_image(rgb, w, h, 3, VIPS_INTERPRETATION_sRGB));
    add("rgba.tif", make_image(rgba, w, h, 4, VIPS_INTERPRETATION_sRGB));
    add("rgba.webp", make_image(rgba, w, h, 4, VIPS_INTERPRETATION_sRGB), "[lossless]");
    add("cmyk.jpg", make_image(cmyk, w, h, 4, VIPS_INTERPRETATION_CMYK), "[Q=90]");
    // 16 bits: the 8-bit pattern spread over the full range with distinct low bytes.
    std::vector<uint16_t> rgb16(rgb.size());
    for (size_t i = 0; i < rgb.size(); ++i) rgb16[i] = static_cast<uint16_t>(rgb[i] * 257 ^ (i & 0x7f));
    VImage im16 = VImage::new_from_memory(rgb16.data(), rgb16.size() * 2, w, h, 3, VIPS_FORMAT_USHORT)
                      .copy(VImage::option()->set("interpretation", VIPS_INTERPRETATION_RGB16));
    add("rgb16.png", im16);
    add("grey16.png", im16.extract_band(1).copy(VImage::option()->set("interpretation", VIPS_INTERPRETATION_GREY16)));
    std::vector<uint16_t> rgba16(rgba.size());
    for (size_t i = 0; i < rgba.size(); ++i) rgba16[i] = static_cast<uint16_t>(rgba[i] * 257 ^ (i & 0x7f));
    VImage im16a = VImage::new_from_memory(rgba16.data(), rgba16.size() * 2, w, h, 4, VIPS_FORMAT_USHORT)
                       .copy(VImage::option()->set("interpretation", VIPS_INTERPRETATION_RGB16));
    add("rgba16.png", im16a);
    add("grey_alpha16.png", im16a.extract_band(2, VImage::option()->set("n", 2))
                                .copy(VImage::option()->set("interpretation", VIPS_INTERPRETATION_GREY16)));
    add("progressive.jpg", make_image(rgb, w, h, 3, VIPS_INTERPRETATION_sRGB), "[Q=90,interlace]");
    add("interlaced.png", make_image(rgba, w, h, 4, VIPS_INTERPRETATION_sRGB), "[interlace]");
    std::vector<uint8_t> one = {200, 30, 90};
    add("one.png", make_image(one, 1, 1, 3, VIPS_INTERPRETATION_sRGB));
    add("one.jpg", make_image(one, 1, 1, 3, VIPS_INTERPRETATION_sRGB), "[Q=95]");
    auto wide = pattern_pixels(2000, 10, 3, 6);
    add("wide.jpg", make_image(wide, 2000, 10, 3, VIPS_INTERPRETATION_sRGB), "[Q=90]");
    auto tall = pattern_pixels(7, 900, 3, 7);
    add("tall.png", make_image(tall, 7, 900, 3, VIPS_INTERPRETATION_sRGB));
    auto exact = pattern_pixels(224, 224, 3, 8);
    add("exact.png", make_image(exact, 224, 224, 3, VIPS_INTERPRETATION_sRGB));
    auto portrait = pattern_pixels(224, 301, 3, 9);
    add("width224.png", make_image(portrait, 224, 301, 3, VIPS_INTERPRETATION_sRGB));
    return files;
}

// Files only PIL writes conveniently: PNG tRNS on grey, RGB and palette images, 1- and 2-bit grey, an EXIF
// rotated JPEG (not to be rotated), PIL's own CMYK JPEG, GIF, WebP with alpha.
const char* kPilSamples = R"PY(
import sys, numpy as np
from PIL import Image
d = sys.argv[1]
rng = np.random.default_rng(7)
y, x = np.mgrid[0:241, 0:317]
base = (128 + 100 * np.sin(x * 0.05) * np.cos(y * 0.07)).astype(np.uint8)
rgb = np.stack([base, np.roll(base, 40, 1), (base // 2 + rng.integers(0, 100, base.shape)).astype(np.uint8)], 2)
Image.fromarray(base).save(d + "/pil_grey_trns.png", transparency=100)
Image.fromarray(rgb).save(d + "/pil_rgb_trns.png", transparency=(100, 100, 100))
p = Image.fromarray(rgb).quantize(50)
p.save(d + "/pil_palette.png")
p.save(d + "/pil_palette_trns.png", transparency=3)
p.save(d + "/pil.gif")
p.save(d + "/pil_trns.gif", transparency=3)
# Nearest-neighbour geometry on palette images of awkward sizes.
sizes = [(3, 1000), (999, 998), (225, 500), (500, 225), (1001, 333), (224, 225), (17, 19), (4097, 300)]
for i, (w, h) in enumerate(sizes):
    Image.fromarray(rgb).resize((w, h)).quantize(30).save(d + f"/pil_palette_{i}.png")
Image.fromarray(base).convert("1").save(d + "/pil_bilevel.png")
Image.fromarray(base).save(d + "/pil_grey2.png", bits=2)
la = Image.fromarray(np.stack([base, (x * 255 // 316).astype(np.uint8)], 2), "LA")
la.save(d + "/pil_la.png")
Image.fromarray(rgb).convert("CMYK").save(d + "/pil_cmyk.jpg", quality=90)
exif = Image.Exif(); exif[0x0112] = 6
Image.fromarray(rgb).save(d + "/pil_exif6.jpg", quality=90, exif=exif.tobytes())
rgba = Image.fromarray(np.concatenate([rgb, (x * 255 // 316).astype(np.uint8)[..., None]], 2), "RGBA")
rgba.save(d + "/pil_rgba.webp", lossless=True)
)PY";

}  // namespace

// ---------------------------------------------------------------------------------------------------------

// OpenAI's transform on a 128×64 image at resolution 32, from the modelzoo golden file: input HWC uint8,
// output stored HWC (the CHW tensor transposed). The reference is itself PIL + torchvision in float32, so the
// same integer resampling and the same float operations should give the same floats.
TEST(PreprocessGolden, MatchesOpenAITransform) {
    const std::string path = DCAR_CLIP_DATA;
    if (!exists(path)) GTEST_SKIP() << "no " << path;
    const auto data = nlohmann::json::parse(read_text(path));
    PreprocessConfig config;
    config.resolution = data.at("transform_resolution").get<int>();
    const auto& input = data.at("transform_input");
    const int height = static_cast<int>(input.size()), width = static_cast<int>(input.at(0).size());
    ASSERT_EQ(input.at(0).at(0).size(), 3u);
    std::vector<uint8_t> rgb;
    for (const auto& row : input)
        for (const auto& px : row)
            for (const auto& v : px) rgb.push_back(static_cast<uint8_t>(v.get<int>()));
    const int n = config.resolution;
    std::vector<float> out(3ull * n * n);
    preprocess_rgb(rgb.data(), width, height, config, out.data());

    const auto& expected = data.at("transform_output");
    ASSERT_EQ(expected.size(), static_cast<size_t>(n));
    double max_diff = 0;
    for (int y = 0; y < n; ++y)
        for (int x = 0; x < n; ++x)
            for (int c = 0; c < 3; ++c)
                max_diff = std::max(max_diff, std::fabs(expected[y][x][c].get<double>() -
                                                        out[(static_cast<size_t>(c) * n + y) * n + x]));
    std::cout << "[golden] " << width << "x" << height << " → " << n << ": max |diff| " << max_diff << "\n";
    // Float32 values printed as doubles: exact agreement leaves at most float rounding (~1e-7 at |v| ≈ 2).
    EXPECT_LE(max_diff, 1e-6);
}

// The geometry is torchvision's: short side → n, long → int(n·long/short), crop corner round((size − n)/2) with
// Python's half-to-even rounding. A 1-pixel-wide stripe at a known column shows where the crop landed.
TEST(PreprocessGolden, CropUsesPythonRounding) {
    PreprocessConfig config;
    config.resolution = 4;
    // 4×7 → no resize; (7 − 4) / 2 = 1.5 rounds to 2: output row 0 is input row 2.
    const int w = 4, h = 7;
    std::vector<uint8_t> rgb(w * h * 3);
    for (int y = 0; y < h; ++y)
        for (int i = 0; i < w * 3; ++i) rgb[(y * w) * 3 + i] = static_cast<uint8_t>(y * 30);
    std::vector<float> out(3 * 16);
    preprocess_rgb(rgb.data(), w, h, config, out.data());
    EXPECT_FLOAT_EQ(out[0], (60.0f / 255.0f - config.mean[0]) / config.std[0]);
    // 4×9: (9 − 4) / 2 = 2.5 rounds to 2 as well.
    std::vector<uint8_t> rgb9(4 * 9 * 3);
    for (int y = 0; y < 9; ++y)
        for (int i = 0; i < 12; ++i) rgb9[(y * 4) * 3 + i] = static_cast<uint8_t>(y * 20);
    preprocess_rgb(rgb9.data(), 4, 9, config, out.data());
    EXPECT_FLOAT_EQ(out[0], (40.0f / 255.0f - config.mean[0]) / config.std[0]);
}

// Real JPEGs of varied sizes (upscaled, downscaled, one side already 224, square, extreme aspect, greyscale)
// against torchvision + PIL run now on the same files.
TEST_F(PreprocessFiles, PreprocessCaltechMatchesTorchvision) {
    if (dcar::test::test_data_dir().empty()) GTEST_SKIP() << dcar::test::no_test_data;
    const std::string root = dcar::test::test_data_dir() + "/data/caltech101/101_ObjectCategories/";
    ASSERT_TRUE(exists(root)) << root;
    if (!have_torchvision()) GTEST_SKIP() << kPython << " lacks torchvision";
    const char* names[] = {
        "flamingo/image_0002.jpg",   "ceiling_fan/image_0021.jpg", "electric_guitar/image_0049.jpg",
        "Faces/image_0163.jpg",      "Faces/image_0160.jpg",       "airplanes/image_0254.jpg",
        "anchor/image_0034.jpg",     "Motorbikes/image_0533.jpg",  "anchor/image_0024.jpg",
        "Motorbikes/image_0512.jpg", "camera/image_0045.jpg",      "car_side/image_0057.jpg",
        "laptop/image_0053.jpg",     "airplanes/image_0433.jpg",   "airplanes/image_0119.jpg",
        "Leopards/image_0020.jpg",   "cellphone/image_0009.jpg",   "ewer/image_0005.jpg",
        "Faces/image_0001.jpg",      "airplanes/image_0013.jpg",   "camera/image_0004.jpg",
        "ferry/image_0003.jpg",
    };
    std::vector<std::string> files;
    for (const char* n : names)
        if (exists(root + n)) files.push_back(root + n);
    ASSERT_GE(files.size(), 10u);
    const auto refs = run_reference(files, 224, dir_.path());
    const auto config = exact_config();
    double worst = 0, total_ms = 0;
    for (size_t i = 0; i < files.size(); ++i) {
        ASSERT_TRUE(refs[i].ok) << files[i] << ": " << refs[i].status;
        const auto start = std::chrono::steady_clock::now();
        const auto ours = run_file(files[i], config);
        total_ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
        const Diff d = compare(ours, refs[i].values);
        worst = std::max(worst, d.max);
        std::printf("[caltech] %-32s %-14s max %.3g mean %.3g differing %zu\n", files[i].substr(root.size()).c_str(),
                    refs[i].status.substr(3).c_str(), d.max, d.mean, d.differing);
        // libvips and PIL decode with the same libjpeg-turbo and the resampling is PIL's integer arithmetic:
        // every value should agree to float rounding. A single 8-bit level somewhere would show as ≥ 0.014.
        EXPECT_LE(d.max, 1e-5) << files[i];
    }
    std::printf("[caltech] %zu images, worst max |diff| %.3g, %.2f ms per image (decode + preprocess)\n",
                files.size(), worst, total_ms / files.size());
}

// Every colour mode through both pipelines. Expected exact, except where preprocess.hpp documents a
// difference (16-bit greyscale).
TEST_F(PreprocessFiles, PreprocessModesMatchTorchvision) {
    if (!have_torchvision()) GTEST_SKIP() << kPython << " lacks torchvision";
    auto samples = write_vips_samples(dir_);
    const std::string pil_script = file("pil_samples.py");
    write_bytes(pil_script, kPilSamples);
    ASSERT_EQ(std::system((kPython + " " + shell_quote(pil_script) + " " + shell_quote(dir_.path())).c_str()), 0);
    for (const char* n : {"pil_grey_trns.png", "pil_rgb_trns.png", "pil_palette.png", "pil_palette_trns.png", "pil.gif",
                          "pil_bilevel.png", "pil_grey2.png", "pil_la.png", "pil_cmyk.jpg", "pil_exif6.jpg",
                          "pil_rgba.webp", "pil_trns.gif"})
        samples.emplace_back(n, file(n));
    for (int i = 0; i < 8; ++i) {
        const std::string n = "pil_palette_" + std::to_string(i) + ".png";
        samples.emplace_back(n, file(n));
    }
    std::vector<std::string> paths;
    for (const auto& s : samples) paths.push_back(s.second);
    const std::string out_dir = file("ref");
    const auto refs = run_reference(paths, 224, out_dir);
    const auto config = exact_config();
    for (size_t i = 0; i < samples.size(); ++i) {
        const std::string& name = samples[i].first;
        ASSERT_TRUE(refs[i].ok) << name << ": " << refs[i].status;
        const auto ours = run_file(samples[i].second, config);
        const Diff d = compare(ours, refs[i].values);
        std::printf("[modes] %-22s PIL %-16s max %.3g mean %.3g differing %zu\n", name.c_str(),
                    refs[i].status.substr(3).c_str(), d.max, d.mean, d.differing);
        if (name == "grey16.png") {
            // PIL clips mode "I" to 255 (a near-white image); we keep the high byte. They must differ.
            EXPECT_GT(d.mean, 0.1) << name;
            continue;
        }
        EXPECT_LE(d.max, 1e-5) << name;
    }
}

// Bad input is a dcar::Error naming the file: format for undecodable data, io for a missing file.
TEST_F(PreprocessFiles, PreprocessRefusesBadFiles) {
    const auto config = exact_config();
    std::vector<float> out(3 * 224 * 224);
    auto expect_error = [&](const std::string& path, dcar::ErrorCode code, const std::string& fragment,
                            const PreprocessConfig& c) {
        try {
            preprocess_file(path, c, out.data());
            ADD_FAILURE() << path << ": no error";
        } catch (const dcar::Error& e) {
            EXPECT_EQ(e.code(), code) << e.what();
            EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
            EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
            std::cout << "[errors] " << e.what() << "\n";
        }
    };
    write_bytes(file("empty.jpg"), "");
    expect_error(file("empty.jpg"), dcar::ErrorCode::format, "empty", config);
    write_bytes(file("text.jpg"), "this is not an image\n");
    expect_error(file("text.jpg"), dcar::ErrorCode::format, "cannot decode", config);
    expect_error(file("missing.jpg"), dcar::ErrorCode::io, "cannot open", config);

    // A valid JPEG cut in half: PIL refuses it ("image file is truncated") and so do we.
    auto px = pattern_pixels(300, 200, 3, 11);
    make_image(px, 300, 200, 3, VIPS_INTERPRETATION_sRGB).write_to_file(file("whole.jpg").c_str());
    const std::string whole = read_text(file("whole.jpg"));
    write_bytes(file("half.jpg"), whole.substr(0, whole.size() / 2));
    expect_error(file("half.jpg"), dcar::ErrorCode::format, "cannot decode", config);
    make_image(px, 300, 200, 3, VIPS_INTERPRETATION_sRGB).write_to_file(file("whole.png").c_str());
    const std::string whole_png = read_text(file("whole.png"));
    write_bytes(file("half.png"), whole_png.substr(0, whole_png.size() / 2));
    expect_error(file("half.png"), dcar::ErrorCode::format, "cannot decode", config);

    // Files that only make a decoder complain (junk before JPEG's end marker; a TIFF tag libtiff does not know,
    // which libvips reports with g_warning) decode, as in PIL, and nothing is printed: library code never prints.
    write_bytes(file("junk.jpg"), whole.substr(0, whole.size() - 2) + "junk" + whole.substr(whole.size() - 2));
    write_bytes(file("tag.tif"), tiff_with_unknown_tag());
    {
        const int saved = ::dup(2);
        const int capture = ::open(file("stderr.txt").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        ::dup2(capture, 2);
        EXPECT_NO_THROW(preprocess_file(file("junk.jpg"), config, out.data()));
        EXPECT_NO_THROW(preprocess_file(file("tag.tif"), config, out.data()));
        ::dup2(saved, 2);
        ::close(capture);
        ::close(saved);
        EXPECT_EQ(read_text(file("stderr.txt")), "");
    }

    // Decompression bombs are refused from the header, before any decoding (this one has no pixel data).
    write_bytes(file("huge.png"), png_with_header(100000, 100000));
    expect_error(file("huge.png"), dcar::ErrorCode::format, "too large", config);
    PreprocessConfig small = config;
    small.max_pixels = 300 * 200 - 1;
    expect_error(file("whole.jpg"), dcar::ErrorCode::format, "too large", small);
    small.max_pixels = 300 * 200;
    EXPECT_NO_THROW(preprocess_file(file("whole.jpg"), small, out.data()));

    if (have_torchvision()) {
        const auto refs = run_reference({file("half.jpg"), file("half.png"), file("huge.png")}, 224, file("ref"));
        for (const auto& r : refs) {
            EXPECT_FALSE(r.ok) << "PIL accepted a file we refuse: " << r.status;
            std::cout << "[errors] PIL: " << r.status << "\n";
        }
    }
}

// The generated modes decode and give finite values in range even without the Python reference; the buffer
// and file entry points agree.
TEST_F(PreprocessFiles, PreprocessDecodesEveryMode) {
    const auto samples = write_vips_samples(dir_);
    const auto config = exact_config();
    const float lo = (0.0f - 0.48145466f) / 0.26130258f - 0.01f, hi = (1.0f - 0.40821073f) / 0.26130258f + 0.01f;
    for (const auto& [name, path] : samples) {
        const auto a = run_file(path, config);
        for (float v : a) ASSERT_TRUE(std::isfinite(v) && v >= lo && v <= hi) << name << " " << v;
        const std::string bytes = read_text(path);
        std::vector<float> b(a.size());
        preprocess_buffer(bytes.data(), bytes.size(), name, config, b.data());
        EXPECT_EQ(a, b) << name;
    }
    // A 1×1 image becomes a flat 224×224 image of its colour (PNG is lossless).
    const auto one = run_file(file("one.png"), config);
    const float red = (200.0f / 255.0f - config.mean[0]) / config.std[0];
    EXPECT_EQ(*std::min_element(one.begin(), one.begin() + 224 * 224), red);
    EXPECT_EQ(*std::max_element(one.begin(), one.begin() + 224 * 224), red);
}

// Decoding from 4 threads at once gives exactly what decoding one by one gives.
TEST_F(PreprocessFiles, PreprocessThreadsAgreeWithSequential) {
    std::vector<std::string> files;
    for (int i = 0; i < 50; ++i) {
        const int w = 120 + 37 * i % 400, h = 90 + 53 * i % 350;
        auto px = pattern_pixels(w, h, 3, 100 + i);
        const std::string path = file("t" + std::to_string(i) + (i % 3 ? ".jpg" : ".png"));
        make_image(px, w, h, 3, VIPS_INTERPRETATION_sRGB).write_to_file(path.c_str());
        files.push_back(path);
    }
    PreprocessConfig config;  // defaults, shrink-on-load included
    const size_t n = 3ull * config.resolution * config.resolution;
    std::vector<std::vector<float>> sequential;
    for (const auto& f : files) sequential.push_back(run_file(f, config));
    std::vector<std::vector<float>> parallel(files.size(), std::vector<float>(n));
    std::atomic<size_t> next{0};
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
            for (size_t i; (i = next++) < files.size();) {
                try {
                    preprocess_file(files[i], config, parallel[i].data());
                } catch (...) {
                    ++failures;
                }
            }
        });
    for (auto& t : threads) t.join();
    EXPECT_EQ(failures.load(), 0);
    for (size_t i = 0; i < files.size(); ++i) EXPECT_EQ(sequential[i], parallel[i]) << files[i];
}

// JPEG shrink-on-load trades exactness for speed on large photographs. Two 4000×3000 JPEGs (camera size) show
// how far it moves values at each gap: a mosaic of real photographs (Caltech, enlarged ×2, so rather smooth)
// and the synthetic pattern with per-pixel noise (a worst case for DCT-domain scaling). The default gap must
// stay under one 8-bit level of mean error on both, and shrinking must never engage below its gap.
TEST_F(PreprocessFiles, PreprocessShrinkOnLoadStaysClose) {
    const std::string root = dcar::test::test_data_dir() + "/data/caltech101/101_ObjectCategories/";  // optional here
    const int w = 4000, h = 3000;
    std::vector<std::pair<std::string, std::vector<uint8_t>>> sources;
    sources.emplace_back("synthetic", pattern_pixels(w, h, 3, 42));
    if (exists(root + "Faces/image_0001.jpg")) {
        const char* tiles[] = {"Faces/image_0001.jpg", "Leopards/image_0020.jpg", "ferry/image_0003.jpg",
                               "camera/image_0004.jpg", "airplanes/image_0013.jpg", "anchor/image_0024.jpg",
                               "ewer/image_0005.jpg", "Motorbikes/image_0533.jpg"};
        VImage canvas = VImage::black(w, h, VImage::option()->set("bands", 3));
        int k = 0;
        for (int y = 0; y < h; y += 500)
            for (int x = 0; x < w; x += 600, ++k) {
                VImage t = VImage::new_from_file((root + tiles[k % 8]).c_str());
                if (t.bands() == 1) t = t.bandjoin({t, t});
                t = t.resize(2.0);
                t = t.crop(0, 0, std::min(600, t.width()), std::min(500, t.height()));
                canvas = canvas.insert(t, x, y);
            }
        size_t bytes = 0;
        void* mem = canvas.cast(VIPS_FORMAT_UCHAR).write_to_memory(&bytes);
        const auto* begin = static_cast<uint8_t*>(mem);
        sources.emplace_back("caltech mosaic", std::vector<uint8_t>(begin, begin + bytes));
        g_free(mem);
    }
    const double default_gap = PreprocessConfig{}.shrink_gap;
    for (auto& [label, pixels] : sources) {
        const std::string path = file("big.jpg");
        make_image(pixels, w, h, 3, VIPS_INTERPRETATION_sRGB).write_to_file((path + "[Q=90]").c_str());
        const auto timed = [&](const PreprocessConfig& c, std::vector<float>& out) {
            const auto start = std::chrono::steady_clock::now();
            out = run_file(path, c);
            return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
        };
        std::vector<float> reference;
        const double exact_ms = timed(exact_config(), reference);
        std::printf("[shrink] %s %dx%d JPEG, exact: %.0f ms\n", label.c_str(), w, h, exact_ms);
        for (double gap : {1.0, 2.0, 3.0, 4.0, 8.0}) {
            PreprocessConfig c;
            c.shrink_gap = gap;
            std::vector<float> out;
            const double ms = timed(c, out);
            const Diff d = compare(out, reference);
            int shrink = 1;
            for (int s : {8, 4, 2})
                if (h / s >= gap * 224) {
                    shrink = s;
                    break;
                }
            std::printf("[shrink]   gap %.0f (1/%d): %.0f ms, max %.3g mean %.3g (%.2f levels)\n", gap, shrink, ms,
                        d.max, d.mean, d.mean / kOneLevel);
            if (shrink == 1) {
                EXPECT_EQ(d.max, 0) << label << ": shrink engaged below its gap";
            }
            if (gap == default_gap) {
                EXPECT_LE(d.mean, kOneLevel) << label;
            }
        }
    }
}
