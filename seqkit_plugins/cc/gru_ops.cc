// seqkit native kernels: the GRU (reset after the matmul, as torch.nn.GRU) over a whole
// sequence, forward and backward, float32.
//
//   hh_t = h_{t-1} @ W^T + b_hh                      [B, 3H], blocks r, z, n
//   r = sigmoid(x_r + hh_r), z = sigmoid(x_z + hh_z), n = tanh(x_n + r * hh_n)
//   h_t = n + z * (h_{t-1} - n); where keep[b, t] is 0, h_t = h_{t-1}
//
// Every sequence tensor is batch-major, [B, T, ...] (gemm.h's Sizes). xp holds W_ih x_t + b_ih, or
// is a projected table read at ids [B, T] (input_rows.h). The batch is split into shards that run
// the whole sequence on their own. The backward loop carries only dh; it returns dHH, and
// dW = dHH^T @ H_prev is one GEMM after it, on TensorFlow's matmul (native_kernels.py).
#include "gemm.h"
#include "input_rows.h"
#include "packed_weight.h"
#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/shape_inference.h"

namespace seqkit {
namespace {

using tensorflow::OpKernel;
using tensorflow::OpKernelConstruction;
using tensorflow::OpKernelContext;
using tensorflow::Tensor;
using tensorflow::TensorShape;

inline Eigen::ArrayXf Sigmoid(const Eigen::ArrayXf& x) { return (x * 0.5f).tanh() * 0.5f + 0.5f; }

// Rows [b0, b1) through every step: saved [B, T, 4H] = r, z, n, hh_n; hs [B, T, H].
void ForwardShard(const Sizes& n, int b0, int b1, const InputRows& xp, const float* h0,
                  const PackedWeight& w, const float* bias, const float* keep, float* saved,
                  float* hs) {
  const int H = n.hidden, G = 3 * n.hidden, rows = b1 - b0;
  const long long T = n.steps;  // rows between one batch entry and the next
  Eigen::ArrayXf hh(rows * G);
  for (int t = 0; t < n.steps; ++t) {
    const long long at = n.Row(t, b0);
    const long long prev_ld = t == 0 ? H : T * H;  // h0 [B, H] or hs [B, T, H]
    const float* h_prev = t == 0 ? h0 + b0 * H : hs + (at - 1) * H;
    for (int r = 0; r < rows; ++r) std::copy(bias, bias + G, hh.data() + r * G);
    w.MultiplyAdd(rows, h_prev, prev_ld, hh.data(), G);
    for (int r = 0; r < rows; ++r) {
      const long long row = at + r * T;
      const float* x = xp.Row(row);
      const float* hr = hh.data() + r * G;
      float* sr = saved + row * 4 * H;
      ArrayMap reset(sr, H), update(sr + H, H), cand(sr + 2 * H, H), hh_n(sr + 3 * H, H);
      ConstArrayMap hp(h_prev + r * prev_ld, H);
      ArrayMap h(hs + row * H, H);
      reset = Sigmoid(ConstArrayMap(x, H) + ConstArrayMap(hr, H));
      update = Sigmoid(ConstArrayMap(x + H, H) + ConstArrayMap(hr + H, H));
      hh_n = ConstArrayMap(hr + 2 * H, H);
      cand = (ConstArrayMap(x + 2 * H, H) + reset * hh_n).tanh();
      if (keep == nullptr || keep[row] != 0.0f) {
        h = cand + update * (hp - cand);
      } else {
        h = hp;
      }
    }
  }
}

class GruForwardOp : public OpKernel {
 public:
  explicit GruForwardOp(OpKernelConstruction* ctx) : OpKernel(ctx), bf16_(Bf16Products(ctx)) {}

  void Compute(OpKernelContext* ctx) override {
    const Tensor& w = ctx->input(3);
    InputRows xp;
    Sizes n;
    OP_REQUIRES_OK(ctx, ReadForwardInputs(ctx->input(0), ctx->input(1), w, 3,
                                          "GRU: xp [B, T, 3H] and W [3H, H]", &xp, &n));
    Tensor *hs, *saved;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, TensorShape({n.batch, n.steps, n.hidden}), &hs));
    OP_REQUIRES_OK(ctx,
                   ctx->allocate_output(1, TensorShape({n.batch, n.steps, 4 * n.hidden}), &saved));
    const Tensor& keep = ctx->input(5);
    const float* keep_ptr = keep.NumElements() == 0 ? nullptr : keep.flat<float>().data();
    UseOneGemmThread();
    const int shards = ShardCount(ctx, n.batch);
    PackedWeight packed;
    OP_REQUIRES_OK(ctx, PackedWeight::Transposed(ctx, w.flat<float>().data(), 3 * n.hidden,
                                                 n.hidden, bf16_, &packed));
    RunShards(ctx, shards, [&](int s) {
      int b0, b1;
      ShardRange(s, shards, n.batch, &b0, &b1);
      ForwardShard(n, b0, b1, xp, ctx->input(2).flat<float>().data(), packed,
                   ctx->input(4).flat<float>().data(), keep_ptr, saved->flat<float>().data(),
                   hs->flat<float>().data());
    });
  }

