// OpenBLAS is reached through the libblas.so.3 alternative, which may be another BLAS: its thread setter is
// looked up weakly and called only when present.
#include "core/threads.hpp"

#include <cstdlib>
#include <omp.h>
#include <thread>

extern "C" void openblas_set_num_threads(int) __attribute__((weak));
extern "C" int openblas_get_num_threads() __attribute__((weak));

namespace dcar {

int set_threads(int n, int blas_threads) {
    if (n <= 0) {
        const char* env = std::getenv("OMP_NUM_THREADS");
        n = env ? std::atoi(env) : 0;
    }
    if (n <= 0) n = int(std::thread::hardware_concurrency());
    if (n <= 0) n = 1;
    omp_set_num_threads(n);
    if (openblas_set_num_threads) openblas_set_num_threads(blas_threads < 1 ? n : blas_threads);
    return n;
}

BlasThreadsScope::BlasThreadsScope(int n) {
    if (!openblas_set_num_threads || !openblas_get_num_threads) return;
    previous_ = openblas_get_num_threads();
    openblas_set_num_threads(n);
}

BlasThreadsScope::~BlasThreadsScope() {
    if (previous_ > 0) openblas_set_num_threads(previous_);
}

}  // namespace dcar
