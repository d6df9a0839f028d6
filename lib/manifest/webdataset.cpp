#include "manifest/webdataset.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <algorithm>
#include <cstdio>
#include <set>

#include "core/error.hpp"
#include "core/text.hpp"

namespace dcar::webdataset {

namespace {

struct ArchiveFree {
    void operator()(archive* a) const { archive_read_free(a); }
};
using ArchivePtr = std::unique_ptr<archive, ArchiveFree>;

// Tar only, in the compressions webdataset shards come in; no filter that runs an external program.
ArchivePtr new_reader() {
    ArchivePtr a(archive_read_new());
    if (!a) throw Error(ErrorCode::internal, "libarchive: out of memory");
    archive_read_support_format_tar(a.get());
    archive_read_support_format_gnutar(a.get());
    archive_read_support_filter_gzip(a.get());
    archive_read_support_filter_bzip2(a.get());
    archive_read_support_filter_xz(a.get());
    archive_read_support_filter_zstd(a.get());
    return a;
}

std::string error_of(archive* a);

// Opens a shard; `problem` says why a readable file is not a tar (null: throw that as a format error).
ArchivePtr open_file(const std::string& path, std::string* problem = nullptr) {
    if (FILE* f = std::fopen(path.c_str(), "rb")) std::fclose(f);
    else throw_errno(path, "cannot open");
    ArchivePtr a = new_reader();
    if (archive_read_open_filename(a.get(), path.c_str(), 1 << 16) != ARCHIVE_OK) {
        const std::string why = "not a tar archive: " + error_of(a.get());
        if (!problem) throw_error(ErrorCode::format, path, why);
        *problem = why;
        return nullptr;
    }
    return a;
}

std::string error_of(archive* a) {
    const char* why = archive_error_string(a);
    return why ? why : "unknown error";
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return s;
}

// "dir/000017.seg.png" → key "dir/000017", extension "seg.png"; false for a name whose file part has no key
// or no extension (such members belong to no sample).
bool split_name(const std::string& name, std::string& key, std::string& extension) {
    const size_t slash = name.rfind('/');
    const size_t start = slash == std::string::npos ? 0 : slash + 1;
    const size_t dot = name.find('.', start);
    if (dot == std::string::npos || dot == start || dot + 1 == name.size()) return false;
    key = name.substr(0, dot);
    extension = lower(name.substr(dot + 1));
    return true;
}

enum class Read { done, too_large, failed };

// Reads the current member's data into `out`, at most `limit` bytes; on failure `error` says why.
Read read_data(archive* a, uint64_t limit, std::string& out, std::string& error) {
    out.clear();
    char buffer[1 << 16];
    for (;;) {
        const la_ssize_t n = archive_read_data(a, buffer, sizeof buffer);
        if (n == 0) return Read::done;
        if (n < 0) {
            error = error_of(a);
            return Read::failed;
        }
        if (out.size() + size_t(n) > limit) {
            error = "larger than " + std::to_string(limit) + " bytes";
            return Read::too_large;
        }
        out.append(buffer, size_t(n));
    }
}

std::string trimmed_right(std::string s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
    return s;
}

Listing list(archive* a, const Keys& keys) {
    Listing out;
    std::set<std::string> seen;   // keys whose run of members has started
    bool skipping = false;        // the current key repeats an earlier one
    std::string last_member;      // for "cut short after ..."
    bool any_member = false;
    Sample current;
    auto flush = [&] {
        if (!current.key.empty() && !skipping) out.samples.push_back(std::move(current));
        current = Sample{};
    };
    size_t image_rank = keys.image.size();  // of the current sample's image among keys.image
    for (;;) {
        archive_entry* entry = nullptr;
        const int r = archive_read_next_header(a, &entry);
        if (r == ARCHIVE_EOF) break;
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
            out.problems.push_back({"", any_member ? "cut short after " + last_member + ": " + error_of(a)
                                                   : "not a tar archive: " + error_of(a)});
            break;
        }
        any_member = true;
        const char* path = archive_entry_pathname(entry);
        const std::string name = path ? path : "";
        last_member = name;
        if (archive_entry_filetype(entry) != AE_IFREG) continue;
        std::string key, extension;
        if (!split_name(name, key, extension)) continue;
        if (key != current.key) {
            flush();
            image_rank = keys.image.size();
            current.key = key;
            skipping = !seen.insert(key).second;
            if (skipping) out.problems.push_back({name, "key " + key + " appears again after other members; skipped"});
        }
        if (skipping) continue;
        const int64_t size = archive_entry_size_is_set(entry) ? archive_entry_size(entry) : -1;
        const auto image = std::find(keys.image.begin(), keys.image.end(), extension);
        const bool is_caption = extension == keys.caption, is_label = !keys.label.empty() && extension == keys.label;
        if (image != keys.image.end()) {
            if (size > int64_t(max_image_member)) {
                out.problems.push_back({name, "larger than " + std::to_string(max_image_member) + " bytes; skipped"});
                continue;
            }
            const size_t rank = size_t(image - keys.image.begin());
            if (rank < image_rank) {
                image_rank = rank;
                current.image_member = name;
            }
        } else if (is_caption || is_label) {
            if (size > int64_t(max_text_member)) {
                out.problems.push_back({name, "larger than " + std::to_string(max_text_member) + " bytes; skipped"});
                continue;
            }
            std::string text, error;
            const Read r = read_data(a, max_text_member, text, error);
            if (r == Read::too_large) {
                out.problems.push_back({name, error + "; skipped"});
                continue;
            }
            if (r == Read::failed) {  // the archive cannot go on
                out.problems.push_back({name, "cannot read: " + error});
                break;
            }
            if (is_caption) {
                current.has_caption = true;
                current.caption = trimmed_right(text);
            } else {
                current.label = text::trim(text);
            }
        }
    }
    flush();
    return out;
}

}  // namespace

