// seqkit native kernels: the recurrent weight, packed once per op call for the product every
// step makes with it (forward h_{t-1} @ W^T, backward dz_t @ W), and that product.
//
// A per-step product is small (the rows of one batch shard, M 4-32) against a large weight
// (N x K up to 4H x H). A library GEMM repacks the weight at every call, and at these shapes
// it spends more time packing than multiplying: OpenBLAS 0.3.34's sgemm ran M 16, N 1024,
// K 256 at 113 GFLOP/s a core (SkylakeX kernels; 79 with its Haswell ones), this kernel on
// the weight packed once at 215-250 (AVX-512, AMD Zen 5) and 123 (AVX2 and FMA, the same CPU),
// so the step's product runs at 1.6-2.7x. It is written with GCC's vector extensions, so that
// the library's `-march=native` build (one per CPU kind) compiles it for the CPU's own
// vectors: AVX-512 registers hold 8 rows x 48 columns of C, AVX2's 6 x 16. Without AVX2 and
// FMA the product falls back to Gemm (gemm.h), unpacked.
//
//   PackedWeight w;
//   OP_REQUIRES_OK(ctx, PackedWeight::Transposed(ctx, weight, G, H, false, &w));  // B = W^T
//   w.MultiplyAdd(rows, h_prev, H, z, G);  // z [rows, G] += h @ W^T, W [G, H]
//
// Asked for bfloat16 products (the ops' `products` attribute under mixed_bfloat16), it packs the
// weight for bf16_products.h's kernel where the build has it, else runs these float32 ones.
#pragma once

#include <algorithm>
#include <cstring>
#include <string>

#include "bf16_products.h"
#include "gemm.h"

#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
#define SEQKIT_PACKED_WEIGHT 1
#endif

