// The report writer (core/atomic_file.h): complete files or nothing, in-place writes to
// devices, clear errors for unwritable and full locations, no leftovers when a signal interrupts.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/atomic_file.h"
#include "tests/testing.h"

namespace {

namespace fs = std::filesystem;

std::string read_all(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

std::string error_of(const std::string& path, const std::string& bytes) {
  try {
    dllm::write_file_atomic(path, bytes);
  } catch (const dllm::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(AtomicFile, WritesAndReplacesLeavingNoTemporary) {
  const std::string path = dllm::testutil::fresh_dir("atomic") + "/r.json";
  dllm::write_file_atomic(path, "first");
  dllm::write_file_atomic(path, "second");
  EXPECT_EQ(read_all(path), "second");
  EXPECT_FALSE(fs::exists(dllm::atomic_temp_path(path)));
}

TEST(AtomicFile, ReplacesTheTargetOfASymlinkAndKeepsTheLink) {
  const std::string dir = dllm::testutil::fresh_dir("atomic_link");
  dllm::write_file_atomic(dir + "/real.json", "old");
  fs::create_symlink(dir + "/real.json", dir + "/link.json");
  dllm::write_file_atomic(dir + "/link.json", "new");
  EXPECT_TRUE(fs::is_symlink(dir + "/link.json"));
  EXPECT_EQ(read_all(dir + "/real.json"), "new");
}

TEST(AtomicFile, WritesDevicesInPlace) {
  EXPECT_NO_THROW(dllm::write_file_atomic("/dev/null", "discarded"));
  EXPECT_FALSE(fs::exists("/dev/null.tmp"));
}

TEST(AtomicFile, FullDiskIsAClearError) {
  const std::string e = error_of("/dev/full", std::string(1 << 16, 'x'));
  EXPECT_NE(e.find("/dev/full: writing failed (No space left on device)"), std::string::npos) << e;
  EXPECT_NE(e.find("free some disk space"), std::string::npos) << e;
}

TEST(AtomicFile, MissingFolderIsAClearErrorAndLeavesNothing) {
  const std::string dir = dllm::testutil::fresh_dir("atomic_missing");
  const std::string e = error_of(dir + "/no/such/r.json", "x");
  EXPECT_NE(e.find(dir + "/no/such/r.json: cannot create the output file"), std::string::npos) << e;
  EXPECT_NE(e.find("check that the folder exists"), std::string::npos) << e;
  EXPECT_TRUE(fs::is_empty(dir));
  EXPECT_THROW(dllm::check_output_writable(dir + "/no/such/r.json"), dllm::Error);
}

TEST(AtomicFile, AFolderInTheWayIsAClearErrorAndLeavesNothing) {
  const std::string dir = dllm::testutil::fresh_dir("atomic_folder");
  fs::create_directories(dir + "/r.json");
  const std::string e = error_of(dir + "/r.json", "x");
  EXPECT_NE(e.find(dir + "/r.json: cannot create the output file (Is a directory)"), std::string::npos) << e;
  EXPECT_FALSE(fs::exists(dllm::atomic_temp_path(dir + "/r.json")));
}

TEST(AtomicFile, SigtermWhileWritingLeavesNoPartialFile) {
  const std::string path = dllm::testutil::fresh_dir("atomic_signal") + "/big.json";
  const std::string tmp = dllm::atomic_temp_path(path);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const std::string big(size_t(256) << 20, 'x');  // long enough to be caught mid-write
    dllm::write_file_atomic(path, big);
    _exit(0);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!fs::exists(tmp) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  kill(child, SIGTERM);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  if (WIFEXITED(status)) GTEST_SKIP() << "the write finished before the signal arrived";
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGTERM);
  EXPECT_FALSE(fs::exists(tmp));
  EXPECT_FALSE(fs::exists(path));
}