std::vector<std::string> parse_extensions(const std::string& text, const std::string& option) {
    std::vector<std::string> out;
    for (std::string e : text::split(text, ',')) {
        e = lower(text::trim(e));
        if (!e.empty() && e[0] == '.') e.erase(0, 1);
        if (e.empty()) throw Error(ErrorCode::usage, option + ": an empty extension in '" + text + "'");
        out.push_back(e);
    }
    if (out.empty()) throw Error(ErrorCode::usage, option + ": no extension given");
    return out;
}

Listing list_shard(const std::string& path, const Keys& keys) {
    std::string problem;
    ArchivePtr a = open_file(path, &problem);
    if (!a) return Listing{{}, {{"", problem}}};
    return list(a.get(), keys);
}

Listing list_shard_in_memory(const void* data, size_t size, const Keys& keys) {
    ArchivePtr a = new_reader();
    if (archive_read_open_memory(a.get(), data, size) != ARCHIVE_OK) return Listing{{}, {{"", "not a tar archive: " + error_of(a.get())}}};
    return list(a.get(), keys);
}

struct ImageReader::Open {
    std::string path;
    ArchivePtr archive;
    std::string broken;  // the error that ended reading this shard ("" = none)
};

ImageReader::ImageReader() = default;
ImageReader::~ImageReader() = default;

std::string ImageReader::read(const std::string& path, const std::string& member) {
    const std::string where = path + ":" + member;
    if (open_ && open_->path == path && !open_->broken.empty()) throw_error(ErrorCode::format, where, open_->broken);
    // Forward from where the last read stopped; once more from the start when it is not ahead.
    bool from_start = false;  // the current scan began at the shard's first member
    for (int pass = 0; pass < 2; ++pass) {
        if (!open_ || open_->path != path || pass == 1) {
            if (pass == 1 && from_start) break;  // the whole shard was scanned
            open_ = std::make_unique<Open>();
            open_->path = path;
            open_->archive = open_file(path);
            from_start = true;
        }
        archive* a = open_->archive.get();
        for (;;) {
            archive_entry* entry = nullptr;
            const int r = archive_read_next_header(a, &entry);
            if (r == ARCHIVE_EOF) break;
            if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
                open_->broken = "the shard is cut short or damaged before this member: " + error_of(a);
                throw_error(ErrorCode::format, where, open_->broken);
            }
            const char* name = archive_entry_pathname(entry);
            if (!name || member != name || archive_entry_filetype(entry) != AE_IFREG) continue;
            if (archive_entry_size_is_set(entry) && archive_entry_size(entry) > int64_t(max_image_member))
                throw_error(ErrorCode::format, where, "larger than " + std::to_string(max_image_member) + " bytes");
            std::string bytes, error;
            if (archive_entry_size_is_set(entry)) bytes.reserve(size_t(archive_entry_size(entry)));
            const Read outcome = read_data(a, max_image_member, bytes, error);
            if (outcome == Read::too_large) throw_error(ErrorCode::format, where, error);
            if (outcome == Read::failed) {
                open_->broken = "cannot read: " + error;
                throw_error(ErrorCode::format, where, open_->broken);
            }
            return bytes;
        }
    }
    throw_error(ErrorCode::format, where, "no such member in the shard");
}

}  // namespace dcar::webdataset
