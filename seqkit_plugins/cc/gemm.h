// seqkit native kernels: a GEMM, C = alpha * op(A) @ op(B) + beta * C on row-major float32
// matrices with leading dimensions (the per-step product where packed_weight.h has no vector
// kernel for the CPU), and a helper that runs shards of a batch on TensorFlow's intra-op thread
// pool.
//
// Built with -DSEQKIT_OPENBLAS the GEMM is OpenBLAS's sgemm from the `scipy-openblas32` wheel
// (symbols prefixed scipy_), where that wheel is installed (it measured faster than Eigen's);
// otherwise Eigen's (TensorFlow's headers carry Eigen): seqkit/native/build.py.
#pragma once

#include <atomic>
#include <cstdlib>
#include <functional>
#include <memory>

#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/platform/blocking_counter.h"
#include "tensorflow/core/platform/threadpool.h"
#include "unsupported/Eigen/CXX11/Tensor"

#ifdef SEQKIT_OPENBLAS
#include <cblas.h>
#endif

namespace seqkit {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstMatrixMap = Eigen::Map<const RowMatrix, 0, Eigen::OuterStride<>>;
using MatrixMap = Eigen::Map<RowMatrix, 0, Eigen::OuterStride<>>;
using ArrayMap = Eigen::Map<Eigen::ArrayXf>;
using ConstArrayMap = Eigen::Map<const Eigen::ArrayXf>;

// A batch-major sequence [B, T, width] (the model's layout; no transposes around the ops):
// row (t, b) is b * T + t, so the rows of one step are T rows apart.
struct Sizes {
  int steps, batch, hidden;
  long long Row(int t, int b) const { return static_cast<long long>(b) * steps + t; }
};

// Asks the cache for `rows` rows of `width` floats, `stride` floats apart, at p (`write`: rows
// about to be written). A step's rows are T rows apart in the [B, T, ...] layout, each in pages
// of its own (a page a row at 4H = 1024), where the hardware's prefetcher stops. The backward
// ops ask for the next step's rows before a step's product, which runs long enough to hide the
// misses: at config A's LSTM a shard's elementwise work fell from 1.44 to 0.88 ms a call and the
// shard from 6.23 to 5.88 ms (the product 0.2 ms slower). Asked for the same way, the LSTM
// forward op's outputs gained nothing (the copy 0.1 ms faster, the product 0.2-0.4 slower), nor
// did the GRU's and the vanilla RNN's backward rows (their training steps 1.007 and 0.998, 0.957
// and 0.996 of the steps without, AMD Zen 4): only the LSTM's backward op asks.
inline void PrefetchRows(const float* p, long long stride, int rows, int width, bool write) {
  for (int r = 0; r < rows; ++r) {
    const char* row = reinterpret_cast<const char*>(p + r * stride);
    for (long long b = 0; b < static_cast<long long>(width) * 4; b += 64) {
      if (write) {
        __builtin_prefetch(row + b, 1, 2);
      } else {
        __builtin_prefetch(row + b, 0, 2);
      }
    }
  }
}

// C [m, n] = alpha * op(A) @ op(B) + beta * C; op(A) is [m, k], op(B) [k, n]; row-major.
inline void Gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a,
                 int lda, const float* b, int ldb, float beta, float* c, int ldc) {
  if (m == 0 || n == 0) return;
#ifdef SEQKIT_OPENBLAS
  scipy_cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                    trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta,
                    c, ldc);
#else
  MatrixMap cm(c, m, n, Eigen::OuterStride<>(ldc));
  if (beta == 0.0f) {
    cm.setZero();
  } else if (beta != 1.0f) {
    cm *= beta;
  }
  if (k == 0) return;
  ConstMatrixMap am(a, trans_a ? k : m, trans_a ? m : k, Eigen::OuterStride<>(lda));
  ConstMatrixMap bm(b, trans_b ? n : k, trans_b ? k : n, Eigen::OuterStride<>(ldb));
  if (trans_a && trans_b) {
    cm.noalias() += alpha * am.transpose() * bm.transpose();
  } else if (trans_a) {
    cm.noalias() += alpha * am.transpose() * bm;
  } else if (trans_b) {
    cm.noalias() += alpha * am * bm.transpose();
  } else {
    cm.noalias() += alpha * am * bm;
  }
