// CPU reference of kernel 5: activation, scale/ratio penalty, cosine window, argmax (choose_peak, in float).
#include <cmath>

#include "detail/kernel_math.h"
#include "detail/validate.h"
#include "reference/oceanplus_kernels_ref.h"

using namespace oceanplus::kernels::detail;

extern "C" int oceanplus_score_peak_ref(const float* logits, const float* ltrb, const float* window,
                                        const oceanplus_peak_params* p, oceanplus_peak* peak) {
  if (!valid_peak(logits, ltrb, window, p, peak)) return OCEANPLUS_INVALID_ARGUMENT;
  const int size = p->score_size;
  float best = -INFINITY;
  int best_index = -1;
  CellScore best_cell{};
  for (int r = 0; r < size; ++r) {
    for (int c = 0; c < size; ++c) {
      const CellScore cell = cell_score(logits, ltrb, window, *p, r, c);
      // Strictly greater: the first maximum wins (numpy's argmax); NaN never wins.
      if (cell.pscore > best) {
        best = cell.pscore;
        best_index = r * size + c;
        best_cell = cell;
      }
    }
  }
  *peak = oceanplus_peak{};
  if (best_index < 0 || !std::isfinite(best)) {
    peak->status = OCEANPLUS_NO_FINITE_SCORE;
    peak->index = peak->row = peak->col = -1;
    return OCEANPLUS_NO_FINITE_SCORE;
  }
  const int64_t plane = static_cast<int64_t>(size) * size;
  peak->status = OCEANPLUS_OK;
  peak->index = best_index;
  peak->row = best_index / size;
  peak->col = best_index % size;
  peak->score = best_cell.score;
  peak->pscore = best_cell.pscore;
  peak->penalty = best_cell.penalty;
  const float gx = grid_coordinate(peak->col, size, p->stride, p->instance_size);
  const float gy = grid_coordinate(peak->row, size, p->stride, p->instance_size);
  for (int k = 0; k < 4; ++k) peak->ltrb[k] = ltrb[k * plane + best_index];
  peak->box[0] = gx - peak->ltrb[0];
  peak->box[1] = gy - peak->ltrb[1];
  peak->box[2] = gx + peak->ltrb[2];
  peak->box[3] = gy + peak->ltrb[3];
  return OCEANPLUS_OK;
}
