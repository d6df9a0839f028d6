#include "model/safetensors_layout.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/text.hpp"

namespace dcar::model {
namespace {

// A corrupt length field must not make us allocate gigabytes; real headers are a few hundred kilobytes (the
// reference implementation's limit is the same 100 MB).
constexpr uint64_t max_header_bytes = 100ull << 20;

struct DtypeSize {
    const char* code;
    uint64_t size;
};
constexpr DtypeSize dtype_sizes[] = {{"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8},
                                     {"I32", 4}, {"I16", 2}, {"I8", 1},  {"U8", 1},   {"BOOL", 1}};

using text::shape_text;

std::string range_text(uint64_t begin, uint64_t end) {
    return "[" + std::to_string(begin) + ", " + std::to_string(end) + ")";
}

[[noreturn]] void fail(const std::string& place, const std::string& message) {
    throw_error(ErrorCode::format, place, message);
}

[[noreturn]] void fail_tensor(const std::string& place, const std::string& name, const std::string& message) {
    fail(place, "safetensors tensor '" + name + "': " + message);
}

SafetensorsEntry parse_entry(const std::string& place, const std::string& name, const nlohmann::json& j, uint64_t data_size) {
    if (!j.is_object()) fail_tensor(place, name, "entry is not a JSON object");
    SafetensorsEntry e;
    e.name = name;

    const auto dt = j.find("dtype");
    if (dt == j.end() || !dt->is_string()) fail_tensor(place, name, "missing or invalid dtype");
    e.dtype = dt->get<std::string>();
    e.element_size = safetensors_dtype_size(e.dtype);
    if (!e.element_size) fail_tensor(place, name, "unsupported dtype '" + e.dtype + "'");

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
    if (__builtin_mul_overflow(count, e.element_size, &needed)) fail_tensor(place, name, "shape is too large");

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
                    "holds " + std::to_string(e.end - e.begin) + " bytes but " + e.dtype + " " +
                        shape_text(e.shape) + " needs " + std::to_string(needed));
    return e;
}

}  // namespace

uint64_t safetensors_dtype_size(const std::string& code) {
    for (const auto& d : dtype_sizes)
        if (code == d.code) return d.size;
    return 0;
}

SafetensorsLayout parse_safetensors_layout(uint64_t size, const std::function<void(uint64_t, void*, uint64_t)>& read,
                                           const std::string& place) {
    if (size < 8)
        fail(place,
             "truncated safetensors file: " + std::to_string(size) + " bytes, too short for the 8-byte header length");
    unsigned char len_bytes[8];
    read(0, len_bytes, 8);
    uint64_t header_len = 0;
    for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | len_bytes[i];
    if (header_len > max_header_bytes)
        fail(place, "safetensors header length " + std::to_string(header_len) + " is implausibly large");
    if (header_len > size - 8)
        fail(place, "truncated safetensors file: the header claims " + std::to_string(header_len) + " bytes but only " +
                        std::to_string(size - 8) + " follow the length field");
    std::string header(header_len, '\0');
    read(8, header.data(), header_len);
    const uint64_t data_start = 8 + header_len;
    const uint64_t data_size = size - data_start;

    nlohmann::json j;
    try {
        j = nlohmann::json::parse(header);
    } catch (const nlohmann::json::exception& e) {
        fail(place, std::string("safetensors header is not valid JSON: ") + e.what());
    }
    if (!j.is_object()) fail(place, "safetensors header is not a JSON object");

    SafetensorsLayout layout;
    layout.data_start = data_start;
    std::vector<SafetensorsEntry>& entries = layout.entries;
    for (const auto& [name, value] : j.items()) {
        if (name == "__metadata__") {
            if (!value.is_object()) fail(place, "safetensors __metadata__ is not a JSON object");
            for (const auto& [k, v] : value.items()) {
                if (!v.is_string()) fail(place, "safetensors __metadata__ entry '" + k + "' is not a string");
                layout.metadata[k] = v.get<std::string>();
            }
            continue;
        }
        entries.push_back(parse_entry(place, name, value, data_size));
    }

    // Overlaps and holes: sorted by position, each tensor must start where the previous one ended. Empty
    // tensors occupy no bytes and may sit anywhere in range.
    std::vector<const SafetensorsEntry*> order;
    for (const auto& e : entries) order.push_back(&e);
    std::sort(order.begin(), order.end(), [](const SafetensorsEntry* a, const SafetensorsEntry* b) {
        return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
    });
    uint64_t covered = 0;
    const SafetensorsEntry* last = nullptr;
    for (const SafetensorsEntry* e : order) {
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
    return layout;
}

}  // namespace dcar::model
