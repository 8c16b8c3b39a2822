// seqkit native kernels: the LSTM over a whole sequence, forward and backward, float32.
//
//   z_t = xp_t + h_{t-1} @ W^T                      [B, 4H], gates i, f, g, o (PyTorch order)
//   c_t = sigmoid(f) * c_{t-1} + sigmoid(i) * tanh(g),  h_t = sigmoid(o) * tanh(c_t)
//   where keep[b, t] is 0 the state passes through: h_t = h_{t-1}, c_t = c_{t-1}
//
// Every sequence tensor is batch-major, [B, T, ...] (gemm.h's Sizes). xp already holds W_ih x_t +
// b_ih + b_hh. The batch is split into shards that run the whole sequence on their own (rows of a
// recurrence are independent): no barrier between steps. The backward pass carries only dh and dc.
// The weight gradient, dW = dZ^T @ H_prev [4H, T*B] @ [T*B, H], is one GEMM after it, on
// TensorFlow's matmul (native_kernels.py).
#include "gemm.h"
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
void ForwardShard(const Sizes& n, int b0, int b1, const float* xp, const float* h0,
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
    for (int r = 0; r < rows; ++r) std::copy_n(xp + (at + r * T) * G, G, z + r * T * G);
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
  explicit LstmForwardOp(OpKernelConstruction* ctx) : OpKernel(ctx) {}

  void Compute(OpKernelContext* ctx) override {
    const Tensor& xp = ctx->input(0);
    const Tensor& h0 = ctx->input(1);
    const Tensor& c0 = ctx->input(2);
    const Tensor& w = ctx->input(3);
    const Tensor& keep = ctx->input(4);
    OP_REQUIRES(ctx, xp.dims() == 3 && w.dims() == 2 && w.dim_size(0) == 4 * w.dim_size(1),
                tensorflow::errors::InvalidArgument("LSTM: xp [B, T, 4H] and W [4H, H]"));
    const Sizes n{static_cast<int>(xp.dim_size(1)), static_cast<int>(xp.dim_size(0)),
                  static_cast<int>(w.dim_size(1))};
    OP_REQUIRES(ctx, xp.dim_size(2) == 4 * n.hidden,
                tensorflow::errors::InvalidArgument("LSTM: xp's last dimension must be 4H"));
    Tensor *gates, *hs, *cs;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, TensorShape({n.batch, n.steps, n.hidden}), &hs));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(1, TensorShape({n.batch, n.steps, n.hidden}), &cs));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(2, xp.shape(), &gates));
    const float* keep_ptr = keep.NumElements() == 0 ? nullptr : keep.flat<float>().data();
    UseOneGemmThread();
    const int shards = ShardCount(ctx, n.batch);
    const auto packed = PackedWeight::Transposed(w.flat<float>().data(), 4 * n.hidden, n.hidden);
    RunShards(ctx, shards, [&](int s) {
      int b0, b1;
      ShardRange(s, shards, n.batch, &b0, &b1);
      ForwardShard(n, b0, b1, xp.flat<float>().data(), h0.flat<float>().data(),
                   c0.flat<float>().data(), packed, keep_ptr,
                   gates->flat<float>().data(), hs->flat<float>().data(),
                   cs->flat<float>().data());
    });
  }
};

struct Saved {  // what the forward pass kept, and the weight
  const float *gates, *hs, *cs, *h0, *c0, *w, *keep;
};

// Rows [b0, b1) backwards through every step: dz [B, T, 4H]; dh and dc carried in dh0, dc0.
void BackwardShard(const Sizes& n, int b0, int b1, const Saved& f, const PackedWeight& w,
                   const float* dhs, float* dz_all, float* dh, float* dc) {
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
    }
    w.MultiplyAdd(rows, dz, T * G, dh_next.data(), H);
    std::copy(dh_next.data(), dh_next.data() + rows * H, dh + b0 * H);
  }
}

class LstmBackwardOp : public OpKernel {
 public:
  explicit LstmBackwardOp(OpKernelConstruction* ctx) : OpKernel(ctx) {}

  void Compute(OpKernelContext* ctx) override {
    // inputs: dhs, dh_last, dc_last, gates, hs, cs, h0, c0, weight, keep
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
    float* dz = dxp->flat<float>().data();
    const auto packed = PackedWeight::Plain(saved.w, 4 * n.hidden, n.hidden);
    RunShards(ctx, shards, [&](int s) {
      int b0, b1;
      ShardRange(s, shards, n.batch, &b0, &b1);
      BackwardShard(n, b0, b1, saved, packed, ctx->input(0).flat<float>().data(), dz, dh, dc);
    });
  }
};

using tensorflow::shape_inference::InferenceContext;
using tensorflow::shape_inference::ShapeHandle;

REGISTER_OP("SeqkitLstmForward")
    .Input("xp: float")      // [B, T, 4H]
    .Input("h0: float")      // [B, H]
    .Input("c0: float")      // [B, H]
    .Input("weight: float")  // [4H, H]
    .Input("keep: float")    // [B, T] of 1 and 0, or [0] for no mask
    .Output("hs: float")     // [B, T, H]
    .Output("cs: float")     // [B, T, H]
    .Output("gates: float")  // [B, T, 4H], activated
    .SetShapeFn([](InferenceContext* c) {
      ShapeHandle xp, h0;
      TF_RETURN_IF_ERROR(c->WithRank(c->input(0), 3, &xp));
      TF_RETURN_IF_ERROR(c->WithRank(c->input(1), 2, &h0));
      ShapeHandle hs = c->MakeShape({c->Dim(xp, 0), c->Dim(xp, 1), c->Dim(h0, 1)});
      c->set_output(0, hs);
      c->set_output(1, hs);
      c->set_output(2, xp);
      return absl::OkStatus();
    });

REGISTER_OP("SeqkitLstmBackward")
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
    .Output("dxp: float")  // [B, T, 4H]
    .Output("dh0: float")
    .Output("dc0: float")
    .SetShapeFn([](InferenceContext* c) {
      c->set_output(0, c->input(3));
      c->set_output(1, c->input(6));
      c->set_output(2, c->input(7));
      return absl::OkStatus();
    });

REGISTER_KERNEL_BUILDER(Name("SeqkitLstmForward").Device(tensorflow::DEVICE_CPU), LstmForwardOp);
REGISTER_KERNEL_BUILDER(Name("SeqkitLstmBackward").Device(tensorflow::DEVICE_CPU),
                        LstmBackwardOp);

}  // namespace
}  // namespace seqkit
