// --shard i/N and --shard auto (lib/core/shard): Slurm job arrays that do not start at 0 or have a step, srun
// steps, both at once, and the errors outside Slurm or for arrays that cannot be numbered.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "core/error.hpp"
#include "core/shard.hpp"

namespace dcar {
namespace {

Environment env(const std::map<std::string, std::string>& vars) {
    return [vars](const char* name) -> const char* {
        const auto it = vars.find(name);
        return it == vars.end() ? nullptr : it->second.c_str();
    };
}

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::usage);
        return e.what();
    }
    return "";
}

TEST(Shard, ExplicitIndexAndCount) {
    const Shard s = parse_shard("2/5", env({}));
    EXPECT_EQ(s.index, 2u);
    EXPECT_EQ(s.count, 5u);
    for (const char* bad : {"5/5", "-1/3", "1/0", "1", "1/2x", "x/2", ""})
        EXPECT_EQ(error_of([&] { parse_shard(bad, env({})); }),
                  "--shard wants i/N with 0 <= i < N, or auto, not '" + std::string(bad) + "'");
}

TEST(Shard, SlurmArrays) {
    // --array=0-3
    Shard s = parse_shard("auto", env({{"SLURM_ARRAY_TASK_ID", "2"}, {"SLURM_ARRAY_TASK_COUNT", "4"},
                                       {"SLURM_ARRAY_TASK_MIN", "0"}, {"SLURM_ARRAY_TASK_MAX", "3"}}));
    EXPECT_EQ(s.index, 2u);
    EXPECT_EQ(s.count, 4u);
    EXPECT_EQ(s.source, "Slurm array task 2 (0-3): shard 2/4");
    // --array=5-8%2: starts at 5; the % limit is not in the variables and changes nothing.
    s = shard_from_scheduler(env({{"SLURM_ARRAY_TASK_ID", "5"}, {"SLURM_ARRAY_TASK_COUNT", "4"},
                                  {"SLURM_ARRAY_TASK_MIN", "5"}, {"SLURM_ARRAY_TASK_MAX", "8"}}));
    EXPECT_EQ(s.index, 0u);
    EXPECT_EQ(s.count, 4u);
    // --array=4-10:2 → ids 4, 6, 8, 10.
    s = shard_from_scheduler(env({{"SLURM_ARRAY_TASK_ID", "8"}, {"SLURM_ARRAY_TASK_COUNT", "4"},
                                  {"SLURM_ARRAY_TASK_MIN", "4"}, {"SLURM_ARRAY_TASK_MAX", "10"},
                                  {"SLURM_ARRAY_TASK_STEP", "2"}}));
    EXPECT_EQ(s.index, 2u);
    EXPECT_EQ(s.count, 4u);
    // In the batch script SLURM_NTASKS may be above 1 without an srun step: it does not split the shard.
    s = shard_from_scheduler(env({{"SLURM_ARRAY_TASK_ID", "1"}, {"SLURM_ARRAY_TASK_COUNT", "2"},
                                  {"SLURM_ARRAY_TASK_MIN", "0"}, {"SLURM_ARRAY_TASK_MAX", "1"},
                                  {"SLURM_NTASKS", "4"}, {"SLURM_PROCID", "0"}}));
    EXPECT_EQ(s.index, 1u);
    EXPECT_EQ(s.count, 2u);
    // --array=1,2,7 cannot be numbered 0..2.
    EXPECT_EQ(error_of([] {
                  shard_from_scheduler(env({{"SLURM_ARRAY_TASK_ID", "7"}, {"SLURM_ARRAY_TASK_COUNT", "3"},
                                            {"SLURM_ARRAY_TASK_MIN", "1"}, {"SLURM_ARRAY_TASK_MAX", "7"}}));
              }),
              "--shard auto: the array's task ids (3 tasks from 1 to 7, step 1) are not an evenly spaced range; "
              "submit it as --array=A-B or A-B:S, or give --shard i/N");
    EXPECT_EQ(error_of([] { shard_from_scheduler(env({{"SLURM_ARRAY_TASK_ID", "x"}})); }),
              "--shard auto: SLURM_ARRAY_TASK_ID='x' is not a whole number of at least 0");
    EXPECT_EQ(error_of([] { shard_from_scheduler(env({{"SLURM_ARRAY_TASK_ID", "1"}})); }),
              "--shard auto: SLURM_ARRAY_TASK_ID is set but not SLURM_ARRAY_TASK_COUNT, _MIN and _MAX");
}

TEST(Shard, SrunStepsAndArraysOfThem) {
    Shard s = shard_from_scheduler(env({{"SLURM_STEP_NUM_TASKS", "3"}, {"SLURM_PROCID", "1"}}));
    EXPECT_EQ(s.index, 1u);
    EXPECT_EQ(s.count, 3u);
    EXPECT_EQ(s.source, "srun task 1 of 3: shard 1/3");
    // Array task 1 of 0-1, srun task 2 of 3 → shard 1·3 + 2 = 5 of 6.
    s = shard_from_scheduler(env({{"SLURM_ARRAY_TASK_ID", "1"}, {"SLURM_ARRAY_TASK_COUNT", "2"},
                                  {"SLURM_ARRAY_TASK_MIN", "0"}, {"SLURM_ARRAY_TASK_MAX", "1"},
                                  {"SLURM_STEP_NUM_TASKS", "3"}, {"SLURM_PROCID", "2"}}));
    EXPECT_EQ(s.index, 5u);
    EXPECT_EQ(s.count, 6u);
    EXPECT_EQ(error_of([] { shard_from_scheduler(env({{"SLURM_STEP_NUM_TASKS", "3"}, {"SLURM_PROCID", "3"}})); }),
              "--shard auto: SLURM_PROCID is not between 0 and SLURM_STEP_NUM_TASKS - 1");
}

TEST(Shard, OutsideSlurmIsAnError) {
    const std::string message =
        "--shard auto: not in a Slurm array task or srun step (no SLURM_ARRAY_TASK_ID, nor SLURM_STEP_NUM_TASKS "
        "above 1); give --shard i/N";
    EXPECT_EQ(error_of([] { parse_shard("auto", env({})); }), message);
    EXPECT_EQ(error_of([] { parse_shard("auto", env({{"SLURM_NTASKS", "4"}, {"SLURM_PROCID", "0"}})); }), message);
}

}  // namespace
}  // namespace dcar
