// seqkit native kernels: the LSTM over a whole sequence, forward and backward, float32.
//
//   z_t = xp_t + h_{t-1} @ W^T                      [B, 4H], gates i, f, g, o (PyTorch order)
//   c_t = sigmoid(f) * c_{t-1} + sigmoid(i) * tanh(g),  h_t = sigmoid(o) * tanh(c_t)
//   where keep[b, t] is 0 the state passes through: h_t = h_{t-1}, c_t = c_{t-1}
//
// Every sequence tensor is batch-major, [B, T, ...] (gemm.h's Sizes). xp already holds W_ih x_t +
// b_ih + b_hh, or is a projected table read at ids [B, T] (input_rows.h). The batch is split
// into shards that run the whole sequence on their own (rows of a recurrence are independent):
// no barrier between steps. The backward pass carries only dh and dc.
// The weight gradient, dW = dZ^T @ H_prev [4H, T*B] @ [T*B, H], is one GEMM after it, on
// TensorFlow's matmul (native_kernels.py).
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

// Activates one row of z [4H] in place: sigmoid on i, f and o, tanh on g.
inline void ActivateGates(float* z, int hidden) {
  ArrayMap ifg(z, 2 * hidden);
  ifg = (ifg * 0.5f).tanh() * 0.5f + 0.5f;  // sigmoid(x) = tanh(x / 2) / 2 + 1 / 2
  ArrayMap g(z + 2 * hidden, hidden);
  g = g.tanh();
  ArrayMap o(z + 3 * hidden, hidden);
  o = (o * 0.5f).tanh() * 0.5f + 0.5f;
}

// Rows [b0, b1) through every step: gates [B, T, 4H], hs and cs [B, T, H].
void ForwardShard(const Sizes& n, int b0, int b1, const InputRows& xp, const float* h0,
                  const float* c0, const PackedWeight& w, const float* keep, float* gates,
                  float* hs, float* cs) {
  const int H = n.hidden, G = 4 * n.hidden, rows = b1 - b0;
  const long long T = n.steps;  // rows between one batch entry and the next
  for (int t = 0; t < n.steps; ++t) {
    const long long at = n.Row(t, b0);
    const long long prev_ld = t == 0 ? H : T * H;  // h0 [B, H] or hs [B, T, H]
    const float* h_prev = t == 0 ? h0 + b0 * H : hs + (at - 1) * H;
    const float* c_prev = t == 0 ? c0 + b0 * H : cs + (at - 1) * H;
    float* z = gates + at * G;
    for (int r = 0; r < rows; ++r) std::copy_n(xp.Row(at + r * T), G, z + r * T * G);
    w.MultiplyAdd(rows, h_prev, prev_ld, z, T * G);
    for (int r = 0; r < rows; ++r) {
      float* zr = z + r * T * G;
      ActivateGates(zr, H);
      ConstArrayMap i(zr, H), f(zr + H, H), g(zr + 2 * H, H), o(zr + 3 * H, H);
      ConstArrayMap hp(h_prev + r * prev_ld, H), cp(c_prev + r * prev_ld, H);
      ArrayMap c(cs + (at + r * T) * H, H), h(hs + (at + r * T) * H, H);
      if (keep == nullptr || keep[at + r * T] != 0.0f) {
        c = f * cp + i * g;
        h = o * c.tanh();
      } else {
        c = cp;
        h = hp;
      }
    }
  }
}

class LstmForwardOp : public OpKernel {
 public:
  explicit LstmForwardOp(OpKernelConstruction* ctx) : OpKernel(ctx), bf16_(Bf16Products(ctx)) {}

  void Compute(OpKernelContext* ctx) override {
    const Tensor& w = ctx->input(4);
    const Tensor& keep = ctx->input(5);
    InputRows xp;
    Sizes n;
    OP_REQUIRES_OK(ctx, ReadForwardInputs(ctx->input(0), ctx->input(1), w, 4,
                                          "LSTM: xp [B, T, 4H] and W [4H, H]", &xp, &n));
    Tensor *gates, *hs, *cs;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, TensorShape({n.batch, n.steps, n.hidden}), &hs));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(1, TensorShape({n.batch, n.steps, n.hidden}), &cs));
    OP_REQUIRES_OK(ctx,
                   ctx->allocate_output(2, TensorShape({n.batch, n.steps, xp.width}), &gates));
    const float* keep_ptr = keep.NumElements() == 0 ? nullptr : keep.flat<float>().data();
    UseOneGemmThread();
    const int shards = ShardCount(ctx, n.batch);
    PackedWeight packed;
    OP_REQUIRES_OK(ctx, PackedWeight::Transposed(ctx, w.flat<float>().data(), 4 * n.hidden,
                                                 n.hidden, bf16_, &packed));
    RunShards(ctx, shards, [&](int s) {
      int b0, b1;
      ShardRange(s, shards, n.batch, &b0, &b1);
      ForwardShard(n, b0, b1, xp, ctx->input(2).flat<float>().data(),
                   ctx->input(3).flat<float>().data(), packed, keep_ptr,
                   gates->flat<float>().data(), hs->flat<float>().data(),
                   cs->flat<float>().data());
    });
  }

 private:
  bool bf16_;  // per-step products in bfloat16 (the `products` attribute)
};

