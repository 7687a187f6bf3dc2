#include "engine/cli/args.h"

#include <cerrno>
#include <cstdlib>
#include <sstream>

#include "core/check.h"

namespace dllm::cli {

Args::Args(std::string command, std::string summary, std::vector<FlagSpec> flags)
    : command_(std::move(command)), summary_(std::move(summary)), flags_(std::move(flags)) {}

const FlagSpec& Args::spec(const std::string& name) const {
  for (const FlagSpec& f : flags_)
    if (f.name == name) return f;
  fail("unknown flag ", name, " for 'dllm-bench ", command_, "': see dllm-bench ", command_, " --help");
}

void Args::parse(int argc, char** argv, int first) {
  for (int i = first; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      help_ = true;
      continue;
    }
    std::string value;
    const size_t eq = arg.find('=');
    const bool inline_value = arg.rfind("--", 0) == 0 && eq != std::string::npos;
    if (inline_value) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    }
    DLLM_CHECK(arg.rfind("--", 0) == 0, "unexpected argument '", arg, "' for 'dllm-bench ", command_,
               "': flags start with -- (see dllm-bench ", command_, " --help)");
    const FlagSpec& f = spec(arg);
    DLLM_CHECK(!values_.count(arg), "flag ", arg, " is given twice");
    if (f.value_name.empty()) {
      DLLM_CHECK(!inline_value, "flag ", arg, " takes no value");
      values_[arg] = "1";
    } else if (inline_value) {
      values_[arg] = value;
    } else {
      DLLM_CHECK(i + 1 < argc, "flag ", arg, " needs a value (", f.value_name, ")");
      values_[arg] = argv[++i];
    }
  }
}

std::string Args::usage() const {
  std::ostringstream os;
  os << "usage: dllm-bench " << command_ << " [flags]\n\n" << summary_ << "\n\nflags:\n";
  for (const FlagSpec& f : flags_) {
    std::string left = "  " + f.name + (f.value_name.empty() ? "" : " " + f.value_name);
    if (left.size() < 28)
      left.resize(28, ' ');
    else
      left += "\n" + std::string(28, ' ');
    os << left << f.help << "\n";
  }
  os << "  --help                    this text\n";
  return os.str();
}

bool Args::has(const std::string& name) const {
  spec(name);
  return values_.count(name) > 0;
}

std::string Args::str(const std::string& name, const std::string& fallback) const {
  return has(name) ? values_.at(name) : fallback;
}

int64_t Args::integer(const std::string& name, int64_t fallback, int64_t min, int64_t max) const {
  if (!has(name)) return fallback;
  const std::string& s = values_.at(name);
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  DLLM_CHECK(!s.empty() && *end == '\0' && errno == 0, "flag ", name, " needs an integer, got '", s, "'");
  DLLM_CHECK(v >= min && v <= max, "flag ", name, " must lie in [", min, ", ", max, "], got ", v);
  return v;
}

double Args::number(const std::string& name, double fallback, double min, double max) const {
  if (!has(name)) return fallback;
  const std::string& s = values_.at(name);
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(s.c_str(), &end);
  DLLM_CHECK(!s.empty() && *end == '\0' && errno == 0, "flag ", name, " needs a number, got '", s, "'");
  DLLM_CHECK(v >= min && v <= max, "flag ", name, " must lie in [", min, ", ", max, "], got ", v);
  return v;
}

std::vector<int32_t> Args::int_list(const std::string& name) const {
  std::vector<int32_t> out;
  const std::string s = str(name, "");
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    char* end = nullptr;
    errno = 0;
    const long long v = std::strtoll(item.c_str(), &end, 10);
    DLLM_CHECK(!item.empty() && *end == '\0' && errno == 0 && v >= INT32_MIN && v <= INT32_MAX, "flag ", name,
               " needs comma-separated integers, got '", item, "' in '", s, "'");
    out.push_back(int32_t(v));
  }
  DLLM_CHECK(!out.empty(), "flag ", name, " is empty: give comma-separated integers like 1,2,3");
  return out;
}

}  // namespace dllm::cli