#endif
}

// How many shards to split a batch of `batch` rows into: one per intra-op thread (or
// $SEQKIT_NATIVE_SHARDS, to measure), at most one per 4 rows (a GEMM over fewer rows wastes its
// vector registers).
inline int ShardCount(tensorflow::OpKernelContext* ctx, int batch) {
  static const int forced = [] {
    const char* value = std::getenv("SEQKIT_NATIVE_SHARDS");
    return value == nullptr ? 0 : std::atoi(value);
  }();
  const int threads =
      forced > 0 ? forced : ctx->device()->tensorflow_cpu_worker_threads()->num_threads;
  const int by_rows = batch / 4 > 0 ? batch / 4 : 1;
  return threads < by_rows ? (threads > 0 ? threads : 1) : by_rows;
}

// Rows [begin, end) of shard s of n over `total` rows.
inline void ShardRange(int s, int n, int total, int* begin, int* end) {
  *begin = static_cast<int>(static_cast<long long>(total) * s / n);
  *end = static_cast<int>(static_cast<long long>(total) * (s + 1) / n);
}

// The shards of one op call, claimed one at a time by whichever thread is free: the calling
// thread and the helpers RunShards schedules. A helper that starts after every shard is
// claimed finds nothing to do; `fn` is called only for a claimed shard, before RunShards
// returns, and the claims outlive the call (the helpers hold them).
struct ShardClaims {
  explicit ShardClaims(int n, const std::function<void(int)>* f)
      : shards(n), fn(f), done(n) {}

  void Work() {
    for (int s = next.fetch_add(1); s < shards; s = next.fetch_add(1)) {
      (*fn)(s);
      done.DecrementCount();
    }
  }

  const int shards;
  const std::function<void(int)>* fn;
  std::atomic<int> next{0};
  tensorflow::BlockingCounter done;
};

// Runs fn(0) .. fn(shards - 1) at once and waits for all. The shards share nothing they
// write, so no shard waits for another. Helpers go to both of TensorFlow's thread pools: the
// inter-op pool that runs the step's ops (ctx->runner(); one of its threads is usually free and
// spinning, and takes a shard at once) and the intra-op pool (where the inter-op pool is busy).
// On the intra-op pool alone the second shard started 0.7-2.8 ms late in about a third of the
// calls of config A's LSTM step (a thread of the other pool held the core: the shards ran one
// after the other on one core); the step took 17.6-20.2 ms (median of 5 runs 19.9) against
// 17.6-18.7 (17.9) now (AMD Zen 5, 5 alternated runs of 40 steps of the step of
// benchmarks/native_profile.py). Whoever comes first claims a shard; the calling thread works
// too, so nothing waits on a helper that never starts (one inter-op thread: the op's own).
inline void RunShards(tensorflow::OpKernelContext* ctx, int shards,
                      const std::function<void(int)>& fn) {
  if (shards <= 1) {
    fn(0);
    return;
  }
  auto claims = std::make_shared<ShardClaims>(shards, &fn);
  auto* intra_op = ctx->device()->tensorflow_cpu_worker_threads()->workers;
  for (int h = 1; h < shards; ++h) {
    if (ctx->runner() != nullptr) (*ctx->runner())([claims] { claims->Work(); });
    intra_op->Schedule([claims] { claims->Work(); });
  }
  claims->Work();
  claims->done.Wait();
}

// Sets the GEMM library to one thread: the kernels split the batch themselves.
inline void UseOneGemmThread() {
#ifdef SEQKIT_OPENBLAS
  static const bool once = [] {
    scipy_openblas_set_num_threads(1);
    return true;
  }();
  (void)once;
#endif
}

}  // namespace seqkit