struct Saved {  // what the forward pass kept, and the weight
  const float *gates, *hs, *cs, *h0, *c0, *w, *keep;
};

// Rows [b0, b1) backwards through every step: dz [B, T, 4H]; dh and dc carried in dh0, dc0.
void BackwardShard(const Sizes& n, int s, int b0, int b1, const Saved& f, const PackedWeight& w,
                   RowSums& sums, const float* dhs, float* dz_all, float* dh, float* dc) {
  const int H = n.hidden, G = 4 * n.hidden, rows = b1 - b0;
  const long long T = n.steps;
  Eigen::ArrayXf dh_next(rows * H);
  for (int t = n.steps - 1; t >= 0; --t) {
    const long long at = n.Row(t, b0);
    const long long prev_ld = t == 0 ? H : T * H;
    const float* c_prev = t == 0 ? f.c0 + b0 * H : f.cs + (at - 1) * H;
    float* dz = dz_all + at * G;
    for (int r = 0; r < rows; ++r) {
      const long long row = at + r * T;
      ArrayMap dh_r(dh + (b0 + r) * H, H), dc_r(dc + (b0 + r) * H, H);
      ArrayMap dz_r(dz + r * T * G, G), next(dh_next.data() + r * H, H);
      dh_r += ConstArrayMap(dhs + row * H, H);
      if (f.keep != nullptr && f.keep[row] == 0.0f) {
        dz_r.setZero();
        next = dh_r;  // the state passed through: so does its gradient
        continue;
      }
      const float* zr = f.gates + row * G;
      ConstArrayMap i(zr, H), fg(zr + H, H), g(zr + 2 * H, H), o(zr + 3 * H, H);
      const Eigen::ArrayXf tc = ConstArrayMap(f.cs + row * H, H).tanh();
      dc_r += dh_r * o * (1.0f - tc * tc);
      dz_r.segment(0, H) = dc_r * g * i * (1.0f - i);
      dz_r.segment(H, H) = dc_r * ConstArrayMap(c_prev + r * prev_ld, H) * fg * (1.0f - fg);
      dz_r.segment(2 * H, H) = dc_r * i * (1.0f - g * g);
      dz_r.segment(3 * H, H) = dh_r * tc * o * (1.0f - o);
      dc_r *= fg;
      next.setZero();
      sums.Add(s, row, dz_r.data());
    }
    if (t > 0) {  // what the next step (t - 1) reads and writes, while this product runs
      PrefetchRows(f.gates + (at - 1) * G, T * G, rows, G, false);
      PrefetchRows(dhs + (at - 1) * H, T * H, rows, H, false);
      if (t > 1) PrefetchRows(f.cs + (at - 2) * H, T * H, rows, H, false);
      PrefetchRows(dz - G, T * G, rows, G, true);
    }
    w.MultiplyAdd(rows, dz, T * G, dh_next.data(), H);
    std::copy(dh_next.data(), dh_next.data() + rows * H, dh + b0 * H);
  }
}

class LstmBackwardOp : public OpKernel {
 public:
  explicit LstmBackwardOp(OpKernelConstruction* ctx) : OpKernel(ctx), bf16_(Bf16Products(ctx)) {}

