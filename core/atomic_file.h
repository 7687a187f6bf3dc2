// Writing an output file so that a reader never sees half of it: the bytes go to PATH.tmp, are
// flushed to the disk (fsync), and the temporary is renamed over PATH only once complete. On any
// failure (no such folder, unwritable, disk full) the temporary is removed, PATH is untouched and the
// error names PATH and the reason. SIGINT, SIGTERM or SIGHUP arriving while the temporary exists
// remove it before the process dies of the signal, so an interrupted run leaves no partial file.
// Paths that are not regular files (/dev/null, /dev/stdout, a pipe) cannot be renamed over: they
// are written in place.
#pragma once
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <string>

#include "core/check.h"

namespace dllm {

namespace detail {

// The temporary being written, for the signal handler (which may only touch plain memory).
inline char g_pending_tmp[4096];
inline volatile std::sig_atomic_t g_pending = 0;

inline void remove_pending_and_reraise(int sig) {
  if (g_pending) ::unlink(g_pending_tmp);
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

// While alive: the temporary is registered for the signal handler, SIGINT/SIGTERM/SIGHUP remove it,
// and destruction without commit() removes it (errors and exceptions alike).
class PendingTemp {
 public:
  explicit PendingTemp(const std::string& tmp) : tmp_(tmp) {
    DLLM_CHECK(tmp.size() < sizeof g_pending_tmp, tmp, ": the output path is too long");
    std::memcpy(g_pending_tmp, tmp.c_str(), tmp.size() + 1);
    g_pending = 1;
    struct sigaction sa {};
    sa.sa_handler = remove_pending_and_reraise;
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < 3; ++i) sigaction(kSignals[i], &sa, &saved_[i]);
  }
  ~PendingTemp() {
    if (!committed_) ::unlink(tmp_.c_str());
    g_pending = 0;
    for (int i = 0; i < 3; ++i) sigaction(kSignals[i], &saved_[i], nullptr);
  }
  PendingTemp(const PendingTemp&) = delete;
  PendingTemp& operator=(const PendingTemp&) = delete;
  void commit() { committed_ = true; }

 private:
  static constexpr int kSignals[3] = {SIGINT, SIGTERM, SIGHUP};
  std::string tmp_;
  struct sigaction saved_[3];
  bool committed_ = false;
};

// Devices, pipes and the like (anything existing that is not a regular file) are written in place.
inline bool write_in_place(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode);
}

// Writes all bytes to fd and flushes them to the disk; false with errno set on failure.
inline bool write_all(int fd, const std::string& bytes, bool sync) {
  for (size_t done = 0; done < bytes.size();) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += size_t(n);
  }
  return !sync || ::fsync(fd) == 0;
}

[[noreturn]] inline void fail_open(const std::string& path, int err) {
  fail(path, ": cannot create the output file (", std::strerror(err),
       "): check that the folder exists and is writable, or choose another path");
}

[[noreturn]] inline void fail_write(const std::string& path, int err) {
  fail(path, ": writing failed (", std::strerror(err),
       "): free some disk space or choose another path; nothing was written");
}

}  // namespace detail

// The temporary file write_file_atomic uses for `path`.
inline std::string atomic_temp_path(const std::string& path) { return path + ".tmp"; }

// Throws naming `path` when nothing could be written there (checks before a long run).
inline void check_output_writable(const std::string& path) {
  if (detail::write_in_place(path)) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) detail::fail_open(path, errno);
    ::close(fd);
    return;
  }
  const std::string tmp = atomic_temp_path(path);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);  // a stale one is ours too
  if (fd < 0) detail::fail_open(path, errno);
  ::close(fd);
  ::unlink(tmp.c_str());
}

inline void write_file_atomic(const std::string& path, const std::string& bytes) {
  if (detail::write_in_place(path)) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (fd < 0) detail::fail_open(path, errno);
    const bool ok = detail::write_all(fd, bytes, false);
    const int err = errno;
    ::close(fd);
    if (!ok) detail::fail_write(path, err);
    return;
  }
  // A symlink to a regular file keeps being a symlink: the file it points to is replaced.
  std::error_code ec;
  const std::filesystem::path target =
      std::filesystem::is_symlink(path, ec) ? std::filesystem::weakly_canonical(path, ec) : std::filesystem::path(path);
  const std::string real = ec ? path : target.string();
  const std::string tmp = atomic_temp_path(real);
  detail::PendingTemp pending(tmp);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) detail::fail_open(path, errno);
  const bool ok = detail::write_all(fd, bytes, true);
  const int err = errno;
  if (::close(fd) != 0 && ok) detail::fail_write(path, errno);
  if (!ok) detail::fail_write(path, err);
  if (std::rename(tmp.c_str(), real.c_str()) != 0)
    fail(path, ": cannot replace the output file (", std::strerror(errno),
         "): is it a folder, or on a read-only file system? Nothing was written");
  pending.commit();
}

}  // namespace dllm
