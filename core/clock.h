// Wall-clock helpers every layer uses: elapsed seconds on the steady clock, and the current UTC time
// as an ISO 8601 string for records.
#pragma once
#include <chrono>
#include <ctime>
#include <string>

namespace dllm {

using Clock = std::chrono::steady_clock;

// Seconds from t0 to now.
inline double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Now, e.g. "2026-12-06T08:14:01Z".
inline std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&t, &utc);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buf;
}

}  // namespace dllm
