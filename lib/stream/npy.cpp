// The .npy header is a Python dict literal; we parse exactly the three keys numpy writes and reject anything
// we would misread (big-endian, Fortran order, other dtypes, other ranks).
#include "stream/npy.hpp"

#include <algorithm>
#include <cstring>
#include <regex>

#include "core/error.hpp"
#include "core/half.hpp"
#include "core/text.hpp"

namespace dcar::stream {

namespace {

class NpyReader : public EmbeddingReader {
public:
    NpyReader(std::unique_ptr<io::Source> source, std::unique_ptr<io::Source> ids, Modality modality)
        : source_(std::move(source)), ids_(std::move(ids)) {
        parse_header();
        header_.modality = modality;
        header_.provenance.push_back({"npy", "", source_->name()});
    }

    const Header& header() const override { return header_; }
    const std::string& name() const override { return source_->name(); }

    bool read_batch(Batch& batch, size_t max_rows) override {
        batch.clear();
        batch.dim = header_.dim;
        const size_t row_bytes = size_t(header_.dim) * element_size(header_.dtype);
        // All rows of the batch in one read, straight into place for float32.
        const size_t n = size_t(std::min<uint64_t>(max_rows, rows_ - row_));
        if (n > 0) {
            batch.vectors.resize(n * header_.dim);
            char* target = header_.dtype == ElementType::f32 ? reinterpret_cast<char*>(batch.vectors.data()) : nullptr;
            if (!target) {
                raw_.resize(n * row_bytes);
                target = raw_.data();
            }
            if (!source_->read_exact(target, n * row_bytes, "array rows"))
                fail("truncated array: " + std::to_string(row_) + " of " + std::to_string(rows_) + " rows present");
            if (header_.dtype == ElementType::f16) {
                halves_.resize(n * header_.dim);
                std::memcpy(halves_.data(), raw_.data(), n * row_bytes);
                halves_to_floats(halves_.data(), batch.vectors.data(), n * header_.dim);
            }
            for (size_t i = 0; i < n; ++i, ++row_) {
                std::string id = std::to_string(row_), label;
                if (ids_) read_id_line(id, label);
                batch.ids.push_back(std::move(id));
                batch.labels.push_back(std::move(label));
            }
        }
        if (row_ == rows_ && !finished_) {
            finished_ = true;
            char extra;
            if (source_->read(&extra, 1) != 0) fail("trailing bytes after " + std::to_string(rows_) + " rows");
            std::string id, label;
            if (ids_ && next_line(id)) throw_error(ErrorCode::format, ids_->name(), "more ids than the array's " + std::to_string(rows_) + " rows");
        }
        return !batch.empty();
    }

private:
    [[noreturn]] void fail(const std::string& message) const {
        throw_error(ErrorCode::format, source_->name(), "byte " + std::to_string(source_->offset()) + ": " + message);
    }

    void parse_header() {
        char prefix[10];
        if (!source_->read_exact(prefix, sizeof prefix, "the .npy preamble")) fail("empty input");
        if (std::memcmp(prefix, npy_magic, sizeof npy_magic) != 0) fail("not a .npy file (bad magic)");
        const int major = static_cast<unsigned char>(prefix[6]);
        uint32_t length;
        if (major == 1) {
            length = uint32_t(static_cast<unsigned char>(prefix[8])) | uint32_t(static_cast<unsigned char>(prefix[9])) << 8;
        } else if (major == 2 || major == 3) {
            char more[2];
            source_->read_exact(more, 2, "the .npy preamble");
            length = uint32_t(static_cast<unsigned char>(prefix[8])) | uint32_t(static_cast<unsigned char>(prefix[9])) << 8 |
                     uint32_t(static_cast<unsigned char>(more[0])) << 16 | uint32_t(static_cast<unsigned char>(more[1])) << 24;
        } else {
            fail(".npy format version " + std::to_string(major) + " is not supported");
        }
        if (length > (1u << 20)) fail(".npy header too large");
        std::string dict(length, '\0');
        if (!source_->read_exact(dict.data(), length, "the .npy header")) fail("truncated .npy header");

        static const std::regex descr_re(R"('descr'\s*:\s*'([^']*)')");
        static const std::regex order_re(R"('fortran_order'\s*:\s*(True|False))");
        static const std::regex shape_re(R"('shape'\s*:\s*\(([^)]*)\))");
        std::smatch m;
        if (!std::regex_search(dict, m, descr_re)) fail(".npy header has no 'descr'");
        const std::string descr = m[1];
        if (descr == "<f4" || descr == "=f4") header_.dtype = ElementType::f32;
        else if (descr == "<f2" || descr == "=f2") header_.dtype = ElementType::f16;
        else fail(".npy dtype '" + descr + "' is not supported (expected float32 '<f4' or float16 '<f2')");
        if (!std::regex_search(dict, m, order_re)) fail(".npy header has no 'fortran_order'");
        if (m[1] == "True") fail("Fortran-ordered .npy arrays are not supported (save with C order)");
        if (!std::regex_search(dict, m, shape_re)) fail(".npy header has no 'shape'");
        std::vector<uint64_t> dims;
        for (const std::string& part : text::split(m[1], ',')) {
            const std::string t = text::trim(part);
            if (t.empty()) continue;
            if (t.find_first_not_of("0123456789") != std::string::npos || t.size() > 15) fail(".npy shape is malformed");
            dims.push_back(std::stoull(t));
        }
        if (dims.size() != 2) fail(".npy array must have shape (n, d); it has " + std::to_string(dims.size()) + " dimensions");
        if (dims[1] == 0 || dims[1] > (1u << 20)) fail(".npy row dimension " + std::to_string(dims[1]) + " out of range");
        rows_ = dims[0];
        header_.dim = uint32_t(dims[1]);
    }

