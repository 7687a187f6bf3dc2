// Counter-based randomness: Philox4x32-10 (Salmon et al., SC'11). A random number is a pure function
// of (seed, sequence, absolute position, purpose), so the AR decoder and the TiDAR decoder draw the
// same uniform for the same output position, whatever the step structure, on the host or a device.
#pragma once
#include <cstdint>

#include "core/dtype.h"  // DLLM_HD

namespace dllm {

// Why a number is drawn; distinct purposes give independent streams at the same position.
enum class Purpose : uint32_t {
  sample = 1,    // the target (AR) sample at a position; the lossless sampler reuses it
  accept = 2,    // acceptance test of a sampled draft (min(1, p/q))
  residual = 3,  // resampling from the residual distribution after a rejection
  draft = 4,     // a sampling drafter's own draw
  test = 99,     // statistics tests
};

struct Philox4x32 {
  uint32_t v[4];
};

DLLM_HD Philox4x32 philox4x32_10(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0, uint32_t k1) {
  const uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u, W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    uint64_t p0 = uint64_t(M0) * c0;
    uint64_t p1 = uint64_t(M1) * c2;
    uint32_t hi0 = uint32_t(p0 >> 32), lo0 = uint32_t(p0);
    uint32_t hi1 = uint32_t(p1 >> 32), lo1 = uint32_t(p1);
    uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
    c0 = n0, c1 = n1, c2 = n2, c3 = n3;
    k0 += W0;
    k1 += W1;
  }
  return Philox4x32{{c0, c1, c2, c3}};
}

// Uniform double in [0, 1) with 53 random bits.
DLLM_HD double uniform01(uint64_t seed, uint32_t sequence, uint32_t position, Purpose purpose) {
  Philox4x32 r = philox4x32_10(position, sequence, uint32_t(purpose), 0u, uint32_t(seed), uint32_t(seed >> 32));
  uint64_t bits = (uint64_t(r.v[0]) << 21) ^ uint64_t(r.v[1] >> 11);
  return double(bits & ((uint64_t(1) << 53) - 1)) * (1.0 / 9007199254740992.0);
}

}  // namespace dllm