namespace seqkit {

#if defined(__AVX512F__)
constexpr int kVectorBytes = 64, kPanelVectors = 3, kBlockRows = 8;
#else
constexpr int kVectorBytes = 32, kPanelVectors = 2, kBlockRows = 6;
#endif

// What this build runs the per-step products on (the library's SeqkitKernelsInfo op says it).
inline const char* ProductKind() {
#if defined(SEQKIT_BF16_PRODUCTS)
  return "per-step products on the packed weight, AVX-512; in bfloat16 under mixed_bfloat16 "
         "(AVX512_BF16)";
#elif defined(__AVX512F__)
  return "per-step products on the packed weight, AVX-512";
#elif defined(SEQKIT_PACKED_WEIGHT)
  return "per-step products on the packed weight, AVX2";
#elif defined(SEQKIT_OPENBLAS)
  return "per-step products by OpenBLAS's sgemm (no AVX2)";
#else
  return "per-step products by Eigen's GEMM (no AVX2)";
#endif
}
typedef float Vector __attribute__((vector_size(kVectorBytes)));
constexpr int kLanes = kVectorBytes / static_cast<int>(sizeof(float));
constexpr int kPanel = kPanelVectors * kLanes;  // columns of B in one packed panel

// C [MR, cols] += A [MR, k] @ the first NV vectors of one packed panel of B [k, kPanel]
// (cols <= NV * kLanes of them kept): a panel's NV vectors are the ones that hold columns of B,
// so a last panel narrower than kPanel costs its own columns only.
template <int MR, int NV>
inline void MultiplyBlock(int k, const float* a, long long lda, const float* panel, float* c,
                          long long ldc, int cols) {
  Vector acc[MR][NV];
  _Pragma("GCC unroll 16") for (int i = 0; i < MR; ++i) {
    _Pragma("GCC unroll 4") for (int v = 0; v < NV; ++v) acc[i][v] = Vector{};
  }
  for (int kk = 0; kk < k; ++kk) {
    Vector b[NV];
    _Pragma("GCC unroll 4") for (int v = 0; v < NV; ++v) {
      std::memcpy(&b[v], panel + kk * kPanel + v * kLanes, kVectorBytes);
    }
    _Pragma("GCC unroll 16") for (int i = 0; i < MR; ++i) {
      const float x = a[i * lda + kk];
      _Pragma("GCC unroll 4") for (int v = 0; v < NV; ++v) acc[i][v] += x * b[v];
    }
  }
  _Pragma("GCC unroll 16") for (int i = 0; i < MR; ++i) {
    float row[kPanel];
    _Pragma("GCC unroll 4") for (int v = 0; v < NV; ++v) {
      const Vector sum = acc[i][v];
      std::memcpy(row + v * kLanes, &sum, kVectorBytes);
    }
    float* out = c + i * ldc;
    for (int j = 0; j < cols; ++j) out[j] += row[j];
  }
}

// C [m, cols] += A [m, k] @ one panel, its NV vectors, in blocks of kBlockRows rows.
template <int NV>
inline void MultiplyPanel(int m, int k, const float* a, long long lda, const float* panel,
                          float* c, long long ldc, int cols) {
  int i = 0;
  for (; i + kBlockRows <= m; i += kBlockRows) {
    MultiplyBlock<kBlockRows, NV>(k, a + i * lda, lda, panel, c + i * ldc, ldc, cols);
  }
  for (; i + 2 <= m; i += 2) {
    MultiplyBlock<2, NV>(k, a + i * lda, lda, panel, c + i * ldc, ldc, cols);
  }
  if (i < m) MultiplyBlock<1, NV>(k, a + i * lda, lda, panel, c + i * ldc, ldc, cols);
}

// The ops' attribute `products`: "bfloat16" (under mixed_bfloat16) asks for the per-step products
// on bfloat16 operands, which run where the build has them and in float32 elsewhere.
inline bool Bf16Products(tensorflow::OpKernelConstruction* ctx) {
  std::string products = "float32";
  const auto status = ctx->GetAttr("products", &products);
  if (!status.ok()) ctx->CtxFailure(status);
  return products == "bfloat16";
}

class PackedWeight {
 public:
  // B = W^T for W [rows, cols] row-major (B is [cols, rows]): the forward product h @ W^T.
  // bf16: the products on bfloat16 operands, where the build has them. The packed copy is a
  // temporary of the op's (TensorFlow's allocator: no fresh pages to fault in at each call).
  static absl::Status Transposed(tensorflow::OpKernelContext* ctx, const float* w, int rows,
                                 int cols, bool bf16, PackedWeight* out) {
    *out = PackedWeight(w, cols, rows, true);
    return out->Pack(ctx, bf16);
  }
  // B = W [rows, cols]: the backward product dz @ W.
  static absl::Status Plain(tensorflow::OpKernelContext* ctx, const float* w, int rows, int cols,
                            bool bf16, PackedWeight* out) {
    *out = PackedWeight(w, rows, cols, false);
    return out->Pack(ctx, bf16);
  }

  PackedWeight() = default;

  // C [m, n] += A [m, k] @ B, row-major with leading dimensions lda and ldc.
  void MultiplyAdd(int m, const float* a, long long lda, float* c, long long ldc) const {
#ifdef SEQKIT_BF16_PRODUCTS
    if (!pairs_.empty()) return pairs_.MultiplyAdd(m, a, lda, c, ldc);
#endif
#ifdef SEQKIT_PACKED_WEIGHT
    for (int p = 0; p * kPanel < n_; ++p) {
      const float* panel = packed_ + static_cast<size_t>(p) * k_ * kPanel;
      const int cols = std::min(kPanel, n_ - p * kPanel);
      float* cp = c + p * kPanel;
      const int vectors = (cols + kLanes - 1) / kLanes;  // kPanelVectors but in a last panel
      if (vectors == 1) {
        MultiplyPanel<1>(m, k_, a, lda, panel, cp, ldc, cols);
      } else if (vectors == 2) {
        MultiplyPanel<2>(m, k_, a, lda, panel, cp, ldc, cols);
      } else {
        MultiplyPanel<kPanelVectors>(m, k_, a, lda, panel, cp, ldc, cols);
      }
    }
#else
    Gemm(false, transposed_, m, n_, k_, 1.0f, a, static_cast<int>(lda), w_,
         transposed_ ? k_ : n_, 1.0f, c, static_cast<int>(ldc));
#endif
  }

