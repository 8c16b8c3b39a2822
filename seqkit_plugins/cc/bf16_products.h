// seqkit native kernels: the per-step products on bfloat16 operands with float32 sums, which the
// kernels run under mixed_bfloat16 where the CPU has the bfloat16 dot instruction (AVX512_BF16's
// vdpbf16ps, on AMD Zen 4 and later and on Intel's Cooper Lake and AMX CPUs: 32 products a
// vector, twice float32's FMA).
//
// The weight B [k, n] is packed once per op call in panels of kPairPanel columns, each [k / 2,
// kPairPanel, 2]: a 32-bit lane holds column j of two consecutive rows, (B[2q, j], B[2q + 1, j]).
// The rows of A are rounded to bfloat16 (to nearest even) once per product; one instruction then
// multiplies a pair of A's columns, broadcast, with a pair of B's rows. A product of two
// bfloat16 is exact in float32, so C gets A and B rounded to bfloat16, multiplied and summed in
// float32 (mixed_bfloat16's bfloat16 matmuls round their result to bfloat16 besides).
//
// Built where the compiler targets AVX512_BF16 with AVX512BW and VL (the masked 16-bit stores;
// every CPU with AVX512_BF16 has them), as the library's -march=native build does on such a CPU:
// SEQKIT_BF16_PRODUCTS. Elsewhere the kernels run float32 products (packed_weight.h).
//
//   std::vector<Bf16> storage(PairPackedWeight::Size(k, n));
//   PairPackedWeight w(b, k, n, false, storage.data());  // B = b [k, n]
//   w.MultiplyAdd(m, a, lda, c, ldc);  // C [m, n] += bf16(A [m, k]) @ bf16(B)
#pragma once

#if defined(__AVX512BF16__) && defined(__AVX512BW__) && defined(__AVX512VL__)
#define SEQKIT_BF16_PRODUCTS 1

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

namespace seqkit {

typedef uint16_t Bf16;
constexpr int kPairVectors = 3, kPairLanes = 16, kPairBlockRows = 8;
constexpr int kPairPanel = kPairVectors * kPairLanes;  // columns of B in one packed panel

// A [m, k] (leading dimension lda) -> out [m, kp] in bfloat16, kp = k rounded up to even (the
// odd k's last column zero), by the CPU's conversion (to nearest even).
inline void RoundRows(int m, int k, const float* a, long long lda, Bf16* out, int kp) {
  for (int i = 0; i < m; ++i) {
    const float* from = a + i * lda;
    Bf16* to = out + static_cast<long long>(i) * kp;
    for (int kk = 0; kk < k; kk += kPairLanes) {
      const __mmask16 lanes = k - kk >= kPairLanes ? 0xffff : (1u << (k - kk)) - 1u;
      const __m256bh rounded = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(lanes, from + kk));
      _mm256_mask_storeu_epi16(to + kk, lanes, reinterpret_cast<const __m256i&>(rounded));
    }
    if (kp > k) to[k] = 0;
  }
}

// C [MR, cols] += A [MR, kp] (bfloat16) @ the first NV vectors of one packed panel.
template <int MR, int NV>
inline void MultiplyPairBlock(int kp, const Bf16* a, int lda, const Bf16* panel, float* c,
                              long long ldc, int cols) {
  __m512 acc[MR][NV];
  _Pragma("GCC unroll 8") for (int i = 0; i < MR; ++i) {
    _Pragma("GCC unroll 3") for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_setzero_ps();
  }
  for (int q = 0; q < kp / 2; ++q) {
    __m512i b[NV];
    _Pragma("GCC unroll 3") for (int v = 0; v < NV; ++v) {
      b[v] = _mm512_loadu_si512(panel + (static_cast<long long>(q) * kPairPanel + v * 16) * 2);
    }
    _Pragma("GCC unroll 8") for (int i = 0; i < MR; ++i) {
      int32_t pair;
      std::memcpy(&pair, a + i * lda + 2 * q, sizeof pair);
      const __m512i x = _mm512_set1_epi32(pair);
      _Pragma("GCC unroll 3") for (int v = 0; v < NV; ++v) {
        acc[i][v] = _mm512_dpbf16_ps(acc[i][v], reinterpret_cast<const __m512bh&>(x),
                                     reinterpret_cast<const __m512bh&>(b[v]));
      }
    }
  }
  _Pragma("GCC unroll 8") for (int i = 0; i < MR; ++i) {
    _Pragma("GCC unroll 3") for (int v = 0; v < NV; ++v) {
      const int left = cols - v * kPairLanes;
      const __mmask16 lanes = left >= kPairLanes ? 0xffff : (1u << left) - 1u;
      float* out = c + i * ldc + v * kPairLanes;
      const __m512 sum = _mm512_add_ps(_mm512_maskz_loadu_ps(lanes, out), acc[i][v]);
      _mm512_mask_storeu_ps(out, lanes, sum);
    }
  }
}

// C [m, cols] += A [m, kp] @ one panel, its NV vectors, in blocks of kPairBlockRows rows.
template <int NV>
inline void MultiplyPairPanel(int m, int kp, const Bf16* a, const Bf16* panel, float* c,
                              long long ldc, int cols) {
  int i = 0;
  for (; i + kPairBlockRows <= m; i += kPairBlockRows) {
    MultiplyPairBlock<kPairBlockRows, NV>(kp, a + i * kp, kp, panel, c + i * ldc, ldc, cols);
  }
  for (; i + 2 <= m; i += 2) {
    MultiplyPairBlock<2, NV>(kp, a + i * kp, kp, panel, c + i * ldc, ldc, cols);
  }
  if (i < m) MultiplyPairBlock<1, NV>(kp, a + i * kp, kp, panel, c + i * ldc, ldc, cols);
}

