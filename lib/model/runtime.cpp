// Torch's intra-op pool is OpenMP here; setting it after dcar::set_threads keeps both at the same count.
#include "model/runtime.hpp"

#include <ATen/Parallel.h>
#include <malloc.h>

#include "core/threads.hpp"

namespace dcar::model {

int set_threads(int n) {
    static bool interop_set = false;
    const int applied = dcar::set_threads(n, 0);  // BLAS gets every thread: see core/threads.hpp
    at::set_num_threads(applied);
    if (!interop_set) {
        at::set_num_interop_threads(applied);
        // Reuse freed activations instead of unmapping and faulting them in again (see the header).
        mallopt(M_MMAP_MAX, 0);
        mallopt(M_TRIM_THRESHOLD, 1 << 30);
        mallopt(M_TOP_PAD, 256 << 20);
        interop_set = true;
    }
    return applied;
}

}  // namespace dcar::model
