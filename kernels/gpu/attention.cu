#include <algorithm>
#include <climits>
#include <cstdint>

#include "kernels/gpu/common.h"
#include "kernels/gpu/gpu.h"

namespace dllm::gpu {

namespace {

inline constexpr int kThreads = 256;
inline constexpr int kMaxWarps = kThreads / 32;

// Key j of a token's visible list (cache slots from cache_begin, then the first interval, then the
// second; the reference's order) for kv head `kvh`: elements at .. at + Dh - 1 of K and V, stored as
// `dtype` (the cache's kv_dtype, or f32 for the pass's own keys).
struct KeyRef {
  const void* k;
  const void* v;
  int64_t at;
  DType dtype;
  __device__ float key(int d) const { return kv_load(k, dtype, at + d); }
  __device__ float value(int d) const { return kv_load(v, dtype, at + d); }
};
__device__ inline KeyRef key_at(const AttentionArgs& a, const Visibility& vis, int t, int kvh, int j) {
  const int64_t row = int64_t(a.kv_heads) * a.head_dim, off = int64_t(kvh) * a.head_dim;
  const int cached = vis.cache_len - vis.cache_begin;
  if (j < cached)
    return {a.k_cache, a.v_cache, int64_t(a.seq[t]) * a.seq_stride + (vis.cache_begin + j) * row + off, a.kv_dtype};
  j -= cached;
  const int n1 = vis.first.end - vis.first.begin;
  const int p = j < n1 ? vis.first.begin + j : vis.second.begin + (j - n1);
  return {a.k_pass, a.v_pass, p * row + off, DType::f32};
}

// One block per (group of up to kGroupTokens consecutive tokens, group of up to kGroupHeads query
// heads sharing a kv head, chunk of `chunk` keys of each token's visible list): a key's K and V rows
// are loaded into registers once for all the heads of the group, and once for the group's tokens
// where their lists hold the same key at the same index (in a pass, the cache prefix), so the rows
// come from memory or L2 once per token group, not once per token. Warps take keys round-robin with
// an online softmax per (token, head); the warps' states are then merged in warp order. Each (token,
// head)'s arithmetic is the same whatever the groups (its own dot products, softmax and sums, in the
// same order), so the result depends only on the token's own keys and the chunk size, never on the
// pass size. PARTIAL: write each head's unnormalised state (max, sum, out[Dh]) of the chunk for
// attention_merge_kernel; else write the final output. DIM: head_dim rounded up to 64, 128 or 256.
inline constexpr int kGroupHeads = 4, kGroupTokens = 2;

template <int DIM, bool PARTIAL>
__global__ void __launch_bounds__(kThreads) attention_kernel(AttentionArgs a, int chunk, float* partial) {
  constexpr int kDims = (DIM + kWarp - 1) / kWarp;  // dims per lane: d = lane + r * kWarp
  __shared__ float q_s[kGroupTokens][kGroupHeads][DIM];
  __shared__ float m_s[kMaxWarps][kGroupHeads], l_s[kMaxWarps][kGroupHeads];
  __shared__ float o_s[kMaxWarps][kGroupHeads][DIM];
  const int group = a.q_heads / a.kv_heads, groups_per_kv = (group + kGroupHeads - 1) / kGroupHeads;
  const int t0 = int(blockIdx.x) * kGroupTokens, tokens = min(kGroupTokens, a.tokens - t0);
  const int kvh = int(blockIdx.y) / groups_per_kv;
  const int h0 = kvh * group + int(blockIdx.y) % groups_per_kv * kGroupHeads;  // the block's first head
  const int heads = min(kGroupHeads, (kvh + 1) * group - h0);
  const int c = int(blockIdx.z), chunks = int(gridDim.z);
  const int lane = int(threadIdx.x) % kWarp, warp = int(threadIdx.x) / kWarp, warps = int(blockDim.x) / kWarp;
  const int dh = a.head_dim, begin = c * chunk;
  Visibility vis[kGroupTokens];
  int end[kGroupTokens], last = begin;  // each token's chunk ends at end[u]; the block's at `last`
  for (int u = 0; u < kGroupTokens; ++u) {
    end[u] = begin;
    if (u >= tokens) continue;
    vis[u] = a.vis[t0 + u];
    end[u] = max(begin, min(vis[u].keys(), begin + chunk)), last = max(last, end[u]);
    const float* q = a.q + (int64_t(t0 + u) * a.q_heads + h0) * dh;
    for (int i = int(threadIdx.x); i < heads * dh; i += int(blockDim.x)) q_s[u][i / dh][i % dh] = q[i];
  }
  __syncthreads();

  float m[kGroupTokens][kGroupHeads], l[kGroupTokens][kGroupHeads], acc[kGroupTokens][kGroupHeads][kDims] = {};
  for (int u = 0; u < kGroupTokens; ++u)
    for (int g = 0; g < kGroupHeads; ++g) m[u][g] = -INFINITY, l[u][g] = 0.0f;
  for (int j = begin + warp; j < last; j += warps) {
    float kf[kDims] = {}, vf[kDims] = {};
    KeyRef held{nullptr, nullptr, -1, DType::f32};  // the key in kf and vf
    unrolled<kGroupTokens>([&](auto token) {
      constexpr int u = decltype(token)::value;
      if (j >= end[u]) return;
      const KeyRef kv = key_at(a, vis[u], t0 + u, kvh, j);
      if (kv.k != held.k || kv.at != held.at || kv.dtype != held.dtype) {
        for (int r = 0; r < kDims; ++r) {
          const int d = lane + r * kWarp;
          kf[r] = d < dh ? kv.key(d) : 0.0f, vf[r] = d < dh ? kv.value(d) : 0.0f;
        }
        held = kv;
      }
      for (int g = 0; g < kGroupHeads; ++g) {
        if (g >= heads) break;
        float dot = 0.0f;
        for (int r = 0; r < kDims; ++r)
          if (lane + r * kWarp < dh) dot += q_s[u][g][lane + r * kWarp] * kf[r];
        const float s = warp_sum(dot) * a.scale;
        const float m_new = fmaxf(m[u][g], s), corr = expf(m[u][g] - m_new), p = expf(s - m_new);
        l[u][g] = l[u][g] * corr + p;
        for (int r = 0; r < kDims; ++r)
          if (lane + r * kWarp < dh) acc[u][g][r] = acc[u][g][r] * corr + p * vf[r];
        m[u][g] = m_new;
      }
    });
  }

  // Per token: merge the warps in order, per head; a warp (or a whole chunk) with no keys has max -inf
  // and weighs 0.
  unrolled<kGroupTokens>([&](auto token) {
    constexpr int u = decltype(token)::value;
    if (u >= tokens) return;
    const int t = t0 + u;
    for (int g = 0; g < heads; ++g) {
      if (lane == 0) m_s[warp][g] = m[u][g], l_s[warp][g] = l[u][g];
      for (int r = 0; r < kDims; ++r) {
        const int d = lane + r * kWarp;
        if (d < dh) o_s[warp][g][d] = acc[u][g][r];
      }
    }
    __syncthreads();
    for (int g = 0; g < heads; ++g) {
      const int h = h0 + g;
      float big = -INFINITY;
      for (int w = 0; w < warps; ++w) big = fmaxf(big, m_s[w][g]);
      float sum = 0.0f;
      for (int w = 0; w < warps; ++w) sum += m_s[w][g] == -INFINITY ? 0.0f : l_s[w][g] * expf(m_s[w][g] - big);
      for (int d = int(threadIdx.x); d < dh; d += int(blockDim.x)) {
        float o = 0.0f;
        for (int w = 0; w < warps; ++w) o += m_s[w][g] == -INFINITY ? 0.0f : o_s[w][g][d] * expf(m_s[w][g] - big);
        if constexpr (PARTIAL) {
          float* part = partial + ((int64_t(t) * a.q_heads + h) * chunks + c) * (dh + 2);
          if (d == 0) part[0] = big, part[1] = sum;
          part[2 + d] = o;
        } else
          a.out[(int64_t(t) * a.q_heads + h) * dh + d] = sum > 0.0f ? o / sum : 0.0f;  // sees nothing: 0
      }
    }
    __syncthreads();  // the states are read before the next token's overwrite them
  });
}

// The chunks of kAttentionChunk keys that a list of `keys` keys takes, and the most a row of a takes
// (attention_chunks: each row's slots in the workspace; at least 1).
DLLM_HD int key_chunks(int keys) { return (keys + kAttentionChunk - 1) / kAttentionChunk; }
DLLM_HD int chunk_slots(const AttentionArgs& a) { return a.max_keys > 0 ? key_chunks(a.max_keys) : 1; }

// The partial states (max, sum, out[Dh]) of a (token, head)'s chunks merged in chunk order into
// out[Dh]; this thread writes dims first, first + stride, ... A chunk with no keys has max -inf and
// weighs 0.
__device__ inline void merge_chunks(const float* part, int chunks, int dh, float* out, int first, int stride) {
  float big = -INFINITY;
  for (int c = 0; c < chunks; ++c) big = fmaxf(big, part[c * (dh + 2)]);
  float sum = 0.0f;
  for (int c = 0; c < chunks; ++c) {
    const float mc = part[c * (dh + 2)];
    if (mc != -INFINITY) sum += part[c * (dh + 2) + 1] * expf(mc - big);
  }
  for (int d = first; d < dh; d += stride) {
    float o = 0.0f;
    for (int c = 0; c < chunks; ++c) {
      const float mc = part[c * (dh + 2)];
      if (mc != -INFINITY) o += part[c * (dh + 2) + 2 + d] * expf(mc - big);
    }
    out[d] = sum > 0.0f ? o / sum : 0.0f;
  }
}

// Merges the chunks of a (token, head) in chunk order: a block of kMergeThreads per (token, head), its
// states at partial[th * chunks ...]. own: the row's own chunks, its keys over kAttentionChunk (a row
// with one already holds its output: tiles_invariant); else all `chunks` (split_keys).
inline constexpr int kMergeThreads = 128;
__global__ void __launch_bounds__(kMergeThreads)
    attention_merge_kernel(AttentionArgs a, int chunks, bool own, const float* partial) {
  const int64_t th = int64_t(blockIdx.x) * a.q_heads + int(blockIdx.y);
  const int count = own ? key_chunks(a.vis[blockIdx.x].keys()) : chunks;
  if (own && count < 2) return;
  merge_chunks(partial + th * chunks * (a.head_dim + 2), count, a.head_dim, a.out + th * a.head_dim, int(threadIdx.x),
               int(blockDim.x));
}

// tiles: flash attention on matrix units (mma.sync m16n8k16 on NVIDIA, MFMA 16x16x16 on AMD, f32
// accumulation; TileLanes below), in two precisions (MmaInputs): bf16, Q, K, V and the softmax weights
// rounded to bf16 once (opt-in, gpu-mma, like the mma linear variant); f32, each of them fed to the
// instruction as the terms of split_bf16x3 (the exact modes: tiles_f32). A block of kTileWarps warps
// takes kTileRows query rows that share a kv head: row r of the tile is token t0 + r / G, head
// kvh * G + r % G (G query heads per kv head), so every key staged in shared memory serves the G
// heads and all the tile's tokens at once. The tile's tokens are taken in runs of one sequence; a
// run's keys are its cache slots [min cache_begin, max cache_len) followed by its pass positions
// [min, max) over the run's intervals, and each row masks the keys its token does not see.
// blockIdx.z takes chunk z of the run's keys (gridDim.z chunks of whole key tiles, the last one
// shorter; KeyChunks): with several chunks (a split over keys that fills the device, tiles_grid) each
// block writes its rows' partial states, which the merge launch merges in chunk order over the whole
// device; with one chunk it writes the rows' outputs.
// Per key tile: S = Q K^T (Q's fragments kept from tile to tile: QFrags), an online softmax per row
// (each row's max and sum shared by the lanes that hold it), O += P V.
inline constexpr int kTileWarps = 4, kTileRows = 16 * kTileWarps;
inline constexpr int kTileMaxDim = 128;  // the largest head_dim the tiles variants take
// Keys per staged tile (KvTile below): 64 of bf16, 32 of f32.
constexpr int tile_keys(MmaInputs i) { return i == MmaInputs::bf16 ? 64 : 32; }
// How the tiles kernel cuts a row's keys into chunks, each a softmax state, merged in order:
//   - balanced (tiles, tiles_f32): a run's keys are its cache hull then its pass hull, cut into
//     gridDim.z chunks of whole key tiles, block z taking chunk z. Which tile holds a row's key, and
//     where the chunks end, follow the other rows of the tile and the grid.
//   - fixed (tiles_invariant): a row's key x is entry x of its own visible list (cache slots, first
//     interval, second), key tiles start at multiples of the tile's keys and chunks at multiples of
//     kAttentionChunk (block z takes chunks z, z + gridDim.z, ...), and a tile a row does not see
//     leaves its state as it was. Each row's arithmetic then depends on its own keys alone: batch
//     invariant, and an AR step's row is a TiDAR verify row's bit for bit.
enum class KeyChunks { balanced, fixed };

// From here to the kernel, what only the tiles kernel's body uses: compiled where that body is (a
// device with bf16 matrix units), so that the other passes (a HIP build's host pass) do not find it
// unused.
#if defined(DLLM_DEVICE_HAS_MATRIX_BF16)
inline constexpr int kKeyCacheNone = INT_MIN;

// Elements at .. at + 3 of a K or V array of `dtype` as f32 (at a multiple of 4, the array 16-byte
// aligned): one 16-byte load for f32, one 8-byte load for bf16.
__device__ inline void load4(const void* p, DType dtype, int64_t at, float* out) {
  if (dtype == DType::bf16) {
    const uint2 u = *reinterpret_cast<const uint2*>(static_cast<const uint16_t*>(p) + at);
    out[0] = bf16_to_f32(uint16_t(u.x)), out[1] = bf16_to_f32(uint16_t(u.x >> 16));
    out[2] = bf16_to_f32(uint16_t(u.y)), out[3] = bf16_to_f32(uint16_t(u.y >> 16));
  } else {
    const float4 f = *reinterpret_cast<const float4*>(static_cast<const float*>(p) + at);
    out[0] = f.x, out[1] = f.y, out[2] = f.z, out[3] = f.w;
  }
}

// How many times a token sees key `code` of a run (a cache slot >= 0, pass position p as -1 - p,
// kKeyCacheNone past the run): a pass position in both intervals counts twice, as in the reference's
// list of visible keys.
__device__ inline int times_seen(const Visibility& v, int code) {
  if (code >= 0) return code >= v.cache_begin && code < v.cache_len;
  if (code == kKeyCacheNone) return 0;
  const int p = -1 - code;
  return int(p >= v.first.begin && p < v.first.end) + int(p >= v.second.begin && p < v.second.end);
}

// KeyChunks::fixed: tokens of a run (one sequence, one cache_begin) whose key x is the same key for
// every x: the same cache_len and pass keys placed alike (first.begin, and where there is a second
// interval, first's length and second.begin). mapped_code: times_seen's code of key x of v's map.
__device__ inline bool same_key_map(const Visibility& a, const Visibility& b) {
  const bool second = a.second.end > a.second.begin;
  if (a.cache_len != b.cache_len || a.first.begin != b.first.begin || second != (b.second.end > b.second.begin))
    return false;
  return !second || (a.first.end - a.first.begin == b.first.end - b.first.begin && a.second.begin == b.second.begin);
}
__device__ inline int mapped_code(const Visibility& v, int x) {
  const int cached = v.cache_len - v.cache_begin;
  if (x < cached) return v.cache_begin + x;
  const int r = x - cached, n1 = v.first.end - v.first.begin;
  return -1 - (v.second.end == v.second.begin || r < n1 ? v.first.begin + r : v.second.begin + (r - n1));
}

// 16 bytes from global to shared memory: by cp.async where the device has it (kAsyncCopies; no
// registers: a tile's copies are all in flight at once, and in flight while the block computes),
// else through registers. stage16_commit closes a group of copies (possibly empty); stage16_wait<N>
// waits for all but the N latest groups, whose copies are then ready after the next barrier.
#if defined(DLLM_DEVICE_HAS_MMA_BF16)
inline constexpr bool kAsyncCopies = true;
#else
inline constexpr bool kAsyncCopies = false;
#endif
__device__ inline void stage16(void* shared_dst, const void* global_src) {
#if defined(DLLM_DEVICE_HAS_MMA_BF16)
  gpu_cp_async_16(static_cast<uint32_t*>(shared_dst), global_src, true);
#else
  *static_cast<uint4*>(shared_dst) = *static_cast<const uint4*>(global_src);
#endif
}
__device__ inline void stage16_commit() {
#if defined(DLLM_DEVICE_HAS_MMA_BF16)
  gpu_cp_async_commit();
#endif
}
template <int PENDING>
__device__ inline void stage16_wait() {
#if defined(DLLM_DEVICE_HAS_MMA_BF16)
  gpu_cp_async_wait<PENDING>();
#endif
}

// A fragment as its terms: f[i][reg] is register reg of term i (one term for bf16 inputs; three for
// f32: hi, mid, lo). put_pair sets register reg to the pair (x, y), x in the low half: rounded to
// bf16, or split into split_bf16x3's terms.
constexpr int tile_terms(MmaInputs i) { return i == MmaInputs::bf16 ? 1 : 3; }
template <int T, int N>
__device__ inline void put_pair(uint32_t (&f)[T][N], int reg, float x, float y) {
  if constexpr (T == 1) {
    f[0][reg] = bf16_pair(x, y);
  } else {
    const Bf16x3 a = split_bf16x3(x), b = split_bf16x3(y);
    f[0][reg] = term_pair(a.hi, b.hi), f[1][reg] = term_pair(a.mid, b.mid), f[2][reg] = term_pair(a.lo, b.lo);
  }
}

// acc += A B through the vendor's instruction `mma` (one term of each operand). One term: the
// instruction accumulates into acc. Three: the six products of terms whose indices sum to at most 2
// (hi x hi, hi x mid, mid x hi, hi x lo, mid x mid, lo x hi), the smallest first, summed from zero
// and then added to acc with an f32 add (as the mma linear variant adds its 16-column steps). The
// three left out (mid x lo, lo x mid, lo x lo) are below 2^-21 of |a b| together, about 4 f32 ulps
// of a product.
template <int T, int NA, int NB, class Mma>
__device__ inline void mma_terms(const uint32_t (&a)[T][NA], const uint32_t (&b)[T][NB], float (&acc)[4],
                                 const Mma& mma) {
  if constexpr (T == 1) {
    mma(a[0], b[0], acc);
  } else {
    float sum[4] = {};
    mma(a[2], b[0], sum);
    mma(a[0], b[2], sum);
    mma(a[1], b[1], sum);
    mma(a[1], b[0], sum);
    mma(a[0], b[1], sum);
    mma(a[0], b[0], sum);
    for (int e = 0; e < 4; ++e) acc[e] += sum[e];
  }
}

// A key tile of K and V in shared memory, [key, dim], for inputs I (tile_keys(I) keys):
//   - bf16: 64 keys, bf16 pairs of dims (a bf16 cache's rows as stored) in rows of DIM / 2 + 4 words;
//   - f32: 32 keys (the same 34 KB at head_dim 128), floats in rows of DIM + 8 (K) and DIM + 4 (V).
// The padding spreads a warp's fragment reads over the banks (f32: K's 8-byte reads of a half-warp,
// V's 4-byte reads of a warp). k_frag and v_frag put one fragment register: K's dims 2 pair and
// 2 pair + 1 of a key; V's keys key and key + 1 at a dim (V's fragments pair keys, not dims).
// K and V are staged apart (part 0: K, 1: V), so that one is in flight while the other is read.
// store8 puts 8 dims of a key's part from registers; copy8 copies them as stored from src (16-byte
// stage16s): rows of the tile's own type (kStored) whose 8 dims are all there.
template <MmaInputs I, int DIM>
struct KvTile;
template <int DIM>
struct KvTile<MmaInputs::bf16, DIM> {
  static constexpr int kKeys = tile_keys(MmaInputs::bf16), kLd = DIM / 2 + 4;
  static constexpr DType kStored = DType::bf16;
  uint32_t k[kKeys][kLd], v[kKeys][kLd];
  template <int N>
  __device__ void k_frag(uint32_t (&f)[1][N], int reg, int key, int pair) const {
    f[0][reg] = k[key][pair];
  }
  template <int N>
  __device__ void v_frag(uint32_t (&f)[1][N], int reg, int key, int dim) const {
    const uint16_t* e = reinterpret_cast<const uint16_t*>(v[key]) + dim;
    f[0][reg] = uint32_t(e[0]) | uint32_t(e[2 * kLd]) << 16;
  }
  // part's dims dim .. of a key, 16-byte aligned where dim % 8 == 0 (ldmatrix's rows)
  __device__ const uint32_t* pairs(int part, int key, int dim) const { return (part == 0 ? k[key] : v[key]) + dim / 2; }
  __device__ uint32_t* row(int part, int key) { return part == 0 ? k[key] : v[key]; }
  __device__ void store8(int part, int key, int d, const float (&x)[8]) {
    for (int i = 0; i < 4; ++i) row(part, key)[d / 2 + i] = bf16_pair(x[2 * i], x[2 * i + 1]);
  }
  __device__ void copy8(int part, int key, int d, const void* src) { stage16(row(part, key) + d / 2, src); }
};
template <int DIM>
struct KvTile<MmaInputs::f32, DIM> {
  static constexpr int kKeys = tile_keys(MmaInputs::f32), kKLd = DIM + 8, kVLd = DIM + 4;
  static constexpr DType kStored = DType::f32;
  float k[kKeys][kKLd], v[kKeys][kVLd];
  template <int N>
  __device__ void k_frag(uint32_t (&f)[3][N], int reg, int key, int pair) const {
    const float2 x = *reinterpret_cast<const float2*>(&k[key][2 * pair]);
    put_pair(f, reg, x.x, x.y);
  }
  template <int N>
  __device__ void v_frag(uint32_t (&f)[3][N], int reg, int key, int dim) const {
    put_pair(f, reg, v[key][dim], v[key + 1][dim]);
  }
  __device__ float* row(int part, int key) { return part == 0 ? k[key] : v[key]; }
  __device__ void store8(int part, int key, int d, const float (&x)[8]) {
    for (int h = 0; h < 2; ++h)
      *reinterpret_cast<float4*>(row(part, key) + d + 4 * h) =
          float4{x[4 * h], x[4 * h + 1], x[4 * h + 2], x[4 * h + 3]};
  }
  __device__ void copy8(int part, int key, int d, const void* src) {
    for (int h = 0; h < 2; ++h) stage16(row(part, key) + d + 4 * h, static_cast<const float*>(src) + 4 * h);
  }
};

// Q's fragments, kept from one key tile to the next: bf16, the registers as the instruction takes
// them; f32, each register's pair of floats, split into terms at each use (three registers a pair
// otherwise). [KK] blocks of 16 dims, N registers each. The scores' loop over the 16-dim blocks is
// not unrolled, so ptxas keeps the f32 pairs in local memory (L1, read once per block for all the
// tile's keys) and the kernel under 200 registers; unrolled, it held them in registers and spilled.
template <MmaInputs I, int KK, int N>
struct QFrags;
template <int KK, int N>
struct QFrags<MmaInputs::bf16, KK, N> {
  uint32_t w[KK][N];
  __device__ void set(int kk, int reg, float x, float y) { w[kk][reg] = bf16_pair(x, y); }
  __device__ void get(int kk, uint32_t (&f)[1][N]) const {
    for (int reg = 0; reg < N; ++reg) f[0][reg] = w[kk][reg];
  }
};
template <int KK, int N>
struct QFrags<MmaInputs::f32, KK, N> {
  float2 x[KK][N];
  __device__ void set(int kk, int reg, float a, float b) { x[kk][reg] = float2{a, b}; }
  __device__ void get(int kk, uint32_t (&f)[3][N]) const {
    for (int reg = 0; reg < N; ++reg) put_pair(f, reg, x[kk][reg].x, x[kk][reg].y);
  }
};

// A warp's part of the tiles kernel's 64 rows and its matrix instruction: each warp takes 16 rows.
// kRows rows per lane (row(i)). A key tile's scores s[kScoreBlocks][4] and the output o[kOutBlocks][4]
// are accumulators of the same layout: element (n, e) belongs to row slot acc_row(e) and to column
// acc_col(n, e), a key of the tile or a dim. A row's values are spread over 4 lanes: lane ^ kRowStride
// and lane ^ 2 kRowStride share it (row_max, row_sum below).
// load_q builds Q's fragments (rows[i]: row slot i's query, null past the tile; zeros past head_dim),
// scores computes S from the staged K tile, accumulate adds P V from the staged V tile, P taken from
// the scores' registers as the next product's operand.
#if defined(DLLM_DEVICE_HAS_MMA_BF16)
// NVIDIA, mma.sync m16n8k16 (vendor.h's layout, g = lane / 4, q = lane % 4): S = Q K^T and O += P V.
// Lane (g, q) holds rows g and g + 8 of its warp's 16, and of each 8 keys or dims, 2q and 2q + 1; a
// row's values are spread over the 4 lanes of a quad. P's accumulator fragments of two 8-key blocks
// are the A fragment of 16 keys.
template <int DIM, MmaInputs I>
struct TileLanes {
  using Tile = KvTile<I, DIM>;
  static constexpr int kTerms = tile_terms(I);
  static constexpr int kRows = 2, kScoreBlocks = Tile::kKeys / 8, kOutBlocks = DIM / 8, kRowStride = 1;
  int warp, g, q;
  QFrags<I, DIM / 16, 4> qf;
  __device__ explicit TileLanes(int tid) : warp(tid / kWarp), g(tid % kWarp / 4), q(tid % 4) {}
  __device__ int row(int i) const { return warp * 16 + g + 8 * i; }
  __device__ static int acc_row(int e) { return e / 2; }
  __device__ int acc_col(int n, int e) const { return 8 * n + 2 * q + e % 2; }
  __device__ static void mma(const uint32_t (&a)[4], const uint32_t (&b)[2], float (&c)[4]) {
    gpu_mma_16x8x16_bf16(a, b, c);
  }
  __device__ void load_q(const float* const (&rows)[kRows], int dh) {
    for (int kk = 0; kk < DIM / 16; ++kk)
      for (int r = 0; r < 4; ++r) {
        const float* qrow = rows[r % 2];
        const int d = kk * 16 + 2 * q + 8 * (r / 2);
        qf.set(kk, r, qrow && d < dh ? qrow[d] : 0.0f, qrow && d + 1 < dh ? qrow[d + 1] : 0.0f);
      }
  }
  // bf16 K: each ldmatrix .x4 gives the B registers of two 8-key blocks (matrices: keys 8n .. 8n + 7
  // at dims 16kk and 16kk + 8, then keys 8n + 8 .. at the same dims; lane l gives row l % 8 of matrix
  // l / 8), where k_frag takes one 32-bit load a register.
  __device__ void scores(const Tile& t, int dh, float (&s)[kScoreBlocks][4]) const {
    for (int kk = 0; kk < DIM / 16 && kk * 16 < dh; ++kk) {
      uint32_t a[kTerms][4];
      qf.get(kk, a);
      if constexpr (I == MmaInputs::bf16) {
        const int lane = 4 * g + q, j = lane / 8;
        unrolled<kScoreBlocks / 2>([&](auto keys) {
          constexpr int n = 2 * decltype(keys)::value;
          uint32_t r[4];
          gpu_ldmatrix_x4<false>(r, t.pairs(0, 8 * (n + j / 2) + lane % 8, 16 * kk + 8 * (j % 2)));
          const uint32_t b0[1][2] = {{r[0], r[1]}}, b1[1][2] = {{r[2], r[3]}};
          mma_terms(a, b0, s[n], mma);
          mma_terms(a, b1, s[n + 1], mma);
        });
      } else {
        unrolled<kScoreBlocks>([&](auto keys) {
          constexpr int n = decltype(keys)::value;
          uint32_t b[kTerms][2];
          t.k_frag(b, 0, 8 * n + g, 8 * kk + q);
          t.k_frag(b, 1, 8 * n + g, 8 * kk + q + 4);
          mma_terms(a, b, s[n], mma);
        });
      }
    }
  }
  // bf16 V: each ldmatrix .x4 .trans gives the B registers of two 8-dim blocks (matrices: keys
  // 0-7 and 8-15 of the 16, at dims 8n and at 8n + 8; lane l gives row l % 8 of matrix l / 8), where
  // v_frag takes two 16-bit loads a register.
  __device__ void accumulate(const float (&s)[kScoreBlocks][4], const Tile& t, int dh,
                             float (&o)[kOutBlocks][4]) const {
    unrolled<Tile::kKeys / 16>([&](auto keys) {
      constexpr int kk = decltype(keys)::value;
      uint32_t pa[kTerms][4];
      put_pair(pa, 0, s[2 * kk][0], s[2 * kk][1]);
      put_pair(pa, 1, s[2 * kk][2], s[2 * kk][3]);
      put_pair(pa, 2, s[2 * kk + 1][0], s[2 * kk + 1][1]);
      put_pair(pa, 3, s[2 * kk + 1][2], s[2 * kk + 1][3]);
      if constexpr (I == MmaInputs::bf16) {
        const int lane = 4 * g + q, j = lane / 8;
        unrolled<kOutBlocks / 2>([&](auto dims) {
          constexpr int n = 2 * decltype(dims)::value;
          if (n * 8 >= dh) return;
          uint32_t r[4];
          gpu_ldmatrix_x4<true>(r, t.pairs(1, 16 * kk + 8 * (j % 2) + lane % 8, 8 * (n + j / 2)));
          const uint32_t b0[1][2] = {{r[0], r[1]}}, b1[1][2] = {{r[2], r[3]}};
          mma_terms(pa, b0, o[n], mma);
          if ((n + 1) * 8 < dh) mma_terms(pa, b1, o[n + 1], mma);
        });
      } else {
        unrolled<kOutBlocks>([&](auto dims) {
          constexpr int n = decltype(dims)::value;
          if (n * 8 >= dh) return;
          uint32_t b[kTerms][2];
          t.v_frag(b, 0, 16 * kk + 2 * q, 8 * n + g);
          t.v_frag(b, 1, 16 * kk + 2 * q + 8, 8 * n + g);
          mma_terms(pa, b, o[n], mma);
        });
      }
    });
  }
};
#elif defined(DLLM_DEVICE_HAS_MFMA_BF16)
// AMD, MFMA 16x16x16 (vendor.h's layout, r = lane % 16, s = lane / 16), transposed: S^T = K Q^T and
// O^T += V^T P^T. Lane (r, s) holds row r of its wave's 16, and of each 16 keys or dims, 4s .. 4s + 3;
// a row's values are spread over the 4 lanes r, r + 16, r + 32, r + 48. S^T's accumulator fragment
// is P^T's B fragment as it stands.
template <int DIM, MmaInputs I>
struct TileLanes {
  using Tile = KvTile<I, DIM>;
  static constexpr int kTerms = tile_terms(I);
  static constexpr int kRows = 1, kScoreBlocks = Tile::kKeys / 16, kOutBlocks = DIM / 16, kRowStride = 16;
  int wave, r, s;
  QFrags<I, DIM / 16, 2> qf;
  __device__ explicit TileLanes(int tid) : wave(tid / kWarp), r(tid % 16), s(tid % kWarp / 16) {}
  __device__ int row(int) const { return wave * 16 + r; }
  __device__ static int acc_row(int) { return 0; }
  __device__ int acc_col(int n, int e) const { return 16 * n + 4 * s + e; }
  __device__ static void mma(const uint32_t (&a)[2], const uint32_t (&b)[2], float (&c)[4]) {
    gpu_mfma_16x16x16_bf16(a, b, c);
  }
  __device__ void load_q(const float* const (&rows)[kRows], int dh) {
    const float* qrow = rows[0];
    for (int kk = 0; kk < DIM / 16; ++kk)
      for (int h = 0; h < 2; ++h) {
        const int d = kk * 16 + 4 * s + 2 * h;
        qf.set(kk, h, qrow && d < dh ? qrow[d] : 0.0f, qrow && d + 1 < dh ? qrow[d + 1] : 0.0f);
      }
  }
  __device__ void scores(const Tile& t, int dh, float (&sc)[kScoreBlocks][4]) const {
    for (int kk = 0; kk < DIM / 16 && kk * 16 < dh; ++kk) {
      uint32_t b[kTerms][2];
      qf.get(kk, b);
      unrolled<kScoreBlocks>([&](auto keys) {
        constexpr int n = decltype(keys)::value;
        uint32_t a[kTerms][2];
        t.k_frag(a, 0, 16 * n + r, 8 * kk + 2 * s);
        t.k_frag(a, 1, 16 * n + r, 8 * kk + 2 * s + 1);
        mma_terms(a, b, sc[n], mma);
      });
    }
  }
  __device__ void accumulate(const float (&sc)[kScoreBlocks][4], const Tile& t, int dh,
                             float (&o)[kOutBlocks][4]) const {
    unrolled<kScoreBlocks>([&](auto keys) {
      constexpr int kk = decltype(keys)::value;
      uint32_t pb[kTerms][2];
      put_pair(pb, 0, sc[kk][0], sc[kk][1]);
      put_pair(pb, 1, sc[kk][2], sc[kk][3]);
      unrolled<kOutBlocks>([&](auto dims) {
        constexpr int n = decltype(dims)::value;
        if (n * 16 >= dh) return;
        uint32_t a[kTerms][2];
        t.v_frag(a, 0, 16 * kk + 4 * s, 16 * n + r);
        t.v_frag(a, 1, 16 * kk + 4 * s + 2, 16 * n + r);
        mma_terms(a, pb, o[n], mma);
      });
    });
  }
};
#endif

// The max and the sum of a value over the 4 lanes that share its row.
template <class Lanes>
__device__ inline float row_max(float x) {
  x = fmaxf(x, gpu_shfl_xor(x, Lanes::kRowStride));
  return fmaxf(x, gpu_shfl_xor(x, 2 * Lanes::kRowStride));
}
template <class Lanes>
__device__ inline float row_sum(float x) {
  x += gpu_shfl_xor(x, Lanes::kRowStride);
  return x + gpu_shfl_xor(x, 2 * Lanes::kRowStride);
}
#endif  // DLLM_DEVICE_HAS_MATRIX_BF16

// I: the inputs' precision. DIM: head_dim rounded up to 64 or 128 (the register arrays' size);
// a.head_dim <= DIM. VEC: head_dim is a multiple of 4 and the K/V arrays start 16-byte aligned
// (vector_kv), so rows are staged with 16-byte loads. CHUNKS: how keys are cut into chunks (KeyChunks).
// PARTIAL: rows with several chunks write each chunk's state (max, sum, out[Dh]) for the merge launch.
template <MmaInputs I, int DIM, bool PARTIAL, bool VEC, KeyChunks CHUNKS>
__global__ void __launch_bounds__(kTileWarps* kWarp, 1) attention_tiles_kernel(AttentionArgs a) {
#if defined(DLLM_DEVICE_HAS_MATRIX_BF16)
  using Lanes = TileLanes<DIM, I>;
  using Tile = typename Lanes::Tile;
  constexpr int kRows = Lanes::kRows, kKeys = Tile::kKeys;
  constexpr bool kFixed = CHUNKS == KeyChunks::fixed;
  alignas(16) __shared__ Tile tile;
  static_assert(sizeof(Visibility) % 4 == 0 && alignof(Visibility) == 4, "Visibility is int32 fields");
  __shared__ int32_t vis_words[kTileRows * sizeof(Visibility) / 4];  // the tile's tokens (no constructor)
  __shared__ int32_t seq_s[kTileRows];
  // fixed: the first token of the group with the token's key map, and (at that token) the map's
  // largest key count
  __shared__ int32_t map_s[kTileRows], map_keys_s[kTileRows];
  Visibility* vis_s = reinterpret_cast<Visibility*>(vis_words);
  const int group = a.q_heads / a.kv_heads, per_tile = kTileRows / group;  // tokens per tile
  const int t0 = int(blockIdx.x) * per_tile, nt = min(per_tile, a.tokens - t0), kvh = int(blockIdx.y);
  const int chunks = int(gridDim.z);
  const int tid = int(threadIdx.x), lane = tid % kWarp, warp = tid / kWarp;
  const int dh = a.head_dim, row_len = a.kv_heads * dh;
  // Rows of the tile's own type are staged as stored where whole 16-byte groups: a bf16 cache's rows
  // of whole groups of 8 (a bf16 tile), f32 rows (an f32 tile; the cache's when its stride allows).
  const bool cache_rows_whole =
      VEC && a.seq_stride % (16 / dtype_size(Tile::kStored)) == 0 && (Tile::kStored == DType::f32 || dh % 8 == 0);
  for (int i = tid; i < nt; i += int(blockDim.x)) vis_s[i] = a.vis[t0 + i], seq_s[i] = a.seq[t0 + i];
  __syncthreads();
  const auto same_group = [&](int u, int v) {  // the runs: one sequence (fixed: and one cache_begin)
    return seq_s[u] == seq_s[v] && (!kFixed || vis_s[u].cache_begin == vis_s[v].cache_begin);
  };
  if constexpr (kFixed) {
    for (int u = tid; u < nt; u += int(blockDim.x)) {
      int first = u;
      while (first > 0 && same_group(first - 1, u)) --first;
      while (!same_key_map(vis_s[first], vis_s[u])) ++first;
      map_s[u] = first;
    }
    __syncthreads();
    for (int u = tid; u < nt; u += int(blockDim.x)) {
      int keys = 0;  // a map's tokens follow its first
      for (int v = u; v < nt; ++v)
        if (map_s[v] == u) keys = max(keys, vis_s[v].keys());
      map_keys_s[u] = keys;
    }
    __syncthreads();
  }

  // This lane's rows: token index in the tile (or -1) and query head; Q's fragments (zeros past the
  // tile and past head_dim).
  Lanes lanes(tid);
  int tok[kRows], head[kRows];
  const float* q_rows[kRows];
  for (int i = 0; i < kRows; ++i) {
    const int r = lanes.row(i);
    tok[i] = r / group < nt ? r / group : -1;
    head[i] = kvh * group + r % group;
    q_rows[i] = tok[i] >= 0 ? a.q + (int64_t(t0 + tok[i]) * a.q_heads + head[i]) * dh : nullptr;
  }
  lanes.load_q(q_rows, dh);
  // Whether any of the warp's 16 rows is in the tile: an AR step's G rows fill part of one warp, and
  // the other warps only stage keys.
  const bool warp_has_rows = warp * 16 < nt * group;

  // The rows' softmax states over the keys added since reset: max, sum (this lane's part), out.
  float m[kRows], l[kRows], o[Lanes::kOutBlocks][4];
  const auto reset = [&] {
    for (int i = 0; i < kRows; ++i) m[i] = -INFINITY, l[i] = 0.0f;
    for (int n = 0; n < Lanes::kOutBlocks; ++n)
      for (int e = 0; e < 4; ++e) o[n][e] = 0.0f;
  };
  // Issues part `part` (0: K, 1: V) of the key tile whose slot e holds key code_of(e) (times_seen's
  // codes; kKeyCacheNone: zeros), cache rows from seq_at, 8 dims of a key at a time, as one group of
  // copies: rows of the tile's type as stored (copy8: a bf16 cache into a bf16 tile; an f32 cache
  // and the pass's f32 keys into an f32 tile), anything else through registers (store8, rounded to
  // bf16 for a bf16 tile).
  const auto stage = [&](int part, int64_t seq_at, auto code_of) {
    for (int e = tid; e < kKeys * (DIM / 8); e += int(blockDim.x)) {
      const int key = e / (DIM / 8), d = (e % (DIM / 8)) * 8, code = code_of(key);
      const bool there = code != kKeyCacheNone, cached = code >= 0;
      const void* src = cached ? (part == 0 ? a.k_cache : a.v_cache) : (part == 0 ? a.k_pass : a.v_pass);
      const int64_t at = cached  ? seq_at + int64_t(code) * row_len + d
                         : there ? int64_t(-1 - code) * row_len + kvh * dh + d
                                 : 0;
      const DType dtype = cached ? a.kv_dtype : DType::f32;
      if (there && dtype == Tile::kStored && (cached ? cache_rows_whole : VEC) && d + 8 <= dh) {
        tile.copy8(part, key, d, static_cast<const char*>(src) + at * dtype_size(dtype));
        continue;
      }
      float x[8] = {};
      if (there && VEC) {  // one 16-byte (f32) or 8-byte (bf16) load per 4 dims
        for (int h = 0; h < 2 && d + 4 * h < dh; ++h) load4(src, dtype, at + 4 * h, &x[4 * h]);
      } else if (there) {
        for (int i = 0; i < 8 && d + i < dh; ++i) x[i] = kv_load(src, dtype, at + i);
      }
      tile.store8(part, key, d, x);
    }
    stage16_commit();
  };
  // The scores' exponentials. bf16 inputs: in base 2, the scale times log2(e) folded into the scores
  // and the max kept in base-2 units (turned back to natural ones when a state is written), so a
  // score costs one exp2 where expf takes about ten instructions; its error (a few f32 ulps) is far
  // below the bf16 rounding of the weights that the variant's rule allows. f32 inputs keep expf.
  constexpr bool kBase2 = I == MmaInputs::bf16;
  const float score_scale = kBase2 ? a.scale * 1.44269504f : a.scale;
  const float twice_gain = kBase2 ? 1.0f : 0.69314718f;  // ln 2 in the scores' units
  const auto exp_scores = [](float x) { return kBase2 ? exp2f(x) : expf(x); };
  // The online softmax of the staged tile's scores s: times(i, e) is how many times row slot i sees
  // the tile's key e (0, 1 or 2). Scale, mask, the tile's max over the row's lanes, rescale (a key
  // seen twice weighs twice: its score gains ln 2); s becomes P, the weights of P V. A tile a row
  // does not see leaves its state as it was. Called by whole warps.
  const auto softmax = [&](float(&s)[Lanes::kScoreBlocks][4], auto times) {
    float p_max[kRows];
    for (int i = 0; i < kRows; ++i) p_max[i] = -INFINITY;
    for (int n = 0; n < Lanes::kScoreBlocks; ++n)
      for (int e = 0; e < 4; ++e) {
        const int i = Lanes::acc_row(e), seen = times(i, lanes.acc_col(n, e));
        s[n][e] = seen == 0 ? -INFINITY : s[n][e] * score_scale + (seen == 2 ? twice_gain : 0.0f);
        p_max[i] = fmaxf(p_max[i], s[n][e]);
      }
    float corr[kRows];
    for (int i = 0; i < kRows; ++i) {
      const float m_new = fmaxf(m[i], row_max<Lanes>(p_max[i]));
      corr[i] = m_new == -INFINITY ? 1.0f : exp_scores(m[i] - m_new);  // no key yet: nothing to rescale
      m[i] = m_new;
      l[i] *= corr[i];
    }
    for (int n = 0; n < Lanes::kScoreBlocks; ++n)
      for (int e = 0; e < 4; ++e) {
        const int i = Lanes::acc_row(e);
        s[n][e] = s[n][e] == -INFINITY ? 0.0f : exp_scores(s[n][e] - m[i]);
        l[i] += s[n][e];
      }
    // A factor of 1 changes nothing: past the first tiles of a long context no row's max moves, and
    // the warp skips the rescale (kOutBlocks x 4 multiplies a lane).
    bool unmoved = true;
    for (int i = 0; i < kRows; ++i) unmoved = unmoved && corr[i] == 1.0f;
    if (!warp_all(unmoved))
      for (int n = 0; n < Lanes::kOutBlocks; ++n)
        for (int e = 0; e < 4; ++e) o[n][e] *= corr[Lanes::acc_row(e)];
  };
  // A key tile of the block's sequence: keys x0 .. x0 + kKeys - 1 of chunk `chunk` (-1: past the
  // last tile), of the run's hull list (balanced) or of each row's own list (fixed). map: -1 where
  // every row of the run sees these keys; fixed, past cached_min: the key map whose keys the tile
  // holds (its first token), with `keys` its largest key count.
  struct Step {
    int chunk, x0, map, keys;
  };
  // Adds the tiles from `first` on to the rows' states (next(s): the tile after s). With cp.async
  // they are pipelined: a tile's V is in flight while its scores run, and the next tile's K while
  // its softmax and P V run. Through registers, K and V are staged together, their loads in flight
  // at once. code_of(s, e): the key in slot e of tile s; times(s, i, e): how many times row slot i
  // sees it; whole(s, i): whether row slot i sees each key of s once, or is outside the run (its
  // state is never written this run, so anything may go into it). A warp whose rows are all whole
  // skips times, most of the softmax's integer work: in a long context nearly every tile is cache
  // slots that every row sees, and the result is the same bits either way. chunk_done(c) after
  // chunk c's last tile. Every thread comes, for the barriers.
  const auto add_tiles = [&](int64_t seq_at, Step first, auto next, auto code_of, auto times, auto whole,
                             auto chunk_done) {
    const auto stage_tile = [&](int part, const Step& s) { stage(part, seq_at, [&](int e) { return code_of(s, e); }); };
    if (kAsyncCopies && first.chunk >= 0) stage_tile(0, first);
    for (Step s = first; s.chunk >= 0;) {
      const Step n = next(s);
      if constexpr (!kAsyncCopies) stage_tile(0, s), stage_tile(1, s);
      stage16_wait<0>();
      __syncthreads();  // K of s is in place (through registers, V too); every warp is past the last P V
      if constexpr (kAsyncCopies) stage_tile(1, s);
      float sc[Lanes::kScoreBlocks][4] = {};
      if (warp_has_rows) lanes.scores(tile, dh, sc);  // the other warps only stage
      if constexpr (kAsyncCopies) {
        __syncthreads();  // K of s is read
        if (n.chunk >= 0)
          stage_tile(0, n);
        else
          stage16_commit();  // the groups count tiles
      }
      if (warp_has_rows) {
        bool lane_whole = true;
        for (int i = 0; i < kRows; ++i) lane_whole = lane_whole && whole(s, i);
        if (warp_all(lane_whole))
          softmax(sc, [](int, int) { return 1; });
        else
          softmax(sc, [&](int i, int e) { return times(s, i, e); });
      }
      if constexpr (kAsyncCopies) {
        stage16_wait<1>();
        __syncthreads();  // V of s is in place
      }
      if (warp_has_rows) lanes.accumulate(sc, tile, dh, o);
      if constexpr (!kAsyncCopies) __syncthreads();  // s is read before the next tile is staged
      if (n.chunk != s.chunk) chunk_done(s.chunk);
      s = n;
    }
  };
  // The rows' sums over their lanes; then each lane writes its part of row slot i at dst[i] (none
  // where null): the output, or where state[i] the state (max, sum, out[Dh]) of a chunk.
  const auto write = [&](float* const(&dst)[kRows], const bool(&state)[kRows]) {
    for (int i = 0; i < kRows; ++i) l[i] = row_sum<Lanes>(l[i]);
    for (int i = 0; i < kRows; ++i)
      if (dst[i] && state[i] && lane / Lanes::kRowStride % 4 == 0)
        dst[i][0] = kBase2 ? m[i] * 0.69314718f : m[i], dst[i][1] = l[i];  // one lane
    for (int n = 0; n < Lanes::kOutBlocks; ++n)
      for (int e = 0; e < 4; ++e) {
        const int i = Lanes::acc_row(e), d = lanes.acc_col(n, e);
        if (!dst[i] || d >= dh) continue;
        if (state[i])
          dst[i][2 + d] = o[n][e];
        else
          dst[i][d] = l[i] > 0.0f ? o[n][e] / l[i] : 0.0f;  // sees nothing: 0
      }
  };
  const auto row_th = [&](int i) { return int64_t(t0 + tok[i]) * a.q_heads + head[i]; };
  const int fixed_chunks = chunk_slots(a);  // fixed: each row's chunk slots in the workspace
  constexpr Step kPast{-1, 0, -1, 0};

  for (int run = 0; run < nt;) {
    // The run: tokens [run, run_end) of one group; rows of other runs see none of its keys.
    int run_end = run + 1;
    while (run_end < nt && same_group(run_end, run)) ++run_end;
    const int64_t seq_at = int64_t(seq_s[run]) * a.seq_stride + int64_t(kvh) * dh;  // the run's cache rows
    bool in_run[kRows];
    for (int i = 0; i < kRows; ++i) in_run[i] = tok[i] >= run && tok[i] < run_end;

    reset();
    if constexpr (!kFixed) {
      // The run's keys: its cache hull, then its pass hull; chunk blockIdx.z of gridDim.z.
      int cache_lo = INT_MAX, cache_hi = 0, pass_lo = INT_MAX, pass_hi = 0;
      for (int i = run; i < run_end; ++i) {
        const Visibility& v = vis_s[i];
        if (v.cache_len > v.cache_begin) cache_lo = min(cache_lo, v.cache_begin), cache_hi = max(cache_hi, v.cache_len);
        if (v.first.end > v.first.begin) pass_lo = min(pass_lo, v.first.begin), pass_hi = max(pass_hi, v.first.end);
        if (v.second.end > v.second.begin) pass_lo = min(pass_lo, v.second.begin), pass_hi = max(pass_hi, v.second.end);
      }
      const int n_cache = cache_hi > cache_lo ? cache_hi - cache_lo : 0,
                n_pass = pass_hi > pass_lo ? pass_hi - pass_lo : 0;
      const int n_keys = n_cache + n_pass;
      const int chunk = (n_keys + chunks * kKeys - 1) / (chunks * kKeys) * kKeys;
      const int begin = min(int(blockIdx.z) * chunk, n_keys), end = min(begin + chunk, n_keys);
      const auto code_of = [&](const Step& s, int e) {
        const int j = s.x0 + e;
        return j >= end ? kKeyCacheNone : j < n_cache ? cache_lo + j : -1 - (pass_lo + j - n_cache);
      };
      add_tiles(
          seq_at, begin < end ? Step{int(blockIdx.z), begin, -1, 0} : kPast,
          [&](const Step& s) {
            return s.x0 + kKeys < end ? Step{s.chunk, s.x0 + kKeys, -1, 0} : kPast;
          },
          code_of,
          [&](const Step& s, int i, int e) { return in_run[i] ? times_seen(vis_s[tok[i]], code_of(s, e)) : 0; },
          [&](const Step& s, int i) {  // cache slots all inside the row's own
            if (!in_run[i]) return true;
            const int lo = cache_lo + s.x0, hi = lo + kKeys;
            return s.x0 + kKeys <= min(end, n_cache) && vis_s[tok[i]].cache_begin <= lo &&
                   hi <= vis_s[tok[i]].cache_len;
          },
          [](int) {});
      float* dst[kRows] = {};
      bool state[kRows];
      for (int i = 0; i < kRows; ++i) {
        state[i] = PARTIAL;
        if (in_run[i])
          dst[i] = PARTIAL ? a.workspace + (row_th(i) * chunks + int(blockIdx.z)) * (dh + 2) : a.out + row_th(i) * dh;
      }
      write(dst, state);
    } else {
      // Key x of a row is entry x of its visible list. The run's keys: x < keys_max; below cached_min
      // every row's key x is cache slot cache_begin + x; above, each key map of the run stages its own
      // keys. Chunks blockIdx.z, + gridDim.z, ... of kAttentionChunk keys; a row with more than one
      // writes each chunk's state (a merge launch merges them), else its output.
      int keys_max = 0, cached_min = INT_MAX, keys[kRows];
      for (int u = run; u < run_end; ++u)
        keys_max = max(keys_max, vis_s[u].keys()),
        cached_min = min(cached_min, vis_s[u].cache_len - vis_s[u].cache_begin);
      for (int i = 0; i < kRows; ++i) keys[i] = in_run[i] ? vis_s[tok[i]].keys() : 0;
      const int cache_begin = vis_s[run].cache_begin;
      // The first tile at or after keys x0 of chunk c, its key map the first from token `from` on.
      const auto settle = [&](int c, int x0, int from) {
        for (;; x0 += kKeys, from = run) {
          if (x0 >= min(keys_max, (c + 1) * kAttentionChunk)) {  // the chunk's end: the block's next chunk
            c += chunks, x0 = c * kAttentionChunk;
            if (x0 >= keys_max) return kPast;
          }
          if (x0 + kKeys <= cached_min) return Step{c, x0, -1, 0};  // cache slots every row of the run sees
          for (int u = from; u < run_end; ++u)
            if (map_s[u] == u && x0 < map_keys_s[u]) return Step{c, x0, u, map_keys_s[u]};
        }
      };
      add_tiles(
          seq_at, settle(int(blockIdx.z), int(blockIdx.z) * kAttentionChunk, run),
          [&](const Step& s) {
            return s.map >= 0 ? settle(s.chunk, s.x0, s.map + 1) : settle(s.chunk, s.x0 + kKeys, run);
          },
          [&](const Step& s, int e) {
            const int x = s.x0 + e;
            return s.map < 0 ? cache_begin + x : x < s.keys ? mapped_code(vis_s[s.map], x) : kKeyCacheNone;
          },
          [&](const Step& s, int i, int e) {
            return int(in_run[i] && (s.map < 0 || (map_s[tok[i]] == s.map && s.x0 + e < keys[i])));
          },
          [&](const Step& s, int i) {
            return !in_run[i] || s.map < 0 || (map_s[tok[i]] == s.map && s.x0 + kKeys <= keys[i]);
          },
          [&](int c) {
            float* dst[kRows] = {};
            bool state[kRows];
            for (int i = 0; i < kRows; ++i) {
              const int row_chunks = key_chunks(keys[i]);
              state[i] = PARTIAL && row_chunks > 1;
              if (c < row_chunks)
                dst[i] = state[i] ? a.workspace + (row_th(i) * fixed_chunks + c) * (dh + 2) : a.out + row_th(i) * dh;
            }
            write(dst, state);
            reset();
          });
      if (blockIdx.z == 0)  // rows that see nothing: 0
        for (int n = 0; n < Lanes::kOutBlocks; ++n)
          for (int e = 0; e < 4; ++e) {
            const int i = Lanes::acc_row(e), d = lanes.acc_col(n, e);
            if (in_run[i] && keys[i] == 0 && d < dh) a.out[row_th(i) * dh + d] = 0.0f;
          }
    }
    run = run_end;
  }
#else
  (void)a;
  __builtin_trap();  // never launched: attention_tiles_available() is false without bf16 matrix units
#endif
}

// How many blocks of the tiles kernel (inputs I, chunks K, a.head_dim) that split keys the device
// runs at once (resident_blocks, the fewer of its two VEC instances), counted once per kernel.
template <MmaInputs I, KeyChunks K>
int tiles_resident(const AttentionArgs& a) {
  const auto count = [](auto dim) {
    constexpr int DIM = decltype(dim)::value, threads = kTileWarps * kWarp;
    static const int n = std::min(resident_blocks(attention_tiles_kernel<I, DIM, true, true, K>, threads),
                                  resident_blocks(attention_tiles_kernel<I, DIM, true, false, K>, threads));
    return n;
  };
  return a.head_dim <= 64 ? count(std::integral_constant<int, 64>()) : count(std::integral_constant<int, 128>());
}

// Key chunks that fill the device without a second wave. A split over keys (`blocks` blocks a chunk)
// is only there to fill the device, and only as far as every block runs at once: floor(resident /
// blocks) chunks, between 1 and `most`. resident is how many blocks of the kernel the device runs at
// once, at least kSplitMinBlocks (which every GPU exceeds, so that the emulator's one multiprocessor
// splits too). Rounding up would add a second wave of a few blocks, each as long as one of the
// first: a 68-token llama3-8b pass has 40 tiles, an H100 runs 264 tiles blocks at once, and 7 chunks
// (280 blocks) take two waves of 1/7 of the keys each, where 6 chunks take one wave of 1/6.
inline constexpr int kSplitMinBlocks = 16;
int64_t fill_chunks(int64_t blocks, int resident, int64_t most) {
  return std::clamp<int64_t>(max(resident, kSplitMinBlocks) / blocks, 1, std::max<int64_t>(most, 1));
}

// The tiles variants' grid: (token tiles, kv heads, key chunks), the chunks filling the device
// (fill_chunks) but no more than a row can have (balanced: a run of max_keys cache slots and `tokens`
// pass positions has that many key tiles; fixed: attention_chunks).
template <MmaInputs I, KeyChunks K>
dim3 tiles_grid(const AttentionArgs& a) {
  const int tiles = blocks_for(a.tokens, kTileRows / (a.q_heads / a.kv_heads));
  const int64_t most =
      K == KeyChunks::fixed ? attention_chunks(a) : blocks_for(int64_t(a.max_keys) + a.tokens, tile_keys(I));
  const int64_t chunks = fill_chunks(int64_t(tiles) * a.kv_heads, tiles_resident<I, K>(a), most);
  return dim3(unsigned(tiles), unsigned(a.kv_heads), unsigned(chunks));
}

// The f32 kernel's grid (token groups, head groups, key chunks) and chunk length for variant v:
// single_pass, one chunk; split_keys, chunks of kAttentionChunk keys (batch-invariant); split_balanced,
// chunks that fill the device (fill_chunks; resident: the PARTIAL kernel's blocks), each at least
// kBalancedMinChunk keys. An AR step of llama3-8b at 1k context has 8 blocks a chunk: 4 chunks of 256
// keys run 32 blocks, whose warps wait on one key's K and V rows at a time (about 1 KB in flight a
// warp), on a quarter of an H100's multiprocessors; 33 chunks of 32 keys run 264.
inline constexpr int kBalancedMinChunk = 32;
struct KeySplit {
  dim3 grid;
  int chunk;
};
KeySplit key_split(const AttentionArgs& a, AttentionVariant v) {
  const int group = a.q_heads / a.kv_heads;
  const int token_blocks = blocks_for(a.tokens, kGroupTokens);
  const int head_blocks = a.kv_heads * ((group + kGroupHeads - 1) / kGroupHeads);
  const auto grid = [&](int64_t chunks) {
    return dim3(unsigned(token_blocks), unsigned(head_blocks), unsigned(chunks));
  };
  if (v == AttentionVariant::single_pass) return {grid(1), INT_MAX};
  if (v == AttentionVariant::split_keys) return {grid(attention_chunks(a)), kAttentionChunk};
  const auto resident = [](auto dim) {
    static const int n = resident_blocks(attention_kernel<decltype(dim)::value, true>, kThreads);
    return n;
  };
  const int keys = max(a.max_keys, 1);
  const int64_t chunks = fill_chunks(int64_t(token_blocks) * head_blocks,
                                     a.head_dim <= 64    ? resident(std::integral_constant<int, 64>())
                                     : a.head_dim <= 128 ? resident(std::integral_constant<int, 128>())
                                                         : resident(std::integral_constant<int, kMaxHeadDim>()),
                                     blocks_for(keys, kBalancedMinChunk));
  const int chunk = blocks_for(keys, int(chunks));
  return {grid(blocks_for(keys, chunk)), chunk};
}

}  // namespace

int attention_chunks(const AttentionArgs& a) { return chunk_slots(a); }

bool attention_tiles_available() { return mma_available(); }

bool attention_tiles_fit(const AttentionArgs& a) {
  return a.head_dim <= kTileMaxDim && a.kv_heads > 0 && a.q_heads / a.kv_heads <= kTileRows;
}

size_t attention_workspace_floats(const AttentionArgs& a) {
  const auto partial = [&](int chunks) {
    return size_t(a.tokens) * size_t(a.q_heads) * size_t(chunks) * size_t(a.head_dim + 2);
  };
  size_t floats = partial(attention_chunks(a));
  if (a.tokens > 0) floats = std::max(floats, partial(int(key_split(a, AttentionVariant::split_balanced).grid.z)));
  if (a.tokens > 0 && attention_tiles_fit(a))  // (fixed chunks: attention_chunks(a) a row, as above)
    for (int chunks : {int(tiles_grid<MmaInputs::bf16, KeyChunks::balanced>(a).z),
                       int(tiles_grid<MmaInputs::f32, KeyChunks::balanced>(a).z)})
      floats = std::max(floats, partial(chunks));
  return floats;
}

// invariant: the f32 tiles with fixed chunks where they fit (at every size: the variant must not
// follow the pass), else split_keys. fast: the f32 tiles once the rows fill a warp's 16 (an AR step's
// G rows would use G / 16 of each of its six instructions per product: split_balanced reads the f32
// cache once per kv head too, over the whole device); the f32 kernels by size otherwise.
AttentionVariant pick_attention(const AttentionArgs& a, Reduction r) {
  const bool tiles = attention_tiles_available() && attention_tiles_fit(a);
  if (r == Reduction::invariant) return tiles ? AttentionVariant::tiles_invariant : AttentionVariant::split_keys;
  if (tiles && r == Reduction::fast_mma) return AttentionVariant::tiles;
  if (tiles && a.tokens * (a.q_heads / a.kv_heads) >= 16) return AttentionVariant::tiles_f32;
  return a.tokens * a.q_heads < 1024 ? AttentionVariant::split_balanced : AttentionVariant::single_pass;
}

namespace {

void merge(const AttentionArgs& a, int chunks, bool own) {
  DLLM_LAUNCH(dim3(unsigned(a.tokens), unsigned(a.q_heads)), kMergeThreads, attention_merge_kernel)
  (a, chunks, own, a.workspace);
  DLLM_GPU_LAUNCHED("attention merge");
}

// Whether every K/V row starts 16-byte aligned (the tiles kernel's VEC).
bool vector_kv(const AttentionArgs& a) {
  return a.head_dim % 4 == 0 && aligned16(a.k_pass) && aligned16(a.v_pass) && aligned16(a.k_cache) &&
         aligned16(a.v_cache);
}

// The tiles variants: inputs I (MmaInputs), key chunks K, head_dim rounded up to DIM (64 or 128).
// Partial states, each row's `slots` chunks apart, where a row can have more than one chunk
// (balanced: when split; fixed: with or without a split), then the merge launch. It is spread over
// the whole device: merging in each tile's last block would leave one block reading a tile's states
// (64 rows x 7 chunks of 130 floats for a 68-token pass split 7 ways) with its loads waiting on L2
// one group after another, longer than the launch.
template <MmaInputs I, KeyChunks K>
void launch_tiles(const AttentionArgs& a) {
  DLLM_CHECK(attention_tiles_available(), "the tiles attention variants need matrix units: ", kMmaNeeds);
  DLLM_CHECK(attention_tiles_fit(a), "the tiles attention variants take head_dim up to ", kTileMaxDim, " and up to ",
             kTileRows, " query heads per kv head; this call has head_dim ", a.head_dim, " and ", a.q_heads, "/",
             a.kv_heads, " heads");
  const dim3 grid = tiles_grid<I, K>(a);
  const int slots = K == KeyChunks::fixed ? attention_chunks(a) : int(grid.z);
  const auto launch = [&](auto dim) {
    constexpr int DIM = decltype(dim)::value;
    const bool partial = slots > 1, vec = vector_kv(a);
    DLLM_ASSERT(!partial || a.workspace != nullptr);  // attention_workspace_floats(a) floats
    if (partial && vec)
      DLLM_LAUNCH(grid, kTileWarps * kWarp, attention_tiles_kernel<I, DIM, true, true, K>)(a);
    else if (partial)
      DLLM_LAUNCH(grid, kTileWarps * kWarp, attention_tiles_kernel<I, DIM, true, false, K>)(a);
    else if (vec)
      DLLM_LAUNCH(grid, kTileWarps * kWarp, attention_tiles_kernel<I, DIM, false, true, K>)(a);
    else
      DLLM_LAUNCH(grid, kTileWarps * kWarp, attention_tiles_kernel<I, DIM, false, false, K>)(a);
    DLLM_GPU_LAUNCHED("attention (tiles)");
  };
  if (a.head_dim <= 64)
    launch(std::integral_constant<int, 64>());
  else
    launch(std::integral_constant<int, 128>());
  if (slots > 1) merge(a, slots, K == KeyChunks::fixed);
}

}  // namespace

void attention(const AttentionArgs& a, AttentionVariant v) {
  DLLM_CHECK(a.head_dim <= kMaxHeadDim, "GPU attention takes head_dim up to ", kMaxHeadDim, ", the model has ",
             a.head_dim, ": run it with --backend cpu");
  DLLM_ASSERT(a.kv_heads > 0 && a.q_heads % a.kv_heads == 0 && a.max_keys >= 0);
  if (a.tokens == 0) return;
  if (v == AttentionVariant::tiles) return launch_tiles<MmaInputs::bf16, KeyChunks::balanced>(a);
  if (v == AttentionVariant::tiles_f32) return launch_tiles<MmaInputs::f32, KeyChunks::balanced>(a);
  if (v == AttentionVariant::tiles_invariant) return launch_tiles<MmaInputs::f32, KeyChunks::fixed>(a);
  const KeySplit split = key_split(a, v);
  const int chunks = int(split.grid.z);
  DLLM_ASSERT(chunks == 1 || a.workspace != nullptr);  // attention_workspace_floats(a) floats
  const auto launch = [&](auto dim) {
    constexpr int DIM = decltype(dim)::value;
    if (chunks == 1)
      DLLM_LAUNCH(split.grid, kThreads, attention_kernel<DIM, false>)(a, INT_MAX, nullptr);
    else
      DLLM_LAUNCH(split.grid, kThreads, attention_kernel<DIM, true>)(a, split.chunk, a.workspace);
    DLLM_GPU_LAUNCHED("attention");
  };
  if (a.head_dim <= 64)
    launch(std::integral_constant<int, 64>());
  else if (a.head_dim <= 128)
    launch(std::integral_constant<int, 128>());
  else
    launch(std::integral_constant<int, kMaxHeadDim>());
  if (chunks > 1) merge(a, chunks, false);
}

}  // namespace dllm::gpu
