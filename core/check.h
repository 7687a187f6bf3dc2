// Errors. Every user-facing failure (bad file, bad config, bad flag) throws dllm::Error with a message
// that says what is wrong and what to do; the CLI prints it and exits non-zero. Internal invariants use
// DLLM_ASSERT, which also throws (never aborts), so a bug reaches the user as a message, not a crash.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace dllm {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

namespace detail {
template <typename... Parts>
std::string concat(const Parts&... parts) {
  std::ostringstream os;
  (os << ... << parts);
  return os.str();
}
}  // namespace detail

// Throws dllm::Error built from the streamed parts: fail("file ", path, ": header too long").
template <typename... Parts>
[[noreturn]] void fail(const Parts&... parts) {
  throw Error(detail::concat(parts...));
}

}  // namespace dllm

// User-facing check: DLLM_CHECK(n > 0, "config.json: hidden_size must be positive, got ", n);
#define DLLM_CHECK(cond, ...)               \
  do {                                      \
    if (!(cond)) ::dllm::fail(__VA_ARGS__); \
  } while (0)

// Internal invariant: a failure is a bug in dllm-bench, reported with its location.
#define DLLM_ASSERT(cond)                                                                                            \
  do {                                                                                                               \
    if (!(cond))                                                                                                     \
      ::dllm::fail("internal error (a bug in dllm-bench, please report): ", #cond, " at ", __FILE__, ":", __LINE__); \
  } while (0)
