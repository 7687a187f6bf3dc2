#include "opcases/case.h"

#include <cmath>
#include <cstring>
#include <sstream>

namespace dllm::opcases {

namespace {

bool failed(Verdict& v, const std::string& why) {
  if (v.detail.empty()) v.detail = why;
  v.pass = false;
  return false;
}

// Every value of a float output finite.
bool finite(const Output& o, Verdict& v) {
  for (size_t i = 0; i < o.bits.size(); ++i)
    if (!std::isfinite(o.at(i))) {
      std::ostringstream s;
      s << o.name << ": non-finite output " << o.at(i) << " at " << i;
      return failed(v, s.str());
    }
  return true;
}

bool same_bits(const Output& a, const Output& b, Verdict& v, const char* against) {
  for (size_t i = 0; i < a.bits.size(); ++i)
    if (a.bits[i] != b.bits[i]) {
      std::ostringstream s;
      s << a.name << ": not bitwise equal to " << against << " at " << i << ": ";
      if (a.integer)
        s << int32_t(a.bits[i]) << " vs " << int32_t(b.bits[i]);
      else
        s << a.at(i) << " vs " << b.at(i);
      return failed(v, s.str());
    }
  return true;
}

}  // namespace

Verdict compare(const Rule& rule, const std::vector<Output>& got, const std::vector<Output>& ref32,
                const std::vector<Output>& ref64, const std::vector<double>& magnitude,
                const std::vector<std::string>& breaches) {
  Verdict v;
  for (const std::string& b : breaches) failed(v, b);
  if (got.size() != ref64.size() || ref32.size() != ref64.size()) {
    failed(v, "the kernel and the reference made different outputs");
    return v;
  }
  for (size_t o = 0; o < got.size(); ++o) {
    const Output &g = got[o], &r32 = ref32[o], &r64 = ref64[o];
    if (g.bits.size() != r64.bits.size()) {
      failed(v, g.name + ": sizes differ from the reference's");
      continue;
    }
    if (rule.kind == Rule::Kind::bitwise || g.integer) {
      same_bits(g, r64, v, "the reference");
      continue;
    }
    if (!finite(g, v)) continue;
    double scale = 1.0, ref_err = 0.0, err = 0.0;
    size_t worst = 0;
    for (size_t i = 0; i < g.bits.size(); ++i) {
      scale = std::max(scale, std::fabs(double(r64.at(i))));
      ref_err = std::max(ref_err, std::fabs(double(r32.at(i)) - double(r64.at(i))));
      const double e = std::fabs(double(g.at(i)) - double(r64.at(i)));
      if (e > err) err = e, worst = i;
    }
    v.max_abs = std::max(v.max_abs, err);
    v.max_rel = std::max(v.max_rel, err / scale);
    if (rule.kind == Rule::Kind::f32_reference) {
      const double bound = 2.0 * ref_err + rule.floor * scale;
      v.tolerance = std::max(v.tolerance, bound / scale);
      if (err > bound) {
        std::ostringstream s;
        s << g.name << ": error " << err << " > " << bound << " (twice the f32 reference's " << ref_err << " + "
          << rule.floor << " x scale " << scale << "); worst at " << worst << ": " << g.at(worst) << " vs "
          << r64.at(worst);
        failed(v, s.str());
      }
      continue;
    }
    // rounded_inputs: per value, against the sum of |products| of that value
    if (magnitude.size() != g.bits.size()) {
      failed(v, g.name + ": the case gives no magnitudes for the rounded-inputs rule");
      continue;
    }
    for (size_t i = 0; i < g.bits.size(); ++i) {
      const double bound = std::ldexp(magnitude[i], -rule.bits) + 1e-30;
      if (std::fabs(double(g.at(i)) - double(r64.at(i))) > bound) {
        std::ostringstream s;
        s << g.name << ": value " << i << " = " << g.at(i) << ", the reference " << r64.at(i) << ": outside 2^-"
          << rule.bits << " x sum |x w| = " << bound;
        failed(v, s.str());
        break;
      }
    }
  }
  return v;
}

Verdict compare_bits(const std::vector<Output>& a, const std::vector<Output>& b, const char* against,
                     const std::vector<std::string>& breaches) {
  Verdict v;
  for (const std::string& br : breaches) failed(v, br);
  if (a.size() != b.size()) failed(v, "different outputs");
  for (size_t o = 0; o < a.size() && o < b.size(); ++o)
    if (a[o].bits.size() != b[o].bits.size())
      failed(v, a[o].name + ": sizes differ");
    else
      same_bits(a[o], b[o], v, against);
  return v;
}

}  // namespace dllm::opcases
