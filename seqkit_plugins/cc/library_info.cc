// seqkit native kernels: what this build of the library runs its per-step products on (the
// vector kernel packed_weight.h compiled for the CPU, or the library GEMM it falls back to), as
// the op SeqkitKernelsInfo: a scalar string, read once when the library loads, for the status
// line `seqkit plugins` shows.
#include "packed_weight.h"
#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/common_shape_fns.h"

namespace seqkit {
namespace {

class KernelsInfoOp : public tensorflow::OpKernel {
 public:
  explicit KernelsInfoOp(tensorflow::OpKernelConstruction* ctx) : OpKernel(ctx) {}

  void Compute(tensorflow::OpKernelContext* ctx) override {
    tensorflow::Tensor* out;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, tensorflow::TensorShape({}), &out));
    out->scalar<tensorflow::tstring>()() = ProductKind();
  }
};

REGISTER_OP("SeqkitKernelsInfo")
    .Output("info: string")
    .SetShapeFn(tensorflow::shape_inference::ScalarShape);

REGISTER_KERNEL_BUILDER(Name("SeqkitKernelsInfo").Device(tensorflow::DEVICE_CPU), KernelsInfoOp);

}  // namespace
}  // namespace seqkit
