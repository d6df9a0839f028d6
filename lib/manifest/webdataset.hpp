// Webdataset tar shards as input (libarchive): a sample is a run of consecutive members that share a key, the
// member's path up to the first dot of its file name ("dir/000017.jpg" and "dir/000017.txt" are the sample
// "dir/000017" with the extensions "jpg" and "txt"). Listing a shard reads the small text members (caption,
// label) and skips the image data; ImageReader then reads the image members of the listed samples in order,
// in one pass over each shard. Plain tars are read with seeks; gzip, bzip2, xz and zstd tars in one stream.
// Torch-free, so the fuzz target builds it alone.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace dcar::webdataset {

// Which member extensions hold what (as clip-retrieval's --wds_image_key and --wds_caption_key); compared
// case-insensitively. The first image extension a sample has, in this order, is its image.
struct Keys {
    std::vector<std::string> image = {"jpg", "jpeg", "png", "webp"};
    std::string caption = "txt";
    std::string label = "cls";  // "" = none
};
// "jpg,png" → {"jpg", "png"}; a leading dot is dropped. Throws dcar::Error(usage) for an empty list or key.
std::vector<std::string> parse_extensions(const std::string& text, const std::string& option);

struct Sample {
    std::string key;           // __key__
    std::string image_member;  // "" = the sample has no image
    bool has_caption = false;
    std::string caption;       // the text member, trailing white space removed
    std::string label;         // the label member's text, trimmed ("" = none)
};

// Something in a shard that is skipped: `member` is "" for the shard as a whole (not a tar, cut short).
struct Problem {
    std::string member, reason;
};

struct Listing {
    std::vector<Sample> samples;
    std::vector<Problem> problems;
};

constexpr uint64_t max_text_member = 1 << 20;         // a caption or label larger than this is skipped
constexpr uint64_t max_image_member = uint64_t(1) << 30;  // so is an image member larger than this

// Lists the samples of a shard. Throws dcar::Error(io) when the file cannot be opened; what is wrong with it
// (not a tar, cut short, a duplicate key, an oversized or unreadable member) becomes a Problem, and the
// samples before it are kept.
Listing list_shard(const std::string& path, const Keys& keys);
// The same for a shard in memory (`name` for messages); the fuzz target's entry.
Listing list_shard_in_memory(const void* data, size_t size, const Keys& keys);

// Reads image members in the order of a listing, forward only: one open shard at a time, each member read
// once. Reading a member that is not ahead of the last one read reopens the shard.
class ImageReader {
public:
    ImageReader();
    ~ImageReader();
    ImageReader(const ImageReader&) = delete;
    ImageReader& operator=(const ImageReader&) = delete;
    // The bytes of `member` in the shard at `path`. Throws dcar::Error(io|format) naming the shard and the member
    // when it cannot be read (cut short, missing, too large).
    std::string read(const std::string& path, const std::string& member);

private:
    struct Open;
    std::unique_ptr<Open> open_;
};

}  // namespace dcar::webdataset
