// seqkit native kernels: a recurrence's projected inputs, read by the forward op and given
// their gradient by the backward op, either dense (xp [B, T, P], one row a step) or as the rows
// `ids` [B, T] of a projected table [V, P] (TokenRows, seqkit/interfaces/token_rows.py: a
// character model's 65 rows against 2,048 tokens a step).
//
// Given ids, the forward op reads each step's row from the table (no gathered [B, T, P] tensor
// is made: config A's LSTM step wrote 8 MB for it) and the backward op sums each step's
// gradient into its id's row, one accumulator a shard (in cache: 65 x 4H floats), added up
// once at the end, where a separate scatter-add read the 8 MB again after the op.
#pragma once

#include <cstring>

#include "gemm.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/shape_inference.h"

namespace seqkit {

struct InputRows {
  const float* data;  // xp [B * T, width], or the table [V, width]
  const int* ids;     // [B * T] ids into the table, or nullptr: dense
  int width;
  int table_rows;     // V (0: dense)

  const float* Row(long long row) const {
    return data + (ids == nullptr ? row : static_cast<long long>(ids[row])) * width;
  }
};

// OK where every one of `count` ids is a row of a table of `table` rows; else an
// InvalidArgument that names the first id outside it (`who` says which op).
inline absl::Status CheckIds(const int* ids, long long count, int table, const char* who) {
  for (long long n = 0; n < count; ++n) {
    if (ids[n] < 0 || ids[n] >= table) {
      return tensorflow::errors::InvalidArgument(who, ": id ", ids[n], " is outside [0, ", table,
                                                 ")");
    }
  }
  return absl::OkStatus();
}

// The op's inputs `xp` (or the table) and `ids` ([0]: dense) as InputRows, after checking that
// every id is a row of the table; the batch and steps come from ids (else from xp [B, T, P]).
inline absl::Status ReadInputRows(const tensorflow::Tensor& xp, const tensorflow::Tensor& ids,
                                  InputRows* rows, int* batch, int* steps) {
  const bool dense = ids.NumElements() == 0;
  const int rank = dense ? 3 : 2;
  if (xp.dims() != rank || (!dense && ids.dims() != 2)) {
    return tensorflow::errors::InvalidArgument(
        "native kernel: xp [B, T, P], or a table [V, P] and ids [B, T]; got ",
        xp.shape().DebugString(), " and ids ", ids.shape().DebugString());
  }
  *rows = InputRows{xp.flat<float>().data(), dense ? nullptr : ids.flat<int>().data(),
                    static_cast<int>(xp.dim_size(rank - 1)),
                    dense ? 0 : static_cast<int>(xp.dim_size(0))};
  *batch = static_cast<int>(dense ? xp.dim_size(0) : ids.dim_size(0));
  *steps = static_cast<int>(dense ? xp.dim_size(1) : ids.dim_size(1));
  return dense ? absl::OkStatus()
               : CheckIds(rows->ids, ids.NumElements(), rows->table_rows, "native kernel");
}

// A forward op's inputs: `xp` and `ids` as ReadInputRows reads them, and the recurrent weight
// `w`, which must be [gates * H, H] with gates * H the rows' width (`shapes` names both for the
// error, e.g. "LSTM: xp [B, T, 4H] and W [4H, H]"); `sizes` gets the steps, batch and H.
inline absl::Status ReadForwardInputs(const tensorflow::Tensor& xp,
                                      const tensorflow::Tensor& ids, const tensorflow::Tensor& w,
                                      int gates, const char* shapes, InputRows* rows,
                                      Sizes* sizes) {
  int batch, steps;
  TF_RETURN_IF_ERROR(ReadInputRows(xp, ids, rows, &batch, &steps));
  if (w.dims() != 2 || w.dim_size(0) != gates * w.dim_size(1) || rows->width != w.dim_size(0)) {
    return tensorflow::errors::InvalidArgument(shapes);
  }
  *sizes = Sizes{steps, batch, static_cast<int>(w.dim_size(1))};
  return absl::OkStatus();
}

// The table's gradient in the backward op: each shard adds its rows' gradients into its own
// accumulator [V, width]; Total adds the shards' up into the op's output [V, width].
class RowSums {
 public:
  // For a backward op whose inputs `ids_input` and the next are the forward op's ids ([0]: dense)
  // and V, over `tokens` rows of `width` in `shards`; the output `output` is [V, width], or
  // [0, width] where the inputs were dense.
  absl::Status Start(tensorflow::OpKernelContext* ctx, int ids_input, int output,
                     long long tokens, int width, int shards) {
    const tensorflow::Tensor& ids = ctx->input(ids_input);
    const bool dense = ids.NumElements() == 0;
    if (!dense && ids.NumElements() != tokens) {
      return tensorflow::errors::InvalidArgument("native kernel backward: ids [B, T] or [0]");
    }
    const int table = dense ? 0 : ctx->input(ids_input + 1).scalar<int>()();
    rows_ = InputRows{nullptr, dense ? nullptr : ids.flat<int>().data(), width, table};
    shards_ = shards;
    TF_RETURN_IF_ERROR(
        ctx->allocate_output(output, tensorflow::TensorShape({table, width}), &out_));
    TF_RETURN_IF_ERROR(ctx->allocate_temp(tensorflow::DT_FLOAT,
                                          tensorflow::TensorShape({shards * Size()}), &scratch_));
    std::memset(scratch_.flat<float>().data(), 0, sizeof(float) * shards * Size());
    return absl::OkStatus();
  }

  // Adds grad [width], the gradient of step row `row`, into shard s's row of its id (shards
  // add into their own accumulators: no two threads write one element).
  void Add(int s, long long row, const float* grad) {
    if (rows_.ids == nullptr) return;
    float* sums = scratch_.flat<float>().data();
    ArrayMap(sums + s * Size() + static_cast<long long>(rows_.ids[row]) * rows_.width,
             rows_.width) += ConstArrayMap(grad, rows_.width);
  }

  void Total() {
    if (rows_.ids == nullptr) return;
    const float* sums = scratch_.flat<float>().data();
    ArrayMap total(out_->flat<float>().data(), Size());
    total = ConstArrayMap(sums, Size());
    for (int s = 1; s < shards_; ++s) total += ConstArrayMap(sums + s * Size(), Size());
  }

 private:
  long long Size() const { return static_cast<long long>(rows_.table_rows) * rows_.width; }

  InputRows rows_{nullptr, nullptr, 0, 0};
  int shards_ = 1;
  tensorflow::Tensor scratch_;
  tensorflow::Tensor* out_ = nullptr;
};

// Shape functions: the batch and steps of an op whose input 0 is xp [B, T, P] (or a table) and
// input `ids_input` the ids [B, T] (or [0]).
inline void BatchAndSteps(tensorflow::shape_inference::InferenceContext* c, int ids_input,
                          tensorflow::shape_inference::DimensionHandle* batch,
                          tensorflow::shape_inference::DimensionHandle* steps) {
  const auto ids = c->input(ids_input), xp = c->input(0);
  if (c->RankKnown(ids) && c->Rank(ids) == 2) {
    *batch = c->Dim(ids, 0);
    *steps = c->Dim(ids, 1);
  } else if (c->RankKnown(ids) && c->RankKnown(xp) && c->Rank(xp) == 3) {
    *batch = c->Dim(xp, 0);
    *steps = c->Dim(xp, 1);
  } else {
    *batch = c->UnknownDim();
    *steps = c->UnknownDim();
  }
}

}  // namespace seqkit
