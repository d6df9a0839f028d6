// The model library's runtime settings: the one place that sets LibTorch's thread pools, together with
// OpenMP and OpenBLAS (core/threads.hpp), so that `--threads N` means N everywhere. LibTorch on Debian
// defaults to one intra-op thread on small machines and changes OpenMP's count for FAISS as a side effect,
// so every model tool calls this first.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <string>

namespace dcar::model {

// n ≤ 0 means all cores. Returns the count applied. Inter-op threads are set only on the first call
// (LibTorch refuses to change them later). The first call also tells glibc's malloc to keep freed memory for
// reuse (no mmap for large blocks, no trimming): every batch of a model tool allocates and frees the same large
// activations, and by default each of those is a fresh mmap whose pages fault in again — a quarter of a
// training step's time at ViT-B/32 size (docs/BENCHMARKS.md). The cost is that the process keeps its peak
// heap until it exits.
int set_threads(int n);

// libgomp reads OMP_WAIT_POLICY once, when it is loaded, and when it is unset its idle threads spin for a
// while after every parallel region. Torch's CPU operators alternate OpenMP regions with OpenBLAS calls that
// run on OpenBLAS's own threads, so the spinning threads take the cores those BLAS threads need: a pretraining
// step on 2 cores took 1.8 times as long (docs/BENCHMARKS.md). When OMP_WAIT_POLICY is unset, this sets it to
// PASSIVE and executes the program again with the same arguments, the only way the setting reaches libgomp;
// call it first in main, before anything is read or written. It returns when the variable was set already
// (the user's choice is kept) or when the execution fails (the run goes on, threads spinning as before).
void run_with_passive_openmp_waits(char** argv);
// OMP_WAIT_POLICY as this process runs with it, "unset" when it is not set (for the tools' log).
std::string openmp_wait_policy();

// The device every model tool runs on: "auto" is the first CUDA device when LibTorch has one, else the CPU;
// anything else is parse_device's spelling. Throws dcar::Error(usage).
at::Device resolve_device(const std::string& text);
// The CLIP BPE vocabulary a tool reads: `given` (--vocab), else Tokenizer::default_vocab_path().
std::string vocab_path(const std::string& given);

// Row-exact inference on the CPU: encode_one(i) gives item i's features [1, E]; the result stacks them [n, E]
// in order. Each item runs on one thread from start to end (LibTorch's intra-op pool and OpenBLAS both at one
// thread there), the items spread over `threads` worker threads (≤ 0: the caller's intra-op count). An item's
// numbers then depend on its own input only: batched, a matrix product's row lands in a different BLAS
// micro-kernel, and a vectorised loop's element in a different lane or scalar tail, as the batch size, the
// thread count or the neighbours change (docs/DETERMINISM.md). Runs under c10::InferenceMode: no gradients.
at::Tensor encode_rows(int64_t n, int threads, const std::function<at::Tensor(int64_t)>& encode_one);

}  // namespace dcar::model