 private:
  PackedWeight(const float* w, int k, int n, bool transposed)
      : w_(w), k_(k), n_(n), transposed_(transposed) {}

  // Packs B into a temporary of the op's: in bfloat16 pairs where asked for and built, else in
  // float32 panels where the build has the vector kernel (else B stays unpacked, for Gemm).
  absl::Status Pack(tensorflow::OpKernelContext* ctx, bool bf16) {
#ifdef SEQKIT_BF16_PRODUCTS
    if (bf16) {
      const auto size = static_cast<int64_t>(PairPackedWeight::Size(k_, n_));
      TF_RETURN_IF_ERROR(ctx->allocate_temp(tensorflow::DT_BFLOAT16, {size}, &storage_));
      auto* pairs = reinterpret_cast<Bf16*>(storage_.flat<Eigen::bfloat16>().data());
      pairs_ = PairPackedWeight(w_, k_, n_, transposed_, pairs);
      return absl::OkStatus();
    }
#endif
    (void)bf16;
#ifdef SEQKIT_PACKED_WEIGHT
    const int64_t panels = (n_ + kPanel - 1) / kPanel;
    TF_RETURN_IF_ERROR(
        ctx->allocate_temp(tensorflow::DT_FLOAT, {panels * k_ * kPanel}, &storage_));
    float* packed = storage_.flat<float>().data();
    if (transposed_) {
      PackTransposed(packed);
    } else {
      PackPlain(packed);
    }
    packed_ = packed;
#else
    (void)ctx;
#endif
    return absl::OkStatus();
  }

  // Panel p, row kk: W [kk, p * kPanel ..] copied, zeros past column n.
  void PackPlain(float* packed) const {
    for (int p = 0; p * kPanel < n_; ++p) {
      const int cols = std::min(kPanel, n_ - p * kPanel);
      for (int kk = 0; kk < k_; ++kk) {
        float* out = packed + (static_cast<size_t>(p) * k_ + kk) * kPanel;
        std::memcpy(out, w_ + static_cast<size_t>(kk) * n_ + p * kPanel, sizeof(float) * cols);
        std::fill(out + cols, out + kPanel, 0.0f);
      }
    }
  }

  // Panel p, column j: row p * kPanel + j of W, read in order; zeros past column n.
  void PackTransposed(float* packed) const {
    for (int p = 0; p * kPanel < n_; ++p) {
      float* panel = packed + static_cast<size_t>(p) * k_ * kPanel;
      for (int j = 0; j < kPanel; ++j) {
        const int row = p * kPanel + j;
        if (row >= n_) {
          for (int kk = 0; kk < k_; ++kk) panel[kk * kPanel + j] = 0.0f;
          continue;
        }
        const float* from = w_ + static_cast<size_t>(row) * k_;
        for (int kk = 0; kk < k_; ++kk) panel[kk * kPanel + j] = from[kk];
      }
    }
  }

  const float* w_ = nullptr;
  int k_ = 0, n_ = 0;  // B is [k, n]
  bool transposed_ = false;
  tensorflow::Tensor storage_;    // the packed copy (a temporary of the op's)
  const float* packed_ = nullptr;  // float32 panels of kPanel columns, each [k, kPanel]
#ifdef SEQKIT_BF16_PRODUCTS
  PairPackedWeight pairs_;  // in bfloat16, where asked for: then packed_ is null
#endif
};

}  // namespace seqkit
