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

// Now as strftime writes it in `format`, in UTC or in the local time zone.
inline std::string format_now(const char* format, bool utc) {
  const std::time_t t = std::time(nullptr);
  std::tm when{};
  utc ? gmtime_r(&t, &when) : localtime_r(&t, &when);
  char buf[64];
  std::strftime(buf, sizeof buf, format, &when);
  return buf;
}

// Now, e.g. "2026-12-06T08:14:01Z".
inline std::string utc_now() { return format_now("%Y-%m-%dT%H:%M:%SZ", true); }

}  // namespace dllm
