// The multistart analysis: the test vectors of evaluation.md §2.8, the failure rule's edge cases, compute_eao_partial
// details, anchors.
#include <gtest/gtest.h>

#include <vector>

#include "common/error.h"
#include "vot/multistart.h"

namespace oceanplus::vot {
namespace {

// [0 (init)] + [val] * (L - 1); frames from fail_at on get 0.05 (so p = fail_at).
RunOverlaps make_const_run(int length, double value, int fail_at = -1) {
  RunOverlaps r;
  r.overlaps.assign(length, value);
  r.overlaps[0] = 0.0;
  if (fail_at >= 0) {
    for (int t = fail_at; t < length; ++t) r.overlaps[t] = 0.05;
  }
  return r;
}

TEST(VotVectors, Ex1) {
  SequenceRuns s{"seq", 1000, {make_const_run(1000, 0.8), make_const_run(500, 0.8)}};
  const Results r = analyze({s});
  EXPECT_NEAR(r.accuracy, 0.798933, 1e-6);
  EXPECT_NEAR(r.robustness, 1.000000, 1e-6);
  EXPECT_NEAR(r.eao, 0.800000, 1e-6);
  ASSERT_EQ(r.eao_curve.size(), 755u);
  EXPECT_EQ(r.sequences[0].failures, (std::vector<int>{1000, 500}));
}

TEST(VotVectors, Ex2) {
  SequenceRuns s{"seq", 1000, {make_const_run(1000, 0.8, 300), make_const_run(500, 0.8)}};
  const Results r = analyze({s});
  EXPECT_NEAR(r.accuracy, 0.798000, 1e-6);
  EXPECT_NEAR(r.robustness, 0.533333, 1e-6);
  EXPECT_NEAR(r.eao, 0.605988, 1e-6);
  ASSERT_EQ(r.eao_curve.size(), 755u);
  EXPECT_NEAR(r.eao_curve[754], 0.317241, 1e-6);
  EXPECT_EQ(r.sequences[0].failures, (std::vector<int>{300, 500}));
}

TEST(VotVectors, Ex3) {
  SequenceRuns a{"A", 800, {make_const_run(800, 0.7)}};
  SequenceRuns b{"B", 200, {make_const_run(200, 0.6), make_const_run(101, 0.6, 50)}};
  const Results r = analyze({a, b});
  EXPECT_NEAR(r.accuracy, 0.674381, 1e-6);
  EXPECT_NEAR(r.robustness, 0.966113, 1e-6);
  EXPECT_NEAR(r.eao, 0.400266, 1e-6);
  // Per-sequence numbers follow the formulas directly.
  EXPECT_NEAR(r.sequences[0].accuracy, 799 * 0.7 / 800, 1e-12);
  EXPECT_NEAR(r.sequences[1].accuracy, 248 * 0.6 / 250, 1e-12);
  EXPECT_NEAR(r.sequences[1].robustness, 250.0 / 301.0, 1e-12);
}

TEST(VotVectors, AggregateEqualsAnalyze) {
  SequenceRuns a{"A", 800, {make_const_run(800, 0.7)}};
  SequenceRuns b{"B", 200, {make_const_run(200, 0.6), make_const_run(101, 0.6, 50)}};
  const Results r1 = analyze({a, b});
  const Results r2 = aggregate({analyze_sequence(a), analyze_sequence(b)});
  EXPECT_DOUBLE_EQ(r1.eao, r2.eao);
  EXPECT_DOUBLE_EQ(r1.accuracy, r2.accuracy);
  EXPECT_DOUBLE_EQ(r1.robustness, r2.robustness);
}

// ---- Failure rule ---------------------------------------------------------------------------------------------------

RunOverlaps high_run(int length) {
  RunOverlaps r;
  r.overlaps.assign(length, 0.8);
  r.overlaps[0] = 0.0;  // the init frame
  return r;
}

TEST(VotFailure, NoFailure) { EXPECT_EQ(find_failure(high_run(50)), 50); }

TEST(VotFailure, ExactlyTenLowFrames) {
  auto r = high_run(50);
  for (int t = 20; t < 30; ++t) r.overlaps[t] = 0.0;
  EXPECT_EQ(find_failure(r), 20);
}

TEST(VotFailure, TenLowFramesAtTheEnd) {
  auto r = high_run(50);
  for (int t = 40; t < 50; ++t) r.overlaps[t] = 0.0;
  EXPECT_EQ(find_failure(r), 40);
}

TEST(VotFailure, NineLowFramesThenRecovery) {
  auto r = high_run(50);
  for (int t = 20; t < 29; ++t) r.overlaps[t] = 0.0;
  EXPECT_EQ(find_failure(r), 50);
  // ... repeatedly: still never 10 in a row.
  for (int t = 30; t < 39; ++t) r.overlaps[t] = 0.0;
  EXPECT_EQ(find_failure(r), 50);
}

TEST(VotFailure, NineLowFramesAtTheEndIsNoFailure) {
  auto r = high_run(50);
  for (int t = 41; t < 50; ++t) r.overlaps[t] = 0.0;
  EXPECT_EQ(find_failure(r), 50);
}

TEST(VotFailure, InitFrameCountsAsLow) {
  // The init frame's overlap is 0 and its GT is not empty: with 9 more low frames the run fails at 0.
  auto r = high_run(30);
  for (int t = 1; t < 10; ++t) r.overlaps[t] = 0.05;
  EXPECT_EQ(find_failure(r), 0);
}

TEST(VotFailure, ThresholdIsInclusive) {
  auto r = high_run(50);
  for (int t = 20; t < 30; ++t) r.overlaps[t] = 0.1;
  EXPECT_EQ(find_failure(r), 20);
  for (int t = 20; t < 30; ++t) r.overlaps[t] = 0.1000001;
  EXPECT_EQ(find_failure(r), 50);
}

TEST(VotFailure, EmptyGtFramesDoNotCountAndReset) {
  auto r = high_run(50);
  r.gt_empty.assign(50, false);
  for (int t = 20; t < 30; ++t) {
    r.overlaps[t] = 0.0;
    r.gt_empty[t] = true;  // low overlap, but the object is absent
  }
  EXPECT_EQ(find_failure(r), 50);

  // 5 low, one empty-GT frame (resets), then 9 low: no failure; a 10th low frame makes one at 26.
  auto q = high_run(50);
  q.gt_empty.assign(50, false);
  for (int t = 20; t < 25; ++t) q.overlaps[t] = 0.0;
  q.overlaps[25] = 0.0;
  q.gt_empty[25] = true;
  for (int t = 26; t < 35; ++t) q.overlaps[t] = 0.0;
  EXPECT_EQ(find_failure(q), 50);
  q.overlaps[35] = 0.0;
  EXPECT_EQ(find_failure(q), 26);
}

TEST(VotFailure, CustomGraceAndThreshold) {
  auto r = high_run(20);
  for (int t = 5; t < 8; ++t) r.overlaps[t] = 0.3;
  EXPECT_EQ(find_failure(r, 3, 0.5), 5);
  EXPECT_EQ(find_failure(r, 4, 0.5), 20);
}

TEST(VotFailure, MismatchedFlagsThrow) {
  auto r = high_run(20);
  r.gt_empty.assign(19, false);
  EXPECT_THROW(find_failure(r), Error);
}

// A failed run: A counts frames before p (init frame included), the EAO curve sees zeros after p.
TEST(VotFailure, TruncationInAnalysis) {
  auto r = high_run(40);
  for (int t = 20; t < 30; ++t) r.overlaps[t] = 0.0;
  for (int t = 30; t < 40; ++t) r.overlaps[t] = 1.0;  // recovery after the failure does not count
  const SequenceResult s = analyze_sequence({"s", 40, {r}});
  EXPECT_EQ(s.failures, std::vector<int>{20});
  EXPECT_NEAR(s.accuracy, 19 * 0.8 / 20, 1e-12);
  EXPECT_NEAR(s.robustness, 0.5, 1e-12);
  // j < L: mean(o[1..j]) of the truncated run.
  EXPECT_NEAR(s.eao.phi[39], 19 * 0.8 / 39, 1e-12);
  // j >= L and failed: the j - 1 divisor.
  EXPECT_NEAR(s.eao.phi[100], 19 * 0.8 / 99, 1e-12);
  EXPECT_EQ(s.eao.active[100], 1.0);
}

// ---- compute_eao_partial ---------------------------------------------------------------------------------------------

TEST(VotEao, SuccessfulShortRunsAreSkipped) {
  const EaoPartial e = compute_eao_partial({{0, 0.5, 0.5, 0.5}, {0, 1, 1, 1, 1, 1, 1}}, {true, true}, 10);
  ASSERT_EQ(e.phi.size(), 10u);
  EXPECT_EQ(e.phi[0], 0.0);
  EXPECT_EQ(e.active[0], 0.0);
  EXPECT_NEAR(e.phi[3], 0.75, 1e-12);
  EXPECT_EQ(e.active[3], 2.0);
  EXPECT_NEAR(e.phi[4], 1.0, 1e-12);
  EXPECT_EQ(e.active[4], 1.0);
  EXPECT_EQ(e.active[7], 0.0);
  EXPECT_EQ(e.phi[7], 0.0);
}

TEST(VotEao, FailedRunUsesJMinusOneDivisor) {
  const EaoPartial e = compute_eao_partial({{0, 0.6, 0.6, 0.0}}, {false}, 10);
  EXPECT_NEAR(e.phi[2], 0.6, 1e-12);
  EXPECT_NEAR(e.phi[3], 1.2 / 3, 1e-12);
  EXPECT_NEAR(e.phi[4], 1.2 / 3, 1e-12);  // j = 4 >= L: sum(o[1:4]) / (4 - 1)
  EXPECT_NEAR(e.phi[9], 1.2 / 8, 1e-12);
}

TEST(VotEao, BadParams) {
  AnalysisParams p;
  p.low = 800;
  EXPECT_THROW(analyze({{"s", 10, {high_run(10)}}}, p), Error);
}

// ---- Anchors ----------------------------------------------------------------------------------------------------------

TEST(VotAnchors, ForwardAndBackward) {
  const Anchors a = find_anchors({1, 0, 0, -1, 0, 2, 0.5, -0.5, 0});
  EXPECT_EQ(a.forward, (std::vector<int>{0, 5, 6}));
  EXPECT_EQ(a.backward, (std::vector<int>{3, 7}));
}

}  // namespace
}  // namespace oceanplus::vot