  void Compute(OpKernelContext* ctx) override {
    // inputs: dhs, dh_last, dc_last, gates, hs, cs, h0, c0, weight, keep, ids, table_rows
    const Tensor& gates = ctx->input(3);
    const Tensor& w = ctx->input(8);
    const Tensor& keep = ctx->input(9);
    const Sizes n{static_cast<int>(gates.dim_size(1)), static_cast<int>(gates.dim_size(0)),
                  static_cast<int>(w.dim_size(1))};
    const Saved saved{gates.flat<float>().data(),      ctx->input(4).flat<float>().data(),
                      ctx->input(5).flat<float>().data(), ctx->input(6).flat<float>().data(),
                      ctx->input(7).flat<float>().data(), w.flat<float>().data(),
                      keep.NumElements() == 0 ? nullptr : keep.flat<float>().data()};
    Tensor *dxp, *dh0, *dc0;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, gates.shape(), &dxp));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(1, ctx->input(1).shape(), &dh0));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(2, ctx->input(2).shape(), &dc0));
    float* dh = dh0->flat<float>().data();
    float* dc = dc0->flat<float>().data();
    std::copy_n(ctx->input(1).flat<float>().data(), n.batch * n.hidden, dh);
    std::copy_n(ctx->input(2).flat<float>().data(), n.batch * n.hidden, dc);
    UseOneGemmThread();
    const int shards = ShardCount(ctx, n.batch);
    RowSums sums;
    OP_REQUIRES_OK(ctx, sums.Start(ctx, 10, 3, static_cast<long long>(n.batch) * n.steps,
                                   4 * n.hidden, shards));
    float* dz = dxp->flat<float>().data();
    PackedWeight packed;
    OP_REQUIRES_OK(ctx,
                   PackedWeight::Plain(ctx, saved.w, 4 * n.hidden, n.hidden, bf16_, &packed));
    RunShards(ctx, shards, [&](int s) {
      int b0, b1;
      ShardRange(s, shards, n.batch, &b0, &b1);
      BackwardShard(n, s, b0, b1, saved, packed, sums, ctx->input(0).flat<float>().data(), dz,
                    dh, dc);
    });
    sums.Total();
  }

 private:
  bool bf16_;  // per-step products in bfloat16 (the `products` attribute)
};

using tensorflow::shape_inference::InferenceContext;
using tensorflow::shape_inference::ShapeHandle;

REGISTER_OP("SeqkitLstmForward")
    .Attr("products: {'float32', 'bfloat16'} = 'float32'")  // bfloat16: mixed_bfloat16
    .Input("xp: float")      // [B, T, 4H], or a projected table [V, 4H] read at ids
    .Input("ids: int32")     // [B, T] rows of the table, or [0]: xp is dense
    .Input("h0: float")      // [B, H]
    .Input("c0: float")      // [B, H]
    .Input("weight: float")  // [4H, H]
    .Input("keep: float")    // [B, T] of 1 and 0, or [0] for no mask
    .Output("hs: float")     // [B, T, H]
    .Output("cs: float")     // [B, T, H]
    .Output("gates: float")  // [B, T, 4H], activated
    .SetShapeFn([](InferenceContext* c) {
      ShapeHandle h0, w;
      TF_RETURN_IF_ERROR(c->WithRank(c->input(2), 2, &h0));
      TF_RETURN_IF_ERROR(c->WithRank(c->input(4), 2, &w));
      tensorflow::shape_inference::DimensionHandle batch, steps;
      BatchAndSteps(c, 1, &batch, &steps);
      ShapeHandle hs = c->MakeShape({batch, steps, c->Dim(h0, 1)});
      c->set_output(0, hs);
      c->set_output(1, hs);
      c->set_output(2, c->MakeShape({batch, steps, c->Dim(w, 0)}));
      return absl::OkStatus();
    });

REGISTER_OP("SeqkitLstmBackward")
    .Attr("products: {'float32', 'bfloat16'} = 'float32'")  // bfloat16: mixed_bfloat16
    .Input("dhs: float")  // [B, T, H], the outputs' gradient
    .Input("dh_last: float")
    .Input("dc_last: float")
    .Input("gates: float")
    .Input("hs: float")
    .Input("cs: float")
    .Input("h0: float")
    .Input("c0: float")
    .Input("weight: float")
    .Input("keep: float")
    .Input("ids: int32")         // the forward op's ids: [B, T], or [0]
    .Input("table_rows: int32")  // V, where ids are given
    .Output("dxp: float")     // [B, T, 4H], the gradient of each step's z
    .Output("dh0: float")
    .Output("dc0: float")
    .Output("dtable: float")  // [V, 4H], the table's gradient where ids are given, else [0, 4H]
    .SetShapeFn([](InferenceContext* c) {
      c->set_output(0, c->input(3));
      c->set_output(1, c->input(6));
      c->set_output(2, c->input(7));
      c->set_output(3, c->MakeShape({c->UnknownDim(), c->Dim(c->input(3), 2)}));
      return absl::OkStatus();
    });

REGISTER_KERNEL_BUILDER(Name("SeqkitLstmForward").Device(tensorflow::DEVICE_CPU), LstmForwardOp);
REGISTER_KERNEL_BUILDER(
    Name("SeqkitLstmBackward").Device(tensorflow::DEVICE_CPU).HostMemory("table_rows"),
    LstmBackwardOp);

}  // namespace
}  // namespace seqkit
