// JPEG through libvips' C++ API. libvips starts once per process, with its own worker threads and operation
// cache off (every image is encoded once, on the caller's thread) and its warnings dropped: the library never
// prints.
#include <mutex>
#include <vips/vips8>

#include "core/error.hpp"
#include "world/world.hpp"

namespace dcar::world {

namespace {

std::once_flag vips_once;
bool vips_ready = false;

void ignore_log(const gchar*, GLogLevelFlags, const gchar*, gpointer) {}

void ensure_vips() {
    std::call_once(vips_once, [] {
        if (VIPS_INIT("dcar-world") != 0) return;
        vips_concurrency_set(1);
        vips_cache_set_max(0);
        g_log_set_handler("VIPS",
                          static_cast<GLogLevelFlags>(G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO |
                                                      G_LOG_LEVEL_DEBUG),
                          ignore_log, nullptr);
        vips_ready = true;
    });
    if (!vips_ready) throw Error(ErrorCode::internal, "cannot start libvips: " + std::string(vips_error_buffer()));
}

std::string first_line(const std::string& s) {
    const size_t end = s.find('\n');
    return end == std::string::npos ? s : s.substr(0, end);
}

}  // namespace

std::string encode_jpeg(const std::vector<uint8_t>& rgb, int width, int height, int quality) {
    ensure_vips();
    if (rgb.size() != size_t(width) * height * 3) throw Error(ErrorCode::internal, "encode_jpeg: buffer size mismatch");
    try {
        const vips::VImage image =
            vips::VImage::new_from_memory(const_cast<uint8_t*>(rgb.data()), rgb.size(), width, height, 3, VIPS_FORMAT_UCHAR);
        void* buffer = nullptr;
        size_t size = 0;
        // No chroma subsampling (marks are a few pixels wide), no metadata (no dates: identical bytes per run).
        image.write_to_buffer(".jpg", &buffer, &size,
                              vips::VImage::option()
                                  ->set("Q", quality)
                                  ->set("strip", true)
                                  ->set("optimize_coding", true)
                                  ->set("subsample_mode", VIPS_FOREIGN_SUBSAMPLE_OFF));
        std::string out(static_cast<const char*>(buffer), size);
        g_free(buffer);
        return out;
    } catch (const vips::VError& e) {
        throw Error(ErrorCode::internal, "libvips cannot encode JPEG: " + first_line(e.what()));
    }
}

std::vector<uint8_t> decode_rgb(const std::string& path, int& width, int& height) {
    ensure_vips();
    try {
        vips::VImage image = vips::VImage::new_from_file(path.c_str(), vips::VImage::option()->set("access", VIPS_ACCESS_SEQUENTIAL));
        if (image.bands() == 1) image = image.bandjoin({image, image});
        if (image.bands() > 3) image = image.extract_band(0, vips::VImage::option()->set("n", 3));
        if (image.format() != VIPS_FORMAT_UCHAR) image = image.cast(VIPS_FORMAT_UCHAR);
        size_t size = 0;
        void* data = image.write_to_memory(&size);
        std::vector<uint8_t> out(static_cast<const uint8_t*>(data), static_cast<const uint8_t*>(data) + size);
        g_free(data);
        width = image.width();
        height = image.height();
        return out;
    } catch (const vips::VError& e) {
        throw Error(ErrorCode::format, path + ": cannot decode: " + first_line(e.what()));
    }
}

}  // namespace dcar::world
