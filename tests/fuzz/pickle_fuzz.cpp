// Fuzz target: arbitrary bytes as the data.pkl of a torch.save file, read as dcar reads state dicts.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/error.hpp"
#include "model/pickle.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        const auto state = dcar::model::pickle::read_state_dict(std::string(reinterpret_cast<const char*>(data), size), "fuzz.pt");
        for (const auto& [name, tensor] : state)
            if (tensor.sizes.size() != tensor.strides.size()) __builtin_trap();
    } catch (const dcar::Error&) {
    }
    return 0;
}
