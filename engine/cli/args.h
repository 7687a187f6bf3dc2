// Command-line flags of one dllm-bench command: declared once with their help, parsed strictly
// (unknown flags, missing values and malformed numbers are errors that name the flag).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace dllm::cli {

struct FlagSpec {
  std::string name;        // "--max-new-tokens"
  std::string value_name;  // "N"; empty for a switch
  std::string help;
};

class Args {
 public:
  Args(std::string command, std::string summary, std::vector<FlagSpec> flags);
  // Parses argv[first..argc). Throws dllm::Error on a bad flag.
  void parse(int argc, char** argv, int first);

  bool help() const { return help_; }
  std::string usage() const;
  bool has(const std::string& name) const;
  std::string str(const std::string& name, const std::string& fallback) const;
  int64_t integer(const std::string& name, int64_t fallback, int64_t min, int64_t max) const;
  double number(const std::string& name, double fallback, double min, double max) const;
  std::vector<int32_t> int_list(const std::string& name) const;  // "1,2,3"

 private:
  const FlagSpec& spec(const std::string& name) const;
  std::string command_, summary_;
  std::vector<FlagSpec> flags_;
  std::map<std::string, std::string> values_;
  bool help_ = false;
};

}  // namespace dllm::cli
