// Test entry point: torch-free tools run with one BLAS thread, as run_tool sets them up.
#include <gtest/gtest.h>

#include "core/threads.hpp"

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    dcar::set_threads(0);
    return RUN_ALL_TESTS();
}
