// seqkit native kernels: the vanilla (Elman) RNN over a whole sequence, forward and backward,
// float32, with the activation tanh, relu or sigmoid (attr `activation`).
//
//   h_t = act(xp_t + h_{t-1} @ W^T); where keep[b, t] is 0, h_t = h_{t-1}
//
// Every sequence tensor is batch-major, [B, T, ...] (gemm.h's Sizes). xp holds W_ih x_t + b_ih +
// b_hh, or is a projected table read at ids [B, T] (input_rows.h). The batch is split into shards
// that run the whole sequence on their own. The backward loop carries only dh; dW = dA^T @ H_prev
// is one GEMM after it, on TensorFlow's matmul (native_kernels.py).
#include <string>

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

enum class Activation { kTanh, kRelu, kSigmoid };

Activation ParseActivation(OpKernelConstruction* ctx) {
  std::string name = "tanh";
  const auto status = ctx->GetAttr("activation", &name);
  if (!status.ok()) ctx->CtxFailure(status);
  return name == "relu" ? Activation::kRelu
                        : (name == "sigmoid" ? Activation::kSigmoid : Activation::kTanh);
}

inline void Activate(Activation act, ArrayMap a) {
  switch (act) {
    case Activation::kTanh: a = a.tanh(); break;
    case Activation::kRelu: a = a.max(0.0f); break;
    case Activation::kSigmoid: a = (a * 0.5f).tanh() * 0.5f + 0.5f; break;
  }
}

// d act / d pre-activation, from the activation's output h.
inline Eigen::ArrayXf Derivative(Activation act, const ConstArrayMap& h) {
  switch (act) {
    case Activation::kTanh: return 1.0f - h * h;
    case Activation::kRelu: return (h > 0.0f).cast<float>();
    default: return h * (1.0f - h);
  }
}

class VanillaForwardOp : public OpKernel {
 public:
  explicit VanillaForwardOp(OpKernelConstruction* ctx)
      : OpKernel(ctx), act_(ParseActivation(ctx)), bf16_(Bf16Products(ctx)) {}

  void Compute(OpKernelContext* ctx) override {
    const Tensor& w = ctx->input(3);
    InputRows xp;
    Sizes n;
    OP_REQUIRES_OK(ctx, ReadForwardInputs(ctx->input(0), ctx->input(1), w, 1,
                                          "vanilla RNN: xp [B, T, H] and W [H, H]", &xp, &n));
    Tensor* hs;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, TensorShape({n.batch, n.steps, n.hidden}), &hs));
    const Tensor& keep = ctx->input(4);
    const float* keep_ptr = keep.NumElements() == 0 ? nullptr : keep.flat<float>().data();
    UseOneGemmThread();
    const int shards = ShardCount(ctx, n.batch);
    PackedWeight packed;
    OP_REQUIRES_OK(ctx, PackedWeight::Transposed(ctx, w.flat<float>().data(), n.hidden, n.hidden,
                                                 bf16_, &packed));
    const float* h0 = ctx->input(2).flat<float>().data();
    float* out = hs->flat<float>().data();
    RunShards(ctx, shards, [&](int s) {
      int b0, b1;
      ShardRange(s, shards, n.batch, &b0, &b1);
      const int H = n.hidden, rows = b1 - b0;
      const long long T = n.steps;  // rows between one batch entry and the next
      Eigen::ArrayXf pre(rows * H);
      for (int t = 0; t < n.steps; ++t) {
        const long long at = n.Row(t, b0);
        const long long prev_ld = t == 0 ? H : T * H;  // h0 [B, H] or hs [B, T, H]
        const float* h_prev = t == 0 ? h0 + b0 * H : out + (at - 1) * H;
        for (int r = 0; r < rows; ++r) std::copy_n(xp.Row(at + r * T), H, pre.data() + r * H);
        packed.MultiplyAdd(rows, h_prev, prev_ld, pre.data(), H);
        Activate(act_, ArrayMap(pre.data(), rows * H));
        for (int r = 0; r < rows; ++r) {
          const bool kept = keep_ptr == nullptr || keep_ptr[at + r * T] != 0.0f;
          const float* from = kept ? pre.data() + r * H : h_prev + r * prev_ld;
          std::copy(from, from + H, out + (at + r * T) * H);
        }
      }
    });
  }

 private:
  Activation act_;
  bool bf16_;  // per-step products in bfloat16 (the `products` attribute)
};

// Rows [b0, b1) backwards: da [B, T, H]; dh carried in dh (dh_last on entry).
void BackwardShard(const Sizes& n, int s, int b0, int b1, Activation act, RowSums& sums,
                   const float* dhs, const float* h, const float* keep, const PackedWeight& w,
                   float* da, float* dh) {
  const int H = n.hidden, rows = b1 - b0;
  const long long T = n.steps;
  Eigen::ArrayXf dh_next(rows * H);
  for (int t = n.steps - 1; t >= 0; --t) {
    const long long at = n.Row(t, b0);
    for (int r = 0; r < rows; ++r) {
      const long long row = at + r * T;
      ArrayMap dh_r(dh + (b0 + r) * H, H), next(dh_next.data() + r * H, H);
      ArrayMap da_r(da + row * H, H);
      dh_r += ConstArrayMap(dhs + row * H, H);
      const bool kept = keep == nullptr || keep[row] != 0.0f;
      if (kept) {
        da_r = dh_r * Derivative(act, ConstArrayMap(h + row * H, H));
        next.setZero();
        sums.Add(s, row, da_r.data());
      } else {
        da_r.setZero();
        next = dh_r;  // the state passed through: so does its gradient
      }
    }
    w.MultiplyAdd(rows, da + at * H, T * H, dh_next.data(), H);
    std::copy(dh_next.data(), dh_next.data() + rows * H, dh + b0 * H);
  }
}

