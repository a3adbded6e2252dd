// Reading the golden files of shared/golden (plain-dict .pt) and comparing tensors against them with the tolerances
// recommended in shared/golden/oceanplus/README.md §3.
#pragma once

#include <ATen/core/Tensor.h>
#include <ATen/core/ivalue.h>
#include <gtest/gtest.h>

#include <string>

#include "io/weights.h"

namespace oceanplus::testing {

using GoldenDict = c10::Dict<c10::IValue, c10::IValue>;

GoldenDict load_golden(const std::string& path);
// d["a"]["b"]["c"] for the path "a.b.c".
c10::IValue golden_at(const GoldenDict& root, const std::string& dotted_path);
at::Tensor golden_tensor(const GoldenDict& root, const std::string& dotted_path);
bool golden_has(const GoldenDict& root, const std::string& dotted_path);

// max|got - want| <= rel * max|want| (the README's per-tensor rule), with the shapes equal.
::testing::AssertionResult tensor_close(const at::Tensor& got, const at::Tensor& want, double rel = 1e-4);
// got against a stored summary {shape, sum, abs_sum, sq_sum, min, max[, chan_sum, slice, slice_spec]}.
::testing::AssertionResult summary_close(const at::Tensor& got, const GoldenDict& summary, double rel = 1e-4);
// Either: a full tensor or a summary, whichever the golden holds at that path.
::testing::AssertionResult golden_close(const at::Tensor& got, const GoldenDict& root, const std::string& dotted_path,
                                        double rel = 1e-4);

// The gen-v1 weights (README §1) as a state dict: MMS (478 keys) or MSS (430).
io::StateDict gen_v1_state_dict(bool mms);

}  // namespace oceanplus::testing
