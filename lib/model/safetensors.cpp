// safetensors by hand: header parsing and validation, then the tensor bytes copied straight from the file
// into freshly allocated tensors (pread, no intermediate buffer, so a 1.7 GB ViT-L file needs 1.7 GB, not
// 3.4). Only ATen/EmptyTensor.h is included beyond the Tensor class, to keep this TU cheap to compile.
#include "model/safetensors.hpp"
#include "model/safetensors_layout.hpp"

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

TensorMap parse(const ByteSource& src, const std::string& place, SafetensorsMetadata* metadata) {
    const SafetensorsLayout layout = parse_safetensors_layout(
        src.size(), [&src](uint64_t offset, void* dst, uint64_t n) { src.read(offset, dst, n); }, place);
    if (metadata)
        for (const auto& [k, v] : layout.metadata) (*metadata)[k] = v;
    TensorMap out;
    for (const auto& e : layout.entries) {
        at::Tensor t(at::detail::empty_cpu(e.shape, dtype_by_code(e.dtype)->type));
        src.read(layout.data_start + e.begin, t.data_ptr(), e.end - e.begin);
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
