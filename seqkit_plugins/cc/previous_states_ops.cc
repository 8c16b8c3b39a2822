// seqkit native kernels: the state each step starts from, h_{t-1}, for the recurrent weight's
// gradient dW = sum over steps of dz_t^T h_{t-1} (native_kernels.py's weight_gradient).
//
//   previous[b, 0] = h0[b],  previous[b, t] = hs[b, t - 1]      hs, previous [B, T, H]
//
// One copy, each batch row's T - 1 states contiguous in the batch-major layout, split between
// the intra-op threads. TensorFlow's form, concat([h0[:, None], hs[:, :-1]], 1), copies twice
// (a StridedSlice, then a ConcatV2): 0.6-0.9 ms of thread time in config A's LSTM step, where
// this copy of 2 MB takes about 0.1 (tf.profiler trace, AMD Zen 4).
#include <cstring>

#include "gemm.h"
#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/shape_inference.h"

namespace seqkit {
namespace {

using tensorflow::OpKernel;
using tensorflow::OpKernelConstruction;
using tensorflow::OpKernelContext;
using tensorflow::Tensor;

class PreviousStatesOp : public OpKernel {
 public:
  explicit PreviousStatesOp(OpKernelConstruction* ctx) : OpKernel(ctx) {}

  void Compute(OpKernelContext* ctx) override {
    const Tensor& h0 = ctx->input(0);
    const Tensor& hs = ctx->input(1);
    OP_REQUIRES(ctx, h0.dims() == 2 && hs.dims() == 3 && hs.dim_size(0) == h0.dim_size(0) &&
                         hs.dim_size(2) == h0.dim_size(1),
                tensorflow::errors::InvalidArgument(
                    "previous states: h0 [B, H] and hs [B, T, H], got ", h0.shape().DebugString(),
                    " and ", hs.shape().DebugString()));
    Tensor* out;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, hs.shape(), &out));
    const long long batch = hs.dim_size(0), steps = hs.dim_size(1), width = hs.dim_size(2);
    if (steps == 0) return;
    const float *first = h0.flat<float>().data(), *states = hs.flat<float>().data();
    float* previous = out->flat<float>().data();
    const int shards = ShardCount(ctx, static_cast<int>(batch));
    RunShards(ctx, shards, [&](int s) {
      int b0, b1;
      ShardRange(s, shards, static_cast<int>(batch), &b0, &b1);
      for (long long b = b0; b < b1; ++b) {
        float* row = previous + b * steps * width;
        std::memcpy(row, first + b * width, sizeof(float) * width);
        std::memcpy(row + width, states + b * steps * width, sizeof(float) * (steps - 1) * width);
      }
    });
  }
};

REGISTER_OP("SeqkitPreviousStates")
    .Input("h0: float")  // [B, H]
    .Input("hs: float")  // [B, T, H]
    .Output("previous: float")  // [B, T, H]
    .SetShapeFn([](tensorflow::shape_inference::InferenceContext* c) {
      c->set_output(0, c->input(1));
      return absl::OkStatus();
    });

REGISTER_KERNEL_BUILDER(Name("SeqkitPreviousStates").Device(tensorflow::DEVICE_CPU),
                        PreviousStatesOp);

}  // namespace
}  // namespace seqkit