 private:
  bool bf16_;  // per-step products in bfloat16 (the `products` attribute)
};

// Rows [b0, b1) backwards: dxp and dhh [B, T, 3H]; dh carried in dh (dh_last on entry).
void BackwardShard(const Sizes& n, int s, int b0, int b1, RowSums& sums, const float* dhs,
                   const float* saved,
                   const float* hs, const float* h0, const PackedWeight& w, const float* keep,
                   float* dxp, float* dhh_all, float* dh) {
  const int H = n.hidden, G = 3 * n.hidden, rows = b1 - b0;
  const long long T = n.steps;
  Eigen::ArrayXf dh_next(rows * H);
  for (int t = n.steps - 1; t >= 0; --t) {
    const long long at = n.Row(t, b0);
    const long long prev_ld = t == 0 ? H : T * H;
    const float* h_prev = t == 0 ? h0 + b0 * H : hs + (at - 1) * H;
    for (int r = 0; r < rows; ++r) {
      const long long row = at + r * T;
      ArrayMap dh_r(dh + (b0 + r) * H, H), next(dh_next.data() + r * H, H);
      ArrayMap dx(dxp + row * G, G), dhh_r(dhh_all + row * G, G);
      dh_r += ConstArrayMap(dhs + row * H, H);
      if (keep != nullptr && keep[row] == 0.0f) {
        dx.setZero();
        dhh_r.setZero();
        next = dh_r;  // the state passed through: so does its gradient
        continue;
      }
      const float* sr = saved + row * 4 * H;
      ConstArrayMap reset(sr, H), update(sr + H, H), cand(sr + 2 * H, H), hh_n(sr + 3 * H, H);
      const Eigen::ArrayXf d_n = dh_r * (1.0f - update) * (1.0f - cand * cand);
      dhh_r.segment(0, H) = d_n * hh_n * reset * (1.0f - reset);
      dhh_r.segment(H, H) = dh_r * (ConstArrayMap(h_prev + r * prev_ld, H) - cand) * update *
                            (1.0f - update);
      dhh_r.segment(2 * H, H) = d_n * reset;
      dx.segment(0, 2 * H) = dhh_r.segment(0, 2 * H);
      dx.segment(2 * H, H) = d_n;
      next = dh_r * update;
      sums.Add(s, row, dx.data());
    }
    w.MultiplyAdd(rows, dhh_all + at * G, T * G, dh_next.data(), H);
    std::copy(dh_next.data(), dh_next.data() + rows * H, dh + b0 * H);
  }
}

class GruBackwardOp : public OpKernel {
 public:
  explicit GruBackwardOp(OpKernelConstruction* ctx) : OpKernel(ctx), bf16_(Bf16Products(ctx)) {}

  void Compute(OpKernelContext* ctx) override {
    // inputs: dhs, dh_last, saved, hs, h0, weight, keep, ids, table_rows
    const Tensor& hs = ctx->input(3);
    const Tensor& w = ctx->input(5);
    const Sizes n{static_cast<int>(hs.dim_size(1)), static_cast<int>(hs.dim_size(0)),
                  static_cast<int>(w.dim_size(1))};
    const int G = 3 * n.hidden;
    Tensor *dxp, *dh0, *dhh, *db;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, TensorShape({n.batch, n.steps, G}), &dxp));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(1, ctx->input(1).shape(), &dh0));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(2, TensorShape({n.batch, n.steps, G}), &dhh));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(3, TensorShape({G}), &db));
    float* dh = dh0->flat<float>().data();
    std::copy_n(ctx->input(1).flat<float>().data(), n.batch * n.hidden, dh);
    const Tensor& keep = ctx->input(6);
    const float* keep_ptr = keep.NumElements() == 0 ? nullptr : keep.flat<float>().data();
    const float* h0 = ctx->input(4).flat<float>().data();
    float* dhh_ptr = dhh->flat<float>().data();
    UseOneGemmThread();
    const int shards = ShardCount(ctx, n.batch);
    RowSums sums;
    OP_REQUIRES_OK(ctx, sums.Start(ctx, 7, 4, static_cast<long long>(n.batch) * n.steps, G,
                                   shards));
    PackedWeight packed;
    OP_REQUIRES_OK(ctx,
                   PackedWeight::Plain(ctx, w.flat<float>().data(), G, n.hidden, bf16_, &packed));
    RunShards(ctx, shards, [&](int s) {
      int b0, b1;
      ShardRange(s, shards, n.batch, &b0, &b1);
      BackwardShard(n, s, b0, b1, sums, ctx->input(0).flat<float>().data(),
                    ctx->input(2).flat<float>().data(), hs.flat<float>().data(), h0, packed,
                    keep_ptr, dxp->flat<float>().data(), dhh_ptr, dh);
    });
    sums.Total();
    ConstMatrixMap all(dhh_ptr, static_cast<long long>(n.steps) * n.batch, G,
                       Eigen::OuterStride<>(G));
    Eigen::Map<Eigen::RowVectorXf>(db->flat<float>().data(), G) = all.colwise().sum();
  }

 private:
  bool bf16_;  // per-step products in bfloat16 (the `products` attribute)
};

