// Torch's intra-op pool is OpenMP here; setting it after dcar::set_threads keeps both at the same count.
#include "model/runtime.hpp"

#include <ATen/Parallel.h>

#include "core/threads.hpp"

namespace dcar::model {

int set_threads(int n) {
    static bool interop_set = false;
    const int applied = dcar::set_threads(n, 0);  // BLAS gets every thread: see core/threads.hpp
    at::set_num_threads(applied);
    if (!interop_set) {
        at::set_num_interop_threads(applied);
        interop_set = true;
    }
    return applied;
}

}  // namespace dcar::model
