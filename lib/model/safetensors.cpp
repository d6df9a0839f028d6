// safetensors by hand: header parsing and validation, then the tensor bytes copied straight from the file
// into freshly allocated tensors (pread, no intermediate buffer, so a 1.7 GB ViT-L file needs 1.7 GB, not
// 3.4). Only ATen/EmptyTensor.h is included beyond the Tensor class, to keep this TU cheap to compile.
#include "model/safetensors.hpp"

#include <ATen/EmptyTensor.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <vector>

#include "core/json.hpp"
#include "core/error.hpp"
#include "io/sink.hpp"

namespace dcar::model {
namespace {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors data is little-endian; so must the host be");

// A corrupt length field must not make us allocate gigabytes; real headers are a few hundred kilobytes (the
// reference implementation's limit is the same 100 MB).
constexpr uint64_t max_header_bytes = 100ull << 20;

struct DtypeInfo {
    const char* code;
    at::ScalarType type;
    uint64_t size;
};
constexpr DtypeInfo dtypes[] = {
    {"F64", at::kDouble, 8}, {"F32", at::kFloat, 4}, {"F16", at::kHalf, 2},  {"BF16", at::kBFloat16, 2},
    {"I64", at::kLong, 8},   {"I32", at::kInt, 4},   {"I16", at::kShort, 2}, {"I8", at::kChar, 1},
    {"U8", at::kByte, 1},    {"BOOL", at::kBool, 1},
};

const DtypeInfo* dtype_by_code(const std::string& code) {
    for (const auto& d : dtypes)
        if (code == d.code) return &d;
    return nullptr;
}

const DtypeInfo* dtype_by_type(at::ScalarType type) {
    for (const auto& d : dtypes)
        if (type == d.type) return &d;
    return nullptr;
}

std::string shape_text(const std::vector<int64_t>& shape) {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

std::string range_text(uint64_t begin, uint64_t end) {
    return "[" + std::to_string(begin) + ", " + std::to_string(end) + ")";
}

// Where the bytes come from: a file (pread) or a string (memcpy). Offsets are absolute.
class ByteSource {
public:
    virtual ~ByteSource() = default;
    virtual uint64_t size() const = 0;
    virtual void read(uint64_t offset, void* dst, uint64_t n) const = 0;
};

class FileSource : public ByteSource {
public:
    explicit FileSource(const std::string& path) : path_(path) {
        fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd_ < 0) throw_errno(path, "cannot open");
        struct stat st {};
        if (::fstat(fd_, &st) != 0) {
            const int saved = errno;
            ::close(fd_);
            errno = saved;
            throw_errno(path, "cannot stat");
        }
        size_ = static_cast<uint64_t>(st.st_size);
    }
    ~FileSource() override { ::close(fd_); }
    uint64_t size() const override { return size_; }
    void read(uint64_t offset, void* dst, uint64_t n) const override {
        auto* out = static_cast<char*>(dst);
        while (n > 0) {
            const ssize_t got = ::pread(fd_, out, std::min<uint64_t>(n, 1u << 30), static_cast<off_t>(offset));
            if (got < 0) {
                if (errno == EINTR) continue;
                throw_errno(path_, "cannot read");
            }
            if (got == 0) throw_error(ErrorCode::format, path_, "file shrank while being read");
            out += got;
            offset += static_cast<uint64_t>(got);
            n -= static_cast<uint64_t>(got);
        }
    }

private:
    std::string path_;
    int fd_ = -1;
    uint64_t size_ = 0;
};

class MemorySource : public ByteSource {
public:
    explicit MemorySource(const std::string& bytes) : bytes_(bytes) {}
    uint64_t size() const override { return bytes_.size(); }
    void read(uint64_t offset, void* dst, uint64_t n) const override {
        if (n) std::memcpy(dst, bytes_.data() + offset, n);
    }

private:
    const std::string& bytes_;
};

struct Entry {
    std::string name;
    const DtypeInfo* dtype;
    std::vector<int64_t> shape;
    uint64_t begin, end;
};

[[noreturn]] void fail(const std::string& place, const std::string& message) {
    throw_error(ErrorCode::format, place, message);
}

[[noreturn]] void fail_tensor(const std::string& place, const std::string& name, const std::string& message) {
    fail(place, "safetensors tensor '" + name + "': " + message);
}

Entry parse_entry(const std::string& place, const std::string& name, const nlohmann::json& j, uint64_t data_size) {
    if (!j.is_object()) fail_tensor(place, name, "entry is not a JSON object");
    Entry e{name, nullptr, {}, 0, 0};

    const auto dt = j.find("dtype");
    if (dt == j.end() || !dt->is_string()) fail_tensor(place, name, "missing or invalid dtype");
    e.dtype = dtype_by_code(dt->get<std::string>());
    if (!e.dtype) fail_tensor(place, name, "unsupported dtype '" + dt->get<std::string>() + "'");

    const auto sh = j.find("shape");
    if (sh == j.end() || !sh->is_array()) fail_tensor(place, name, "shape is not a list of non-negative integers");
    uint64_t count = 1;
    for (const auto& d : *sh) {
        if (!d.is_number_unsigned() || d.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
            fail_tensor(place, name, "shape is not a list of non-negative integers");
        const uint64_t v = d.get<uint64_t>();
        if (__builtin_mul_overflow(count, v, &count)) fail_tensor(place, name, "shape is too large");
        e.shape.push_back(static_cast<int64_t>(v));
    }
    uint64_t needed = 0;
    if (__builtin_mul_overflow(count, e.dtype->size, &needed)) fail_tensor(place, name, "shape is too large");

    const auto off = j.find("data_offsets");
    if (off == j.end() || !off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() ||
        !(*off)[1].is_number_unsigned() || (*off)[0].get<uint64_t>() > (*off)[1].get<uint64_t>())
        fail_tensor(place, name, "data_offsets is not a pair of integers [begin, end] with begin <= end");
    e.begin = (*off)[0].get<uint64_t>();
    e.end = (*off)[1].get<uint64_t>();
    if (e.end > data_size)
        fail_tensor(place, name,
                    "bytes " + range_text(e.begin, e.end) + " lie outside the data section (" +
                        std::to_string(data_size) + " bytes; truncated file?)");
    if (e.end - e.begin != needed)
        fail_tensor(place, name,
                    "holds " + std::to_string(e.end - e.begin) + " bytes but " + e.dtype->code + " " +
                        shape_text(e.shape) + " needs " + std::to_string(needed));
    return e;
}

TensorMap parse(const ByteSource& src, const std::string& place, SafetensorsMetadata* metadata) {
    const uint64_t size = src.size();
    if (size < 8)
        fail(place,
             "truncated safetensors file: " + std::to_string(size) + " bytes, too short for the 8-byte header length");
    unsigned char len_bytes[8];
    src.read(0, len_bytes, 8);
    uint64_t header_len = 0;
    for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | len_bytes[i];
    if (header_len > max_header_bytes)
        fail(place, "safetensors header length " + std::to_string(header_len) + " is implausibly large");
    if (header_len > size - 8)
        fail(place, "truncated safetensors file: the header claims " + std::to_string(header_len) + " bytes but only " +
                        std::to_string(size - 8) + " follow the length field");
    std::string header(header_len, '\0');
    src.read(8, header.data(), header_len);
    const uint64_t data_start = 8 + header_len;
    const uint64_t data_size = size - data_start;

    nlohmann::json j;
    try {
        j = nlohmann::json::parse(header);
    } catch (const nlohmann::json::exception& e) {
        fail(place, std::string("safetensors header is not valid JSON: ") + e.what());
    }
    if (!j.is_object()) fail(place, "safetensors header is not a JSON object");

    std::vector<Entry> entries;
    for (const auto& [name, value] : j.items()) {
        if (name == "__metadata__") {
            if (!value.is_object()) fail(place, "safetensors __metadata__ is not a JSON object");
            for (const auto& [k, v] : value.items()) {
                if (!v.is_string()) fail(place, "safetensors __metadata__ entry '" + k + "' is not a string");
                if (metadata) (*metadata)[k] = v.get<std::string>();
            }
            continue;
        }
        entries.push_back(parse_entry(place, name, value, data_size));
    }

    // Overlaps and holes: sorted by position, each tensor must start where the previous one ended. Empty
    // tensors occupy no bytes and may sit anywhere in range.
    std::vector<const Entry*> order;
    for (const auto& e : entries) order.push_back(&e);
    std::sort(order.begin(), order.end(), [](const Entry* a, const Entry* b) {
        return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
    });
    uint64_t covered = 0;
    const Entry* last = nullptr;
    for (const Entry* e : order) {
        if (e->begin == e->end) continue;
        if (e->begin < covered)
            fail(place, "safetensors tensors '" + last->name + "' and '" + e->name + "' overlap (bytes " +
                            range_text(last->begin, last->end) + " and " + range_text(e->begin, e->end) + ")");
        if (e->begin > covered)
            fail(place, "safetensors data section bytes " + range_text(covered, e->begin) + " belong to no tensor");
        covered = e->end;
        last = e;
    }
    if (covered != data_size)
        fail(place, "safetensors data section bytes " + range_text(covered, data_size) + " belong to no tensor");

    TensorMap out;
    for (const auto& e : entries) {
        at::Tensor t(at::detail::empty_cpu(e.shape, e.dtype->type));
        src.read(data_start + e.begin, t.data_ptr(), e.end - e.begin);
        out.emplace(e.name, std::move(t));
    }
    return out;
}

}  // namespace

TensorMap read_safetensors(const std::string& path, SafetensorsMetadata* metadata) {
    FileSource src(path);
    return parse(src, path, metadata);
}

TensorMap parse_safetensors(const std::string& bytes, const std::string& place, SafetensorsMetadata* metadata) {
    MemorySource src(bytes);
    return parse(src, place, metadata);
}

void write_safetensors(io::Sink& sink, const TensorMap& tensors, const SafetensorsMetadata& metadata) {
    nlohmann::json header = nlohmann::json::object();
    std::vector<at::Tensor> data;
    uint64_t offset = 0;
    for (const auto& [name, tensor] : tensors) {
        if (name == "__metadata__") throw_error(ErrorCode::usage, sink.name(), "'__metadata__' is not a tensor name");
        const DtypeInfo* dt = dtype_by_type(tensor.scalar_type());
        if (!dt)
            throw_error(ErrorCode::usage, sink.name(),
                        "tensor '" + name + "' has a dtype safetensors cannot hold here (" +
                            std::string(c10::toString(tensor.scalar_type())) + ")");
        at::Tensor t = tensor.detach().to(at::kCPU).contiguous();
        const uint64_t n = t.numel() * dt->size;
        header[name] = {{"dtype", dt->code}, {"shape", t.sizes().vec()}, {"data_offsets", {offset, offset + n}}};
        offset += n;
        data.push_back(std::move(t));
    }
    if (!metadata.empty()) header["__metadata__"] = metadata;
    std::string text = dump_json(header);
    text.append((8 - text.size() % 8) % 8, ' ');
    char len_bytes[8];
    for (int i = 0; i < 8; ++i)
        len_bytes[i] = static_cast<char>((static_cast<uint64_t>(text.size()) >> (8 * i)) & 0xff);
    sink.write(len_bytes, 8);
    sink.write(text);
    for (const auto& t : data)
        if (t.numel()) sink.write(t.data_ptr(), t.numel() * t.element_size());
}

void write_safetensors(const std::string& path, const TensorMap& tensors, const SafetensorsMetadata& metadata) {
    auto sink = io::open_sink(path);
    write_safetensors(*sink, tensors, metadata);
    sink->commit();
}

}  // namespace dcar::model
