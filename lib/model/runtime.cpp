// Torch's intra-op pool is OpenMP here; setting it after dcar::set_threads keeps both at the same count.
#include "model/runtime.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <malloc.h>
#include <omp.h>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <thread>
#include <vector>

#include "core/threads.hpp"
#include "model/clip.hpp"
#include "model/tokenizer.hpp"

namespace dcar::model {

at::Device resolve_device(const std::string& text) {
    if (text == "auto") return at::hasCUDA() ? at::Device(at::kCUDA) : at::Device(at::kCPU);
    return parse_device(text);
}

std::string vocab_path(const std::string& given) { return given.empty() ? Tokenizer::default_vocab_path() : given; }

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

void run_with_passive_openmp_waits(char** argv) {
    if (std::getenv("OMP_WAIT_POLICY")) return;
    if (setenv("OMP_WAIT_POLICY", "PASSIVE", 1) != 0) return;
    execv("/proc/self/exe", argv);
    unsetenv("OMP_WAIT_POLICY");  // execv failed: this process's libgomp never saw the value, so the log must not claim it
}

std::string openmp_wait_policy() {
    const char* value = std::getenv("OMP_WAIT_POLICY");
    return value ? value : "unset";
}

at::Tensor encode_rows(int64_t n, int threads, const std::function<at::Tensor(int64_t)>& encode_one) {
    if (n <= 0) throw std::invalid_argument("encode_rows: no items");
    if (threads <= 0) threads = at::get_num_threads();
    const int64_t workers = std::max<int64_t>(1, std::min<int64_t>(threads, n));
    std::vector<at::Tensor> rows(static_cast<size_t>(n));
    std::vector<std::exception_ptr> errors(static_cast<size_t>(workers));
    const BlasThreadsScope single_blas(1);
    // Always on worker threads, even for one item: the calling thread's OpenMP count is the user's --threads,
    // and a worker's own count (set below) is what keeps every item on one thread whatever that is.
    std::vector<std::thread> pool;
    for (int64_t w = 0; w < workers; ++w)
        pool.emplace_back([&, w] {
            try {
                at::internal::lazy_init_num_threads();  // LibTorch's per-thread set-up first, then one thread
                omp_set_num_threads(1);
                c10::InferenceMode guard;
                for (int64_t i = w; i < n; i += workers) rows[static_cast<size_t>(i)] = encode_one(i);
            } catch (...) {
                errors[static_cast<size_t>(w)] = std::current_exception();
            }
        });
    for (auto& t : pool) t.join();
    for (auto& e : errors)
        if (e) std::rethrow_exception(e);
    return at::cat(rows, 0);
}

}  // namespace dcar::model
