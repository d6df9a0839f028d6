// Streaming decompression: zstd output lands in `pending_`, which the block parser consumes; the compressed
// offset of the frame being decoded is tracked so errors can point at it.
#include "stream/reader.hpp"

#include <cstring>
#include <zstd.h>

#include "core/error.hpp"
#include "core/half.hpp"
#include "stream/writer.hpp"

namespace dcar::stream {

namespace {

uint32_t get_u32(const char* p) {
    const auto* u = reinterpret_cast<const unsigned char*>(p);
    return uint32_t(u[0]) | uint32_t(u[1]) << 8 | uint32_t(u[2]) << 16 | uint32_t(u[3]) << 24;
}

uint64_t get_u64(const char* p) { return uint64_t(get_u32(p)) | uint64_t(get_u32(p + 4)) << 32; }

struct DCtxDeleter {
    void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};

class StreamReader : public EmbeddingReader {
public:
    explicit StreamReader(std::unique_ptr<io::Source> source)
        : source_(std::move(source)), dctx_(ZSTD_createDCtx()), input_(ZSTD_DStreamInSize()) {
        if (!dctx_) throw Error(ErrorCode::internal, "zstd: cannot create a decompression context");
        if (!fill(sizeof stream_magic)) fail("empty input: no stream header");
        read_segment_header(true);
    }

    const Header& header() const override { return header_; }
    const std::string& name() const override { return source_->name(); }

    bool read_batch(Batch& batch, size_t max_rows) override {
        batch.clear();
        batch.dim = header_.dim;
        while (batch.size() < max_rows) {
            if (left_in_block_ == 0 && !next_block()) break;
            read_record(batch);
            --left_in_block_;
        }
        return !batch.empty();
    }

private:
    // Errors about what the stream says name the frame its bytes came from; errors of zstd itself, the frame
    // being decoded.
    [[noreturn]] void fail(const std::string& message) const { fail_at(content_frame_, message); }
    [[noreturn]] void fail_at(uint64_t offset, const std::string& message) const {
        throw_error(ErrorCode::format, source_->name(), "byte " + std::to_string(offset) + ": " + message);
    }

    // The compressed offset of the frame that decoded pending_[pos].
    uint64_t frame_of(size_t pos) const {
        uint64_t frame = frame_start_;
        for (const auto& [first, offset] : origins_)
            if (first <= pos) frame = offset;
        return frame;
    }

    // Makes n unread decompressed bytes available; false if the input ends first (at a frame boundary).
    bool fill(size_t n) {
        while (pending_.size() - pending_pos_ < n) {
            if (pending_pos_ > 0) {
                pending_.erase(pending_.begin(), pending_.begin() + long(pending_pos_));
                for (auto& origin : origins_) origin.first = origin.first > pending_pos_ ? origin.first - pending_pos_ : 0;
                while (origins_.size() > 1 && origins_[1].first == 0) origins_.erase(origins_.begin());
                pending_pos_ = 0;
            }
            if (in_.pos == in_.size) {
                input_base_ += in_.size;
                in_ = {input_.data(), source_->read(input_.data(), input_.size()), 0};
                if (in_.size == 0) {
                    if (in_frame_) fail_at(frame_start_, "truncated zstd frame");
                    return false;
                }
            }
            const size_t old = pending_.size();
            const size_t room = ZSTD_DStreamOutSize();
            pending_.resize(old + room);
            ZSTD_outBuffer out = {pending_.data() + old, room, 0};
            const size_t ret = ZSTD_decompressStream(dctx_.get(), &out, &in_);
            pending_.resize(old + out.pos);
            if (ZSTD_isError(ret)) fail_at(frame_start_, std::string("not a valid zstd frame: ") + ZSTD_getErrorName(ret));
            if (out.pos > 0 && (origins_.empty() || origins_.back().second != frame_start_))
                origins_.emplace_back(old, frame_start_);
            if (ret == 0) {
                frame_start_ = input_base_ + in_.pos;
                in_frame_ = false;
            } else {
                in_frame_ = true;
            }
        }
        return true;
    }

    const char* take(size_t n, const char* what) {
        if (!fill(n)) fail(std::string("truncated stream: input ends inside ") + what);
        content_frame_ = frame_of(pending_pos_);
        const char* p = pending_.data() + pending_pos_;
        pending_pos_ += n;
        return p;
    }

