// Each block is encoded little-endian into a buffer, then compressed as one zstd frame on a background
// thread, so encoding the next batch overlaps compressing and writing the last (as the zstd CLI overlaps
// its I/O). At most two blocks wait; an error on the worker is rethrown to the caller at its next call.
#include "stream/writer.hpp"

#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <zstd.h>

#include "core/error.hpp"
#include "core/half.hpp"
#include "core/text.hpp"

namespace dcar::stream {

namespace {

void put_u32(std::string& out, uint32_t v) {
    char b[4] = {char(v), char(v >> 8), char(v >> 16), char(v >> 24)};
    out.append(b, 4);
}

void put_u64(std::string& out, uint64_t v) {
    put_u32(out, uint32_t(v));
    put_u32(out, uint32_t(v >> 32));
}

struct CCtxDeleter {
    void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};

class StreamWriter : public EmbeddingWriter {
public:
    StreamWriter(std::unique_ptr<io::Sink> sink, const Header& header, int level)
        : sink_(std::move(sink)), header_(header), cctx_(ZSTD_createCCtx()) {
        if (!cctx_) throw Error(ErrorCode::internal, "zstd: cannot create a compression context");
        ZSTD_CCtx_setParameter(cctx_.get(), ZSTD_c_compressionLevel, level);
        ZSTD_CCtx_setParameter(cctx_.get(), ZSTD_c_checksumFlag, 1);
        std::string block(stream_magic, sizeof stream_magic);
        put_u32(block, stream_version);
        const std::string json = header_.to_json();
        put_u32(block, uint32_t(json.size()));
        block += json;
        worker_ = std::thread([this] { compress_blocks(); });
        enqueue(std::move(block));
    }

    ~StreamWriter() override { stop_worker(); }

    void write(const Batch& batch) override {
        if (batch.dim != header_.dim)
            throw_error(ErrorCode::mismatch, sink_->name(),
                        "rows of dimension " + std::to_string(batch.dim) + " in a stream of dimension " + std::to_string(header_.dim));
        for (size_t start = 0; start < batch.size(); start += rows_per_frame) {
            const size_t end = std::min(batch.size(), start + rows_per_frame);
            std::string block = take_spare();
            block.reserve(8 + (end - start) * (16 + header_.dim * element_size(header_.dtype)));
            block.append(batch_tag, 4);
            put_u32(block, uint32_t(end - start));
            for (size_t i = start; i < end; ++i) {
                const std::string& id = batch.ids[i];
                const std::string& label = batch.labels[i];
                const std::string bad = text::check_id(id);
                if (!bad.empty()) throw_error(ErrorCode::format, sink_->name(), "record " + std::to_string(rows_ + i) + ": " + bad);
                if (id.size() >= max_text_field || label.size() >= max_text_field)
                    throw_error(ErrorCode::format, sink_->name(), "record '" + id.substr(0, 80) + "': id or label longer than 65535 bytes");
                put_u32(block, uint32_t(id.size()));
                put_u32(block, uint32_t(label.size()));
                block += id;
                block += label;
                append_vector(block, batch.row(i));
            }
            enqueue(std::move(block));
            rows_ += end - start;
        }
    }

    void finish() override {
        std::string block(end_tag, 4);
        put_u64(block, rows_);
        enqueue(std::move(block));
        stop_worker();
        if (error_) std::rethrow_exception(error_);
        sink_->commit();
    }

private:
    void append_vector(std::string& block, const float* row) {
        const size_t dim = header_.dim;
        if (header_.dtype == ElementType::f32) {
            block.append(reinterpret_cast<const char*>(row), dim * 4);  // little-endian host (x86-64, arm64)
        } else {
            halves_.resize(dim);
            floats_to_halves(row, halves_.data(), dim);
            block.append(reinterpret_cast<const char*>(halves_.data()), dim * 2);
        }
    }

    void enqueue(std::string block) {
        std::unique_lock<std::mutex> lock(mutex_);
        changed_.wait(lock, [this] { return queue_.size() < 2 || error_; });
        if (error_) std::rethrow_exception(error_);
        queue_.push_back(std::move(block));
        changed_.notify_all();
    }

    void compress_blocks() {
        for (;;) {
            std::string block;
            {
                std::unique_lock<std::mutex> lock(mutex_);
                changed_.wait(lock, [this] { return !queue_.empty() || closing_; });
                if (queue_.empty()) return;
                block = std::move(queue_.front());  // the moved-from front stays as a placeholder until popped
            }
            try {
                write_frame(block);
                sink_->flush();  // a frame per batch reaches the pipe now, so downstream tools start at once
            } catch (...) {
                std::lock_guard<std::mutex> lock(mutex_);
                error_ = std::current_exception();
                queue_.clear();
                changed_.notify_all();
                return;
            }
            std::lock_guard<std::mutex> lock(mutex_);
            queue_.pop_front();
            block.clear();
            spare_.push_back(std::move(block));  // reused: a fresh 8 MB buffer per frame costs page faults
            changed_.notify_all();
        }
    }

    std::string take_spare() {
        std::lock_guard<std::mutex> lock(mutex_);
        if (spare_.empty()) return {};
        std::string block = std::move(spare_.back());
        spare_.pop_back();
        return block;
    }

    void stop_worker() {
        if (!worker_.joinable()) return;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            closing_ = true;
            changed_.notify_all();
        }
        worker_.join();
    }

    void write_frame(const std::string& block) {
        compressed_.resize(ZSTD_compressBound(block.size()));
        const size_t n = ZSTD_compress2(cctx_.get(), compressed_.data(), compressed_.size(), block.data(), block.size());
        if (ZSTD_isError(n)) throw_error(ErrorCode::internal, sink_->name(), std::string("zstd: ") + ZSTD_getErrorName(n));
        sink_->write(compressed_.data(), n);
    }

    std::unique_ptr<io::Sink> sink_;
    Header header_;
    std::unique_ptr<ZSTD_CCtx, CCtxDeleter> cctx_;
    std::thread worker_;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::deque<std::string> queue_;  // blocks waiting to be compressed; the front one is being compressed
    std::vector<std::string> spare_; // written blocks, kept for their capacity
    bool closing_ = false;
    std::exception_ptr error_;
    std::vector<char> compressed_;
    std::vector<uint16_t> halves_;
    uint64_t rows_ = 0;
};

}  // namespace

std::unique_ptr<EmbeddingWriter> open_stream_writer(std::unique_ptr<io::Sink> sink, const Header& header, int level) {
    return std::make_unique<StreamWriter>(std::move(sink), header, level);
}

}  // namespace dcar::stream