    bool next_line(std::string& line) { return io::read_line(*ids_, line); }

    void read_id_line(std::string& id, std::string& label) {
        std::string line;
        if (!next_line(line)) throw_error(ErrorCode::format, ids_->name(), "fewer ids than the array's " + std::to_string(rows_) + " rows");
        const size_t tab = line.find('\t');
        id = line.substr(0, tab);
        label = tab == std::string::npos ? "" : line.substr(tab + 1);
        if (id.empty()) throw_error(ErrorCode::format, ids_->name(), "line " + std::to_string(row_ + 1) + ": empty id");
    }

    std::unique_ptr<io::Source> source_;
    std::unique_ptr<io::Source> ids_;
    Header header_;
    uint64_t rows_ = 0;
    uint64_t row_ = 0;
    bool finished_ = false;
    std::vector<char> raw_;
    std::vector<uint16_t> halves_;
};

// A fixed-size header so it can be rewritten in place once the row count is known.
std::string npy_header(ElementType dtype, uint64_t rows, uint32_t dim) {
    std::string dict = std::string("{'descr': '") + (dtype == ElementType::f16 ? "<f2" : "<f4") +
                       "', 'fortran_order': False, 'shape': (" + std::to_string(rows) + ", " + std::to_string(dim) + "), }";
    const size_t total = 128;  // preamble (10) + dict + padding + '\n', a multiple of 64
    dict.resize(total - 10 - 1, ' ');
    dict += '\n';
    std::string out(npy_magic, sizeof npy_magic);
    out += '\x01';
    out += '\x00';
    out += char(dict.size() & 0xff);
    out += char(dict.size() >> 8);
    return out + dict;
}

class NpyWriter : public EmbeddingWriter {
public:
    NpyWriter(std::unique_ptr<io::Sink> sink, std::unique_ptr<io::Sink> ids, const Header& header)
        : sink_(std::move(sink)), ids_(std::move(ids)), header_(header), in_place_(sink_->can_rewrite_start()) {
        if (in_place_) sink_->write(npy_header(header_.dtype, 0, header_.dim));
    }

    void write(const Batch& batch) override {
        if (batch.dim != header_.dim)
            throw_error(ErrorCode::mismatch, sink_->name(), "rows of dimension " + std::to_string(batch.dim) + " in an array of dimension " + std::to_string(header_.dim));
        for (size_t i = 0; i < batch.size(); ++i) {
            std::string& out = in_place_ ? row_ : held_;
            if (in_place_) row_.clear();
            if (header_.dtype == ElementType::f32) {
                out.append(reinterpret_cast<const char*>(batch.row(i)), header_.dim * 4);
            } else {
                halves_.resize(header_.dim);
                floats_to_halves(batch.row(i), halves_.data(), header_.dim);
                out.append(reinterpret_cast<const char*>(halves_.data()), header_.dim * 2);
            }
            if (in_place_) sink_->write(row_);
            if (ids_) ids_->write(batch.labels[i].empty() ? batch.ids[i] + "\n" : batch.ids[i] + "\t" + batch.labels[i] + "\n");
        }
        rows_ += batch.size();
    }

    void finish() override {
        const std::string header = npy_header(header_.dtype, rows_, header_.dim);
        if (header.size() != 128) throw_error(ErrorCode::internal, sink_->name(), ".npy header overflow");
        if (in_place_) {
            sink_->flush();
            sink_->rewrite_start(header);
        } else {
            sink_->write(header);
            sink_->write(held_);
        }
        if (ids_) ids_->commit();
        sink_->commit();
    }

private:
    std::unique_ptr<io::Sink> sink_;
    std::unique_ptr<io::Sink> ids_;
    Header header_;
    bool in_place_;
    uint64_t rows_ = 0;
    std::string row_, held_;
    std::vector<uint16_t> halves_;
};

}  // namespace

std::unique_ptr<EmbeddingReader> open_npy_reader(std::unique_ptr<io::Source> source, std::unique_ptr<io::Source> ids, Modality modality) {
    return std::make_unique<NpyReader>(std::move(source), std::move(ids), modality);
}

std::unique_ptr<EmbeddingWriter> open_npy_writer(std::unique_ptr<io::Sink> sink, std::unique_ptr<io::Sink> ids, const Header& header) {
    return std::make_unique<NpyWriter>(std::move(sink), std::move(ids), header);
}

}  // namespace dcar::stream
