// The model library's thread setting reaches LibTorch and OpenMP (FAISS) alike.
#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <omp.h>

#include "model/runtime.hpp"

TEST(ModelRuntime, ThreadsReachTorchAndOpenMP) {
    for (int n : {1, 3, 2}) {
        EXPECT_EQ(dcar::model::set_threads(n), n);
        EXPECT_EQ(at::get_num_threads(), n);
        EXPECT_EQ(omp_get_max_threads(), n);
    }
}
