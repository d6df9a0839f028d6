// The one place (for the torch-free tools) that sets thread counts: OpenMP (FAISS) and OpenBLAS together,
// so their pools do not fight over the cores (../shared/notes/build-stack.md §5.4).
#pragma once

namespace dcar {

// n ≤ 0 means OMP_NUM_THREADS when that is set to a positive number, else all cores. OpenMP gets n threads; OpenBLAS gets 1, since FAISS already parallelises over
// queries with OpenMP and calls BLAS from inside that loop. Returns the count applied.
int set_threads(int n);

}  // namespace dcar