class PairPackedWeight {
 public:
  PairPackedWeight() = default;

  // The bfloat16 elements a packed B [k, n] takes.
  static size_t Size(int k, int n) {
    const size_t panels = (n + kPairPanel - 1) / kPairPanel;
    return panels * (k + (k & 1)) * kPairPanel;
  }

  // B [k, n], W [n, k] transposed (`transposed`) or W [k, n] itself, rounded to bfloat16 (the
  // CPU's conversion, as the rows of A are), packed into `storage` (Size(k, n) elements, which
  // must outlive this).
  PairPackedWeight(const float* w, int k, int n, bool transposed, Bf16* storage)
      : k_(k), kp_(k + (k & 1)), n_(n), packed_(storage) {
    std::memset(storage, 0, sizeof(Bf16) * Size(k, n));  // zero past k and n
    if (transposed) {
      PackTransposed(w, storage);
    } else {
      PackPlain(w, storage);
    }
  }

  bool empty() const { return packed_ == nullptr; }

  // C [m, n] += bf16(A [m, k]) @ bf16(B), row-major with leading dimensions lda and ldc.
  void MultiplyAdd(int m, const float* a, long long lda, float* c, long long ldc) const {
    thread_local std::vector<Bf16> rounded;  // this thread's rows of A in bfloat16
    rounded.resize(static_cast<size_t>(m) * kp_);
    RoundRows(m, k_, a, lda, rounded.data(), kp_);
    for (int p = 0; p * kPairPanel < n_; ++p) {
      const Bf16* panel = packed_ + static_cast<size_t>(p) * kp_ * kPairPanel;
      const int cols = n_ - p * kPairPanel < kPairPanel ? n_ - p * kPairPanel : kPairPanel;
      const int vectors = (cols + kPairLanes - 1) / kPairLanes;
      float* cp = c + p * kPairPanel;
      if (vectors == 1) {
        MultiplyPairPanel<1>(m, kp_, rounded.data(), panel, cp, ldc, cols);
      } else if (vectors == 2) {
        MultiplyPairPanel<2>(m, kp_, rounded.data(), panel, cp, ldc, cols);
      } else {
        MultiplyPairPanel<kPairVectors>(m, kp_, rounded.data(), panel, cp, ldc, cols);
      }
    }
  }

 private:
  // B = W [k, n]: W's rows 2q and 2q + 1, rounded, are pair q of every column, 16 columns a
  // store.
  void PackPlain(const float* w, Bf16* storage) const {
    const int vectors = (n_ + kPairLanes - 1) / kPairLanes;
    thread_local std::vector<Bf16> rows;  // W's rows 2q and 2q + 1, rounded, zeros past n
    rows.assign(2 * vectors * kPairLanes, 0);
    Bf16* second = rows.data() + vectors * kPairLanes;
    for (int q = 0; q < kp_ / 2; ++q) {
      const int count = 2 * q + 1 < k_ ? 2 : 1;  // an odd k's last pair has one row
      if (count == 1) std::fill(second, second + vectors * kPairLanes, Bf16{0});
      RoundRows(count, n_, w + static_cast<size_t>(2 * q) * n_, n_, rows.data(),
                vectors * kPairLanes);
      for (int v = 0; v < vectors; ++v) {
        const __m512i low = _mm512_cvtepu16_epi32(
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(rows.data() + v * kPairLanes)));
        const __m512i high = _mm512_cvtepu16_epi32(
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(second + v * kPairLanes)));
        const size_t panel = static_cast<size_t>(v / kPairVectors) * kp_ * kPairPanel;
        Bf16* to = storage + panel + (q * kPairPanel + (v % kPairVectors) * kPairLanes) * 2;
        _mm512_storeu_si512(to, _mm512_or_si512(low, _mm512_slli_epi32(high, 16)));
      }
    }
  }

  // B = W^T, W [n, k]: W's row j, rounded, is column j of B, its pairs already side by side.
  void PackTransposed(const float* w, Bf16* storage) const {
    thread_local std::vector<Bf16> row;  // W's row j, rounded (a zero past an odd k)
    row.resize(kp_);
    for (int j = 0; j < n_; ++j) {
      RoundRows(1, k_, w + static_cast<size_t>(j) * k_, k_, row.data(), kp_);
      Bf16* to = storage + static_cast<size_t>(j / kPairPanel) * kp_ * kPairPanel +
                 (j % kPairPanel) * 2;
      for (int q = 0; q < kp_ / 2; ++q) {
        std::memcpy(to + static_cast<size_t>(q) * kPairPanel * 2, row.data() + 2 * q, 4);
      }
    }
  }

  int k_ = 0, kp_ = 0, n_ = 0;    // B is [k, n]; kp = k rounded up to even
  const Bf16* packed_ = nullptr;  // panels of kPairPanel columns, each [kp / 2, kPairPanel, 2]
};

}  // namespace seqkit

#endif  // __AVX512BF16__ && __AVX512BW__ && __AVX512VL__
