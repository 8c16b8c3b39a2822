// seqkit native kernels: the gradient of gathering rows of a table, the rows' gradients summed
// into the rows they came from (a scatter-add), float32.
//
//   out[v, :] = sum over n with ids[n] == v of grad[n, :]      out [V, P], grad [N, P], ids [N]
//
// It is the gradient of `tf.gather(projected_table, ids)` where a first layer takes its inputs as
// TokenRows (seqkit/interfaces/token_rows.py): config A's step gathers 2,048 rows of 4H = 1,024
// from 65. TensorFlow's UnsortedSegmentSum for it runs on one thread, 1.6 ms alone and 6-7 ms
// beside the recurrent weight's gradient (tf.profiler trace of the step, AMD Zen 4); this op
// splits the columns between the intra-op threads (no two threads write one element, so no
// reduction) and adds each row's columns as vectors, in the order of the rows (the same sums as
// UnsortedSegmentSum's, in the same order).
#include <algorithm>
#include <cstring>

#include "gemm.h"
#include "input_rows.h"
#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/shape_inference.h"

namespace seqkit {
namespace {

using tensorflow::OpKernel;
using tensorflow::OpKernelConstruction;
using tensorflow::OpKernelContext;
using tensorflow::Tensor;

// Columns [c0, c1) of every row of grad [N, P] added into out [V, P] at the row's id.
void AddColumns(const float* grad, const int* ids, long long rows, int width, int c0, int c1,
                float* out) {
  for (long long n = 0; n < rows; ++n) {
    ArrayMap(out + static_cast<long long>(ids[n]) * width + c0, c1 - c0) +=
        ConstArrayMap(grad + n * width + c0, c1 - c0);
  }
}

class ScatterAddRowsOp : public OpKernel {
 public:
  explicit ScatterAddRowsOp(OpKernelConstruction* ctx) : OpKernel(ctx) {}

  void Compute(OpKernelContext* ctx) override {
    const Tensor& grad = ctx->input(0);
    const Tensor& ids = ctx->input(1);
    const Tensor& table_rows = ctx->input(2);
    OP_REQUIRES(ctx, tensorflow::TensorShapeUtils::IsScalar(table_rows.shape()),
                tensorflow::errors::InvalidArgument("scatter-add rows: table_rows is a scalar"));
    const long long rows = ids.NumElements();
    OP_REQUIRES(ctx, grad.dims() == ids.dims() + 1,
                tensorflow::errors::InvalidArgument(
                    "scatter-add rows: grad must have ids' shape and one more dimension"));
    const int table = table_rows.scalar<int>()();
    const int width = static_cast<int>(grad.dim_size(grad.dims() - 1));
    OP_REQUIRES(ctx, grad.NumElements() == rows * width,
                tensorflow::errors::InvalidArgument(
                    "scatter-add rows: grad must have ids' shape and one more dimension"));
    const int* id = ids.flat<int>().data();
    OP_REQUIRES_OK(ctx, CheckIds(id, rows, table, "scatter-add rows"));
    Tensor* out;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, tensorflow::TensorShape({table, width}), &out));
    float* sums = out->flat<float>().data();
    std::memset(sums, 0, sizeof(float) * static_cast<size_t>(table) * width);
    // column shards of at least 64 floats: one cache line a row is the least worth a thread
    const int shards = std::max(1, std::min(ShardCount(ctx, 1 << 20), width / 64));
    const float* g = grad.flat<float>().data();
    RunShards(ctx, shards, [&](int s) {
      int c0, c1;
      ShardRange(s, shards, width, &c0, &c1);
      AddColumns(g, id, rows, width, c0, c1, sums);
    });
  }
};

REGISTER_OP("SeqkitScatterAddRows")
    .Input("grad: float")       // [..., P], a gradient of table[ids]
    .Input("ids: int32")        // [...]
    .Input("table_rows: int32") // V, a scalar
    .Output("sums: float")      // [V, P]
    .SetShapeFn([](tensorflow::shape_inference::InferenceContext* c) {
      tensorflow::shape_inference::DimensionHandle table;
      TF_RETURN_IF_ERROR(c->MakeDimForScalarInput(2, &table));
      c->set_output(0, c->Matrix(table, c->Dim(c->input(0), -1)));
      return absl::OkStatus();
    });

REGISTER_KERNEL_BUILDER(Name("SeqkitScatterAddRows")
                            .Device(tensorflow::DEVICE_CPU)
                            .HostMemory("table_rows"),
                        ScatterAddRowsOp);

}  // namespace
}  // namespace seqkit