using tensorflow::shape_inference::InferenceContext;
using tensorflow::shape_inference::ShapeHandle;

REGISTER_OP("SeqkitGruForward")
    .Attr("products: {'float32', 'bfloat16'} = 'float32'")  // bfloat16: mixed_bfloat16
    .Input("xp: float")      // [B, T, 3H], or a projected table [V, 3H] read at ids
    .Input("ids: int32")     // [B, T] rows of the table, or [0]: xp is dense
    .Input("h0: float")      // [B, H]
    .Input("weight: float")  // [3H, H]
    .Input("bias: float")    // [3H]
    .Input("keep: float")    // [B, T] of 1 and 0, or [0] for no mask
    .Output("hs: float")     // [B, T, H]
    .Output("saved: float")  // [B, T, 4H]: r, z, n, hh_n
    .SetShapeFn([](InferenceContext* c) {
      ShapeHandle h0;
      TF_RETURN_IF_ERROR(c->WithRank(c->input(2), 2, &h0));
      tensorflow::shape_inference::DimensionHandle batch, steps, four_h;
      BatchAndSteps(c, 1, &batch, &steps);
      TF_RETURN_IF_ERROR(c->Multiply(c->Dim(h0, 1), 4, &four_h));
      c->set_output(0, c->MakeShape({batch, steps, c->Dim(h0, 1)}));
      c->set_output(1, c->MakeShape({batch, steps, four_h}));
      return absl::OkStatus();
    });

REGISTER_OP("SeqkitGruBackward")
    .Attr("products: {'float32', 'bfloat16'} = 'float32'")  // bfloat16: mixed_bfloat16
    .Input("dhs: float")
    .Input("dh_last: float")
    .Input("saved: float")
    .Input("hs: float")
    .Input("h0: float")
    .Input("weight: float")
    .Input("keep: float")
    .Input("ids: int32")         // the forward op's ids: [B, T], or [0]
    .Input("table_rows: int32")  // V, where ids are given
    .Output("dxp: float")      // [B, T, 3H]
    .Output("dh0: float")      // [B, H]
    .Output("dhh: float")      // [B, T, 3H]: the gradient of h_{t-1} @ W^T + b_hh
    .Output("dbias: float")    // [3H]
    .Output("dtable: float")   // [V, 3H], the table's gradient where ids are given, else [0, 3H]
    .SetShapeFn([](InferenceContext* c) {
      ShapeHandle hs, w;
      TF_RETURN_IF_ERROR(c->WithRank(c->input(3), 3, &hs));
      TF_RETURN_IF_ERROR(c->WithRank(c->input(5), 2, &w));
      c->set_output(0, c->MakeShape({c->Dim(hs, 0), c->Dim(hs, 1), c->Dim(w, 0)}));
      c->set_output(1, c->input(4));
      c->set_output(2, c->MakeShape({c->Dim(hs, 0), c->Dim(hs, 1), c->Dim(w, 0)}));
      c->set_output(3, c->MakeShape({c->Dim(w, 0)}));
      c->set_output(4, c->MakeShape({c->UnknownDim(), c->Dim(w, 0)}));
      return absl::OkStatus();
    });

REGISTER_KERNEL_BUILDER(Name("SeqkitGruForward").Device(tensorflow::DEVICE_CPU), GruForwardOp);
REGISTER_KERNEL_BUILDER(
    Name("SeqkitGruBackward").Device(tensorflow::DEVICE_CPU).HostMemory("table_rows"),
    GruBackwardOp);

}  // namespace
}  // namespace seqkit
