// The state dict in a torch.save file's data.pkl, read by a restricted unpickler of our own, torch-free so
// that the fuzz target builds it alone. LibTorch 1.13's own unpickler turns collections.OrderedDict into None,
// and model.state_dict() is an OrderedDict, so the commonest checkpoint would not load through it. This one
// understands just what state dicts are made of (containers, scalars, strings, storages, _rebuild_tensor_v2,
// _rebuild_parameter) and refuses every other global, which also means a weights file can never run code.
// The tensors come back as references into the zip's storage records (data/<key>), which weights.cpp reads.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace dcar::model::pickle {

// The element types a torch storage may have, by its class name ("torch.FloatStorage", ...).
enum class StorageType { f32, f16, bf16, f64, i64, i32, i16, i8, u8, boolean };
size_t element_size(StorageType type);

struct TensorRef {
    std::string storage_key;   // the record data/<key>
    std::string storage_name;  // its class, as the pickle names it ("torch.FloatStorage")
    StorageType type = StorageType::f32;
    int64_t offset = 0;  // in elements
    std::vector<int64_t> sizes, strides;
};

// The state dict: names and tensors, in the pickle's order (a dict under "state_dict" is unwrapped, at most four
// deep). Throws dcar::Error(format) naming `place`, with "torch.save file..." and what is wrong.
std::vector<std::pair<std::string, TensorRef>> read_state_dict(const std::string& pickle, const std::string& place);

}  // namespace dcar::model::pickle
