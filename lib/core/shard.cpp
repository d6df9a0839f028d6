#include "core/shard.hpp"

#include <cstdlib>

#include "core/error.hpp"

namespace dcar {

namespace {

[[noreturn]] void usage(const std::string& message) { throw Error(ErrorCode::usage, message); }

// A variable that must hold a whole number ≥ minimum when set; -1 when unset.
int64_t number(const Environment& env, const char* name, int64_t minimum) {
    const char* value = env(name);
    if (!value) return -1;
    const std::string text(value);
    try {
        size_t used = 0;
        const long long v = std::stoll(text, &used);
        if (used == text.size() && v >= minimum && v < (int64_t(1) << 31)) return v;
    } catch (const std::exception&) {
    }
    usage("--shard auto: " + std::string(name) + "='" + text + "' is not a whole number of at least " +
          std::to_string(minimum));
}

}  // namespace

Shard shard_from_scheduler(const Environment& given) {
    const Environment env = given ? given : Environment([](const char* name) { return std::getenv(name); });
    Shard shard;
    shard.count = 1;
    std::string source;
    const int64_t task = number(env, "SLURM_ARRAY_TASK_ID", 0);
    if (task >= 0) {
        const int64_t count = number(env, "SLURM_ARRAY_TASK_COUNT", 1), min = number(env, "SLURM_ARRAY_TASK_MIN", 0),
                      max = number(env, "SLURM_ARRAY_TASK_MAX", 0), step_set = number(env, "SLURM_ARRAY_TASK_STEP", 1);
        if (count < 0 || min < 0 || max < 0)
            usage("--shard auto: SLURM_ARRAY_TASK_ID is set but not SLURM_ARRAY_TASK_COUNT, _MIN and _MAX");
        const int64_t step = step_set > 0 ? step_set : 1;
        if (min + (count - 1) * step != max || task < min || task > max || (task - min) % step != 0)
            usage("--shard auto: the array's task ids (" + std::to_string(count) + " tasks from " + std::to_string(min) +
                  " to " + std::to_string(max) + ", step " + std::to_string(step) +
                  ") are not an evenly spaced range; submit it as --array=A-B or A-B:S, or give --shard i/N");
        shard.index = uint32_t((task - min) / step);
        shard.count = uint32_t(count);
        source = "Slurm array task " + std::to_string(task) + " (" + std::to_string(min) + "-" + std::to_string(max) +
                 (step != 1 ? ":" + std::to_string(step) : std::string()) + ")";
    }
    // An srun step (its variables are not set in a batch script itself, where SLURM_NTASKS may still be).
    const int64_t step_tasks = number(env, "SLURM_STEP_NUM_TASKS", 1);
    if (step_tasks > 1) {
        const int64_t proc = number(env, "SLURM_PROCID", 0);
        if (proc < 0 || proc >= step_tasks)
            usage("--shard auto: SLURM_PROCID is not between 0 and SLURM_STEP_NUM_TASKS - 1");
        shard.index = uint32_t(shard.index * step_tasks + proc);
        shard.count = uint32_t(shard.count * step_tasks);
        source += (source.empty() ? "" : ", ") + std::string("srun task ") + std::to_string(proc) + " of " +
                  std::to_string(step_tasks);
    }
    if (source.empty())
        usage("--shard auto: not in a Slurm array task or srun step (no SLURM_ARRAY_TASK_ID, nor "
              "SLURM_STEP_NUM_TASKS above 1); give --shard i/N");
    shard.source = source + ": shard " + std::to_string(shard.index) + "/" + std::to_string(shard.count);
    return shard;
}

Shard parse_shard(const std::string& text, const Environment& environment) {
    if (text == "auto") return shard_from_scheduler(environment);
    const size_t slash = text.find('/');
    try {
        if (slash == std::string::npos) throw std::invalid_argument("no slash");
        size_t used_i = 0, used_n = 0;
        const std::string a = text.substr(0, slash), b = text.substr(slash + 1);
        const long i = std::stol(a, &used_i);
        const long n = std::stol(b, &used_n);
        if (used_i != a.size() || used_n != b.size()) throw std::invalid_argument("trailing characters");
        if (i < 0 || n < 1 || i >= n || n > (long(1) << 31)) throw std::out_of_range("range");
        Shard s;
        s.index = uint32_t(i);
        s.count = uint32_t(n);
        s.source = "--shard " + text;
        return s;
    } catch (const std::exception&) {
        usage("--shard wants i/N with 0 <= i < N, or auto, not '" + text + "'");
    }
}

}  // namespace dcar
