// Small helpers shared by the load generators (bench_http_load, bench_ra_load): latency
// statistics, process CPU time, reading a file.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace gmpki::bench {

// Latencies in ms -> {"ok", "p50_ms", "p99_ms", "mean_ms", "max_ms"}.
nlohmann::json LatencySummary(std::vector<double> ms);
// CPU seconds (user + system) of this process (pid 0) or of `pid` (/proc/PID/stat).
double CpuSeconds(int pid);
// The whole file; throws std::runtime_error when it cannot be read.
std::string ReadTextFile(const std::string& path);

}  // namespace gmpki::bench
