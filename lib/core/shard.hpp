// Which part of the work this process does: "--shard i/N", or "--shard auto", which asks the scheduler. Under
// Slurm, a job array's task is shard (TASK_ID − TASK_MIN) / TASK_STEP of TASK_COUNT (arrays need not start at
// 0, and a "%" limit changes only how many run at once); an srun step's task is SLURM_PROCID of
// SLURM_STEP_NUM_TASKS; an srun step inside an array task splits that task's shard again, so the shards are
// array index × step tasks + proc id. Torch-free, so that every tool can offer it.
#pragma once
#include <cstdint>
#include <functional>
#include <string>

namespace dcar {

struct Shard {
    uint32_t index = 0, count = 1;
    std::string source;  // for logs: "--shard 2/4", "Slurm array task 7 (of 4..10 step 2)", ...
};

using Environment = std::function<const char*(const char*)>;  // getenv's signature, for tests

// "i/N" with 0 ≤ i < N, or "auto" (shard_from_scheduler). Throws dcar::Error(usage) naming what is wrong.
Shard parse_shard(const std::string& text, const Environment& environment = nullptr);
// The shard the scheduler's variables give. Throws dcar::Error(usage) outside Slurm, and for an array whose
// task ids are not an arithmetic range (such as --array=1,2,7), naming the variables.
Shard shard_from_scheduler(const Environment& environment = nullptr);

}  // namespace dcar
