#include "golden.h"

#include <ATen/ATen.h>
#include <torch/csrc/jit/serialization/pickle.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>

#include "gen_v1.h"

namespace oceanplus::testing {

GoldenDict load_golden(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open golden file " + path);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return torch::jit::pickle_load(bytes).toGenericDict();
}

c10::IValue golden_at(const GoldenDict& root, const std::string& dotted_path) {
  c10::IValue current(root);
  std::istringstream parts(dotted_path);
  std::string part;
  while (std::getline(parts, part, '.')) {
    if (current.isGenericDict()) {
      auto d = current.toGenericDict();
      if (!d.contains(part)) throw std::runtime_error("golden has no key '" + dotted_path + "' (at '" + part + "')");
      current = d.at(part);
    } else if (current.isList()) {
      current = current.toList().get(std::stoul(part));
    } else {
      throw std::runtime_error("golden path '" + dotted_path + "' goes through a non-container");
    }
  }
  return current;
}

bool golden_has(const GoldenDict& root, const std::string& dotted_path) {
  try {
    golden_at(root, dotted_path);
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

at::Tensor golden_tensor(const GoldenDict& root, const std::string& dotted_path) {
  return golden_at(root, dotted_path).toTensor();
}

::testing::AssertionResult tensor_close(const at::Tensor& got_in, const at::Tensor& want_in, double rel) {
  at::Tensor got = got_in.to(at::kDouble).contiguous();
  at::Tensor want = want_in.to(at::kDouble).contiguous();
  if (got.sizes() != want.sizes()) {
    return ::testing::AssertionFailure() << "shape " << got.sizes() << " != golden " << want.sizes();
  }
  const double max_ref = want.abs().max().item<double>();
  const double max_diff = (got - want).abs().max().item<double>();
  const double limit = rel * max_ref;
  if (!(max_diff <= limit)) {
    return ::testing::AssertionFailure() << "max|diff| " << max_diff << " > " << limit << " (max|golden| " << max_ref
                                         << ", ratio " << max_diff / std::max(max_ref, 1e-300) << ")";
  }
  return ::testing::AssertionSuccess() << "max|diff| " << max_diff << " (ratio " << max_diff / max_ref << ")";
}

namespace {

double as_double(const c10::IValue& v) { return v.isDouble() ? v.toDouble() : static_cast<double>(v.toInt()); }

::testing::AssertionResult relative_ok(const char* what, double got, double want, double scale, double rel) {
  if (std::fabs(got - want) <= rel * scale) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << what << " " << got << " != golden " << want << " (allowed " << rel * scale
                                       << ")";
}

}  // namespace

::testing::AssertionResult summary_close(const at::Tensor& got_in, const GoldenDict& s, double rel) {
  at::Tensor got = got_in.to(at::kDouble).contiguous();
  at::Tensor shape = s.at("shape").toTensor();
  std::vector<int64_t> want_shape(shape.data_ptr<int64_t>(), shape.data_ptr<int64_t>() + shape.numel());
  if (got.sizes().vec() != want_shape) {
    return ::testing::AssertionFailure() << "shape " << got.sizes() << " != golden " << shape;
  }
  const double abs_sum = as_double(s.at("abs_sum"));
  const double sq_sum = as_double(s.at("sq_sum"));
  const double max_ref = std::max(std::fabs(as_double(s.at("min"))), std::fabs(as_double(s.at("max"))));
  const double sum_rel = 1e-5;  // README §3: sums relative 1e-5, the signed sum against abs_sum
  if (auto r = relative_ok("sum", got.sum().item<double>(), as_double(s.at("sum")), abs_sum, sum_rel); !r) return r;
  if (auto r = relative_ok("abs_sum", got.abs().sum().item<double>(), abs_sum, abs_sum, sum_rel); !r) return r;
  if (auto r = relative_ok("sq_sum", got.pow(2).sum().item<double>(), sq_sum, sq_sum, sum_rel); !r) return r;
  if (auto r = relative_ok("min", got.min().item<double>(), as_double(s.at("min")), max_ref, rel); !r) return r;
  if (auto r = relative_ok("max", got.max().item<double>(), as_double(s.at("max")), max_ref, rel); !r) return r;
  if (s.contains("chan_sum")) {
    at::Tensor want = s.at("chan_sum").toTensor();
    at::Tensor have = got[0].sum({1, 2});
    const double per_channel_scale = at::abs(got[0]).sum().item<double>() / got.size(1);
    const double diff = (have - want).abs().max().item<double>();
    if (diff > sum_rel * std::max(per_channel_scale, want.abs().max().item<double>())) {
      return ::testing::AssertionFailure() << "chan_sum max|diff| " << diff;
    }
  }
  if (s.contains("slice")) {
    const std::string spec = s.at("slice_spec").toStringRef();
    at::Tensor piece;
    if (spec.find("::2") != std::string::npos) {
      piece = got.slice(0, 0, 1).slice(1, 0, 1).slice(2, 0, c10::nullopt, 2).slice(3, 0, c10::nullopt, 2)[0];
    } else {
      const auto colon = spec.find("0:");
      const int64_t k = std::stoll(spec.substr(colon + 2));
      piece = got[0].slice(0, 0, k);
    }
    at::Tensor want = s.at("slice").toTensor().to(at::kDouble).reshape(piece.sizes());
    const double diff = (piece - want).abs().max().item<double>();
    if (diff > rel * max_ref) return ::testing::AssertionFailure() << "slice " << spec << " max|diff| " << diff;
  }
  return ::testing::AssertionSuccess() << "within (sums, min/max, slice)";
}

::testing::AssertionResult golden_close(const at::Tensor& got, const GoldenDict& root, const std::string& path,
                                        double rel) {
  c10::IValue v = golden_at(root, path);
  ::testing::AssertionResult r = v.isTensor() ? tensor_close(got, v.toTensor(), rel)
                                              : summary_close(got, v.toGenericDict(), rel);
  if (!r) r << " [at " << path << "]";
  // OCEANPLUS_PARITY_VERBOSE=1 prints every comparison with its error, for reports.
  if (const char* verbose = std::getenv("OCEANPLUS_PARITY_VERBOSE"); verbose && *verbose == '1') {
    std::printf("  parity %-52s %s %s\n", path.c_str(), v.isTensor() ? "full   " : "summary", r.message());
  }
  return r;
}

io::StateDict gen_v1_state_dict(bool mms) {
  const std::string shared = shared_dir();
  const auto keys = read_section_a_keys(shared + "/reference/oceanplus_state_dict_keys.txt", mms);
  io::StateDict sd;
  sd.source = std::string("gen-v1 ") + (mms ? "MMS" : "MSS");
  for (GeneratedTensor& t : generate_gen_v1(keys)) {
    at::Tensor tensor;
    if (t.is_int64) {
      tensor = at::zeros(t.shape, at::kLong);
    } else {
      tensor = at::empty(t.shape, at::kFloat);
      std::memcpy(tensor.data_ptr<float>(), t.values.data(), t.values.size() * sizeof(float));
    }
    sd.tensors.emplace(t.key, tensor);
  }
  return sd;
}

}  // namespace oceanplus::testing
