// Loading model weights into a name -> tensor map, whatever the file format:
//  - a plain-dict .pt written by torch.save (zip container), read with LibTorch's unpickler;
//  - the official torch-1.1 legacy (non-zip) .pth checkpoints, read by our own parser (io/legacy_pth.h).
// Both may wrap the weights in {'state_dict': ...} and prefix keys with 'module.' (DataParallel) or
// 'feature_extractor.'; both are unwrapped here, as the reference loader does.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace oceanplus::io {

struct StateDict {
  std::map<std::string, at::Tensor> tensors;  // keys without prefixes; CPU tensors
  std::string source;                         // file name, for error messages
};

// Reads a weights file (format detected from its first bytes). Throws WeightsError naming the file on any problem.
StateDict load_state_dict(const std::string& path);
// The same from bytes already in memory (tests, fuzzing).
StateDict load_state_dict_from_bytes(const std::vector<char>& bytes, const std::string& name_for_errors);

// Writes a plain dict {key: tensor} with torch.save's zip format (readable by load_state_dict and by Python's
// torch.load). Written to a temporary file and renamed, so that an interrupted write never leaves a truncated file.
void save_state_dict(const StateDict& state, const std::string& path);

// A copy of the weights on `device` (the networks take their tensors from the dict, so building a network from the
// copy puts it on that device). The copy keeps the source name.
StateDict moved_to(const StateDict& state, at::Device device);

// Strips the 'module.' and 'feature_extractor.' prefixes the reference loader strips.
std::string strip_key_prefixes(const std::string& key);

// Hands out tensors by key to a network being built, checking each against the shape the network expects.
// Records which keys were used so that the caller can list what the file had and the network did not need.
class WeightReader {
 public:
  explicit WeightReader(const StateDict& state) : state_(state) {}
  // A reader that invents every tensor asked for (random, sensibly scaled) and stores it in `out`: gives a network
  // of the right shapes without a weights file (benchmarks, machines without the model).
  static WeightReader synthesizing(StateDict& out, uint64_t seed);

  // The float32 tensor stored under `key`, which must have exactly `shape`. Throws WeightsError naming the key and
  // both shapes when it differs, or the key when it is missing.
  at::Tensor take(const std::string& key, const std::vector<int64_t>& shape);
  bool has(const std::string& key) const { return state_.tensors.count(key) != 0; }
  // A key the network knows but does not use at inference (deep-supervision heads, the second ARN, BN counters).
  void skip(const std::string& key) { skipped_.insert(key); }

  const std::set<std::string>& used_keys() const { return used_; }
  const std::set<std::string>& skipped_keys() const { return skipped_; }
  // Keys in the file that the network neither used nor knows.
  std::vector<std::string> unknown_keys() const;
  const std::string& source() const { return state_.source; }

 private:
  const StateDict& state_;
  StateDict* synthesized_ = nullptr;
  uint64_t seed_ = 0;
  std::set<std::string> used_;
  std::set<std::string> skipped_;
};

std::string shape_to_string(const std::vector<int64_t>& shape);

}  // namespace oceanplus::io