    void read_segment_header(bool first) {
        const char* magic = take(sizeof stream_magic, "the stream header");
        const uint64_t header_frame = content_frame_;
        if (std::memcmp(magic, stream_magic, sizeof stream_magic) != 0)
            fail(first ? "not a dcar embedding stream (bad magic)" : "unexpected data after the end marker");
        const uint32_t version = get_u32(take(4, "the stream header"));
        if (version != stream_version)
            fail("stream format version " + std::to_string(version) + " is not supported (this build reads version " +
                 std::to_string(stream_version) + ")");
        const uint32_t length = get_u32(take(4, "the stream header"));
        if (length > max_header_json) fail("header of " + std::to_string(length) + " bytes is too large");
        const char* json = take(length, "the stream header");
        content_frame_ = header_frame;
        Header h = Header::from_json(std::string(json, length), source_->name() + ": byte " + std::to_string(header_frame));
        if (first) {
            header_ = h;
            reference_ = h;
        } else {
            const std::string why = incompatibility(reference_, h);
            if (!why.empty()) {
                throw_error(ErrorCode::mismatch, source_->name(),
                            "byte " + std::to_string(header_frame) + ": concatenated stream does not match the first: " + why);
            }
            adopt_known_fields(reference_, h);
        }
        segment_dtype_ = h.dtype;
        segment_rows_ = 0;
        in_segment_ = true;
    }

    // Moves to the next batch block; false at the clean end of input.
    bool next_block() {
        for (;;) {
            if (!in_segment_) {
                if (!fill(1)) return false;
                read_segment_header(false);
            }
            if (!fill(4)) fail("truncated stream: no end marker after " + std::to_string(segment_rows_) + " records");
            const char* tag = take(4, "a block tag");
            if (std::memcmp(tag, batch_tag, 4) == 0) {
                left_in_block_ = get_u32(take(4, "a batch block"));
                if (left_in_block_ > 0) return true;
                continue;
            }
            if (std::memcmp(tag, end_tag, 4) == 0) {
                const uint64_t count = get_u64(take(8, "the end marker"));
                if (count != segment_rows_)
                    fail("end marker counts " + std::to_string(count) + " records but " + std::to_string(segment_rows_) + " were read");
                in_segment_ = false;
                continue;
            }
            fail("unknown block tag");
        }
    }

    void read_record(Batch& batch) {
        const char* lengths = take(8, "a record");
        const uint32_t id_len = get_u32(lengths);
        const uint32_t label_len = get_u32(lengths + 4);
        if (id_len == 0 || id_len >= max_text_field || label_len >= max_text_field)
            fail("record " + std::to_string(segment_rows_) + ": bad id or label length");
        const size_t vector_bytes = size_t(header_.dim) * element_size(segment_dtype_);
        const char* p = take(size_t(id_len) + label_len + vector_bytes, "a record");
        batch.ids.emplace_back(p, id_len);
        batch.labels.emplace_back(p + id_len, label_len);
        const size_t at = batch.vectors.size();
        batch.vectors.resize(at + header_.dim);
        const char* v = p + id_len + label_len;
        if (segment_dtype_ == ElementType::f32) {
            std::memcpy(batch.vectors.data() + at, v, vector_bytes);
        } else {
            halves_.resize(header_.dim);
            std::memcpy(halves_.data(), v, vector_bytes);
            halves_to_floats(halves_.data(), batch.vectors.data() + at, header_.dim);
        }
        ++segment_rows_;
    }

    std::unique_ptr<io::Source> source_;
    std::unique_ptr<ZSTD_DCtx, DCtxDeleter> dctx_;
    std::vector<char> input_;
    ZSTD_inBuffer in_ = {nullptr, 0, 0};
    uint64_t input_base_ = 0;   // compressed offset of input_[0]
    uint64_t frame_start_ = 0;  // compressed offset of the frame being decoded
    bool in_frame_ = false;
    std::vector<char> pending_;
    size_t pending_pos_ = 0;
    std::vector<std::pair<size_t, uint64_t>> origins_;  // (first index in pending_, frame offset), ascending
    uint64_t content_frame_ = 0;  // the frame of the bytes taken last

    Header header_;
    Header reference_;  // what later segments must match: the first header plus what later ones told us
    ElementType segment_dtype_ = ElementType::f32;
    uint64_t segment_rows_ = 0;
    bool in_segment_ = false;
    uint32_t left_in_block_ = 0;
    std::vector<uint16_t> halves_;
};

}  // namespace

std::unique_ptr<EmbeddingReader> open_stream_reader(std::unique_ptr<io::Source> source) {
    return std::make_unique<StreamReader>(std::move(source));
}

}  // namespace dcar::stream