class VanillaBackwardOp : public OpKernel {
 public:
  explicit VanillaBackwardOp(OpKernelConstruction* ctx)
      : OpKernel(ctx), act_(ParseActivation(ctx)), bf16_(Bf16Products(ctx)) {}

  void Compute(OpKernelContext* ctx) override {
    // inputs: dhs, dh_last, hs, h0, weight, keep, ids, table_rows
    const Tensor& hs = ctx->input(2);
    const Tensor& w = ctx->input(4);
    const Sizes n{static_cast<int>(hs.dim_size(1)), static_cast<int>(hs.dim_size(0)),
                  static_cast<int>(w.dim_size(1))};
    Tensor *dxp, *dh0;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, hs.shape(), &dxp));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(1, ctx->input(1).shape(), &dh0));
    float* dh = dh0->flat<float>().data();
    std::copy_n(ctx->input(1).flat<float>().data(), n.batch * n.hidden, dh);
    const Tensor& keep = ctx->input(5);
    const float* keep_ptr = keep.NumElements() == 0 ? nullptr : keep.flat<float>().data();
    const float *h = hs.flat<float>().data(), *dhs = ctx->input(0).flat<float>().data();
    float* da = dxp->flat<float>().data();
    UseOneGemmThread();
    const int shards = ShardCount(ctx, n.batch);
    RowSums sums;
    OP_REQUIRES_OK(ctx, sums.Start(ctx, 6, 2, static_cast<long long>(n.batch) * n.steps,
                                   n.hidden, shards));
    PackedWeight packed;
    OP_REQUIRES_OK(ctx, PackedWeight::Plain(ctx, w.flat<float>().data(), n.hidden, n.hidden,
                                            bf16_, &packed));
    RunShards(ctx, shards, [&](int s) {
      int b0, b1;
      ShardRange(s, shards, n.batch, &b0, &b1);
      BackwardShard(n, s, b0, b1, act_, sums, dhs, h, keep_ptr, packed, da, dh);
    });
    sums.Total();
  }

 private:
  Activation act_;
  bool bf16_;  // per-step products in bfloat16 (the `products` attribute)
};

REGISTER_OP("SeqkitVanillaForward")
    .Attr("products: {'float32', 'bfloat16'} = 'float32'")  // bfloat16: mixed_bfloat16
    .Attr("activation: {'tanh', 'relu', 'sigmoid'}")
    .Input("xp: float")      // [B, T, H], or a projected table [V, H] read at ids
    .Input("ids: int32")     // [B, T] rows of the table, or [0]: xp is dense
    .Input("h0: float")      // [B, H]
    .Input("weight: float")  // [H, H]
    .Input("keep: float")    // [B, T] of 1 and 0, or [0] for no mask
    .Output("hs: float")     // [B, T, H]
    .SetShapeFn([](tensorflow::shape_inference::InferenceContext* c) {
      tensorflow::shape_inference::DimensionHandle batch, steps;
      BatchAndSteps(c, 1, &batch, &steps);
      c->set_output(0, c->MakeShape({batch, steps, c->Dim(c->input(2), 1)}));
      return absl::OkStatus();
    });

REGISTER_OP("SeqkitVanillaBackward")
    .Attr("products: {'float32', 'bfloat16'} = 'float32'")  // bfloat16: mixed_bfloat16
    .Attr("activation: {'tanh', 'relu', 'sigmoid'}")
    .Input("dhs: float")
    .Input("dh_last: float")
    .Input("hs: float")
    .Input("h0: float")
    .Input("weight: float")
    .Input("keep: float")
    .Input("ids: int32")         // the forward op's ids: [B, T], or [0]
    .Input("table_rows: int32")  // V, where ids are given
    .Output("dxp: float")      // [B, T, H]
    .Output("dh0: float")      // [B, H]
    .Output("dtable: float")   // [V, H], the table's gradient where ids are given, else [0, H]
    .SetShapeFn([](tensorflow::shape_inference::InferenceContext* c) {
      c->set_output(0, c->input(2));
      c->set_output(1, c->input(3));
      c->set_output(2, c->MakeShape({c->UnknownDim(), c->Dim(c->input(2), 2)}));
      return absl::OkStatus();
    });

REGISTER_KERNEL_BUILDER(Name("SeqkitVanillaForward").Device(tensorflow::DEVICE_CPU),
                        VanillaForwardOp);
REGISTER_KERNEL_BUILDER(
    Name("SeqkitVanillaBackward").Device(tensorflow::DEVICE_CPU).HostMemory("table_rows"),
    VanillaBackwardOp);

}  // namespace
}  // namespace seqkit
