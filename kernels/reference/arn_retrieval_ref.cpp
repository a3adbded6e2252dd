// CPU reference of kernel 3: ARN retrieval, clamp(softmax(q·kᵀ·scale)·v, 0, 1) per query, in float with the
// maximum subtracted before exp.
#include <algorithm>
#include <cmath>
#include <vector>

#include "detail/kernel_math.h"
#include "detail/validate.h"
#include "reference/oceanplus_kernels_ref.h"

using namespace oceanplus::kernels::detail;

extern "C" int oceanplus_arn_retrieve_ref(const float* query, const float* key, const float* values,
                                          const oceanplus_arn_params* p, float* out) {
  if (!valid_arn(query, key, values, p, out)) return OCEANPLUS_INVALID_ARGUMENT;
  std::vector<float> logits(p->key_count);
  for (int i = 0; i < p->query_count; ++i) {
    const float* q = query + i * p->query_stride_item;
    float largest = -INFINITY;
    for (int j = 0; j < p->key_count; ++j) {
      const float* k = key + j * p->key_stride_item;
      float dot = 0.f;
      for (int c = 0; c < p->channels; ++c) dot += q[c * p->query_stride_channel] * k[c * p->key_stride_channel];
      logits[j] = dot * p->scale;
      largest = std::max(largest, logits[j]);
    }
    float weight_sum = 0.f, value_sum = 0.f;
    for (int j = 0; j < p->key_count; ++j) {
      const float w = std::exp(logits[j] - largest);
      weight_sum += w;
      value_sum += w * values[j];
    }
    out[i] = clamp_unit(value_sum / weight_sum);
  }
  return OCEANPLUS_OK;
}
