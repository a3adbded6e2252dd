// The deterministic weight generator "gen-v1" of shared/golden/oceanplus/README.md §1, so that parity tests can
// rebuild, bit for bit, the weights the golden outputs were produced with. No torch here.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace oceanplus::testing {

uint64_t fnv1a64(std::string_view bytes);

// splitmix64 from a seed: the first call returns the output for state = seed + gamma.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t next();

 private:
  uint64_t state_;
};

// u = ((int64)(x >> 11) - 2^52) / 2^52, exact and uniform in [-1, 1).
double uniform_from_bits(uint64_t x);

struct KeySpec {
  std::string key;
  std::vector<int64_t> shape;
  bool is_int64 = false;
};

struct GeneratedTensor {
  std::string key;
  std::string kind;  // special, bn_nbt, bn_weight, bn_bias, bn_mean, bn_var, conv_weight, conv_bias
  std::vector<int64_t> shape;
  bool is_int64 = false;
  std::vector<float> values;     // float32 tensors
  std::vector<int64_t> ints;     // int64 tensors (num_batches_tracked)
};

// Generates every key of `keys` (the model's key set decides the BN rules). Throws std::runtime_error for a key that
// matches no rule.
std::vector<GeneratedTensor> generate_gen_v1(const std::vector<KeySpec>& keys);

// (Σ b_i·(2i+1)) mod 2^64 over the float32 bit patterns (or int64 values).
uint64_t bits_checksum(const GeneratedTensor& tensor);

// Section A of reference/oceanplus_state_dict_keys.txt (MMS, 478 keys); with mms=false the 430-key MSS subset.
std::vector<KeySpec> read_section_a_keys(const std::string& path, bool mms);

// The shared/ folder: $OCEANPLUS_SHARED, else <source root>/../shared (source root from $OCEANPLUS_SOURCE_DIR).
// Empty when it does not exist.
std::string shared_dir();

}  // namespace oceanplus::testing
