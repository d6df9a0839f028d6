// The one place (for the torch-free tools) that sets thread counts: OpenMP (FAISS) and OpenBLAS together,
// so their pools do not fight over the cores: each pool sized to all cores at once oversubscribes them.
#pragma once

namespace dcar {

// n ≤ 0 means OMP_NUM_THREADS when that is set to a positive number, else all cores. OpenMP gets n threads; OpenBLAS gets 1, since FAISS already parallelises over
// queries with OpenMP and calls BLAS from inside that loop. Returns the count applied.
// blas_threads: OpenBLAS's own pool; 1 for FAISS (above), n for LibTorch, whose fp32 matrix products call BLAS
// from outside any OpenMP region and would otherwise run on one core.
int set_threads(int n, int blas_threads = 1);

// OpenBLAS's own pool held at n threads for the life of this object, then put back (no effect where the BLAS is
// not OpenBLAS). Not for concurrent use: one owner at a time changes the process-wide setting.
class BlasThreadsScope {
public:
    explicit BlasThreadsScope(int n);
    ~BlasThreadsScope();
    BlasThreadsScope(const BlasThreadsScope&) = delete;
    BlasThreadsScope& operator=(const BlasThreadsScope&) = delete;

private:
    int previous_ = 0;
};

}  // namespace dcar
