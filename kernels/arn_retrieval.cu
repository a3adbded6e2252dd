// Kernel 3: ARN retrieval, one block per query. Each thread runs an online softmax (running maximum, weight sum,
// weighted value sum) over its share of the look-up table, then the block merges the partial triples; no buffer of
// key_count logits, so any table size fits.
#include <math.h>

#include "detail/block_reduce.cuh"
#include "detail/cuda_launch.h"
#include "detail/kernel_math.h"
#include "detail/validate.h"
#include "oceanplus_kernels.h"

namespace oceanplus::kernels {
namespace {

constexpr int kThreads = 128;

struct SoftmaxPartial {
  float largest, weight_sum, value_sum;
};

__device__ SoftmaxPartial merge(SoftmaxPartial a, SoftmaxPartial b) {
  if (b.largest == -INFINITY) return a;
  if (a.largest == -INFINITY) return b;
  const float largest = fmaxf(a.largest, b.largest);
  const float fa = expf(a.largest - largest), fb = expf(b.largest - largest);
  return {largest, a.weight_sum * fa + b.weight_sum * fb, a.value_sum * fa + b.value_sum * fb};
}

__device__ SoftmaxPartial shuffle_down(SoftmaxPartial mine, int offset) {
  return {__shfl_down_sync(0xffffffffu, mine.largest, offset), __shfl_down_sync(0xffffffffu, mine.weight_sum, offset),
          __shfl_down_sync(0xffffffffu, mine.value_sum, offset)};
}

__global__ void arn_kernel(const float* __restrict__ query, const float* __restrict__ key,
                           const float* __restrict__ values, oceanplus_arn_params p, float* __restrict__ out) {
  const int i = blockIdx.x;
  const float* q = query + i * p.query_stride_item;
  SoftmaxPartial mine{-INFINITY, 0.f, 0.f};
  for (int j = threadIdx.x; j < p.key_count; j += blockDim.x) {
    const float* k = key + j * p.key_stride_item;
    float dot = 0.f;
    for (int c = 0; c < p.channels; ++c) dot += __ldg(q + c * p.query_stride_channel) * __ldg(k + c * p.key_stride_channel);
    const float logit = dot * p.scale;
    if (logit > mine.largest) {
      const float rescale = expf(mine.largest - logit);  // 0 for the first key (-inf - logit)
      mine.weight_sum *= rescale;
      mine.value_sum *= rescale;
      mine.largest = logit;
    }
    const float w = expf(logit - mine.largest);
    mine.weight_sum += w;
    mine.value_sum += w * __ldg(values + j);
  }
  const SoftmaxPartial total = detail::block_reduce<kThreads>(mine, merge);
  if (threadIdx.x == 0) out[i] = detail::clamp_unit(total.value_sum / total.weight_sum);
}

}  // namespace
}  // namespace oceanplus::kernels

extern "C" cudaError_t oceanplus_arn_retrieve_cuda(const float* query, const float* key, const float* values,
                                                   const oceanplus_arn_params* params, float* out,
                                                   cudaStream_t stream) {
  using namespace oceanplus::kernels::detail;
  if (!valid_arn(query, key, values, params, out)) return cudaErrorInvalidValue;
  oceanplus::kernels::arn_kernel<<<params->query_count, oceanplus::kernels::kThreads, 0, stream>>>(query, key, values,
                                                                                                   *params, out);
  return launch_status();
}
