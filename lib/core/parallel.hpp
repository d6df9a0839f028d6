// A small fork-join loop for host-side work (image decoding ahead of a model): body(i) for i in [0, n) on
// up to `threads` threads, i taken round-robin. The first exception a thread throws is rethrown after all join.
#pragma once
#include <algorithm>
#include <cstddef>
#include <exception>
#include <thread>
#include <vector>

namespace dcar {

template <class Body>
void parallel_for(size_t n, int threads, Body body) {
    const size_t workers = std::max<size_t>(1, std::min<size_t>(static_cast<size_t>(std::max(threads, 1)), n));
    if (workers == 1) {
        for (size_t i = 0; i < n; ++i) body(i);
        return;
    }
    std::vector<std::thread> pool;
    std::vector<std::exception_ptr> errors(workers);
    for (size_t t = 0; t < workers; ++t)
        pool.emplace_back([&, t] {
            try {
                for (size_t i = t; i < n; i += workers) body(i);
            } catch (...) {
                errors[t] = std::current_exception();
            }
        });
    for (auto& th : pool) th.join();
    for (auto& e : errors)
        if (e) std::rethrow_exception(e);
}

}  // namespace dcar
