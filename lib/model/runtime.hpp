// The model library's runtime settings: the one place that sets LibTorch's thread pools, together with
// OpenMP and OpenBLAS (core/threads.hpp), so that `--threads N` means N everywhere. LibTorch on Debian
// defaults to one intra-op thread on small machines and changes OpenMP's count for FAISS as a side effect
// (../shared/notes/build-stack.md §5.3), so every model tool calls this first.
#pragma once

namespace dcar::model {

// n ≤ 0 means all cores. Returns the count applied. Inter-op threads are set only on the first call
// (LibTorch refuses to change them later).
int set_threads(int n);

}  // namespace dcar::model
