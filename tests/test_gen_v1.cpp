// The test-side weight generator must reproduce the golden weights bit for bit, or no parity test means anything.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "support/gen_v1.h"

namespace oceanplus::testing {
namespace {

uint64_t parse_hex(const std::string& s) { return std::stoull(s, nullptr, 16); }

class GenV1 : public ::testing::Test {
 protected:
  void SetUp() override {
    shared_ = shared_dir();
    if (shared_.empty()) GTEST_SKIP() << "../shared not found (set OCEANPLUS_SHARED): golden weights check skipped";
    std::ifstream in(shared_ + "/golden/oceanplus/weights_check.json");
    ASSERT_TRUE(in) << "weights_check.json missing";
    check_ = nlohmann::json::parse(in);
  }
  std::string shared_;
  nlohmann::json check_;
};

TEST_F(GenV1, StreamVectorsMatch) {
  for (const auto& [name, vec] : check_["vectors"].items()) {
    const std::string key = name == "<empty string>" ? "" : name;
    const uint64_t seed = fnv1a64(key);
    EXPECT_EQ(seed, parse_hex(vec["fnv1a64"].get<std::string>())) << name;
    SplitMix64 rng(seed);
    for (int i = 0; i < 4; ++i) {
      const uint64_t x = rng.next();
      EXPECT_EQ(x, parse_hex(vec["splitmix64_first4"][i].get<std::string>())) << name << " output " << i;
      EXPECT_EQ(uniform_from_bits(x), std::strtod(vec["u_first4"][i].get<std::string>().c_str(), nullptr))
          << name << " u " << i;
    }
  }
}

TEST_F(GenV1, EveryKeyBitExact) {
  const auto keys = read_section_a_keys(shared_ + "/reference/oceanplus_state_dict_keys.txt", /*mms=*/true);
  ASSERT_EQ(keys.size(), 478u);
  const auto tensors = generate_gen_v1(keys);
  int64_t total_float = 0;
  for (const GeneratedTensor& t : tensors) {
    const auto& want = check_["per_key"][t.key];
    ASSERT_FALSE(want.is_null()) << t.key;
    EXPECT_EQ(t.kind, want["kind"].get<std::string>()) << t.key;
    EXPECT_EQ(bits_checksum(t), parse_hex(want["bits_checksum"].get<std::string>())) << t.key;
    const auto& first = want["first"];
    for (size_t i = 0; i < first.size(); ++i) {
      const double got = t.is_int64 ? static_cast<double>(t.ints[i]) : static_cast<double>(t.values[i]);
      EXPECT_EQ(got, first[i].get<double>()) << t.key << "[" << i << "]";
    }
    if (!t.is_int64) total_float += static_cast<int64_t>(t.values.size());
  }
  EXPECT_EQ(total_float, check_["total_float_params_mms"].get<int64_t>());
}

TEST_F(GenV1, MssSubsetHas430Keys) {
  const auto keys = read_section_a_keys(shared_ + "/reference/oceanplus_state_dict_keys.txt", /*mms=*/false);
  EXPECT_EQ(keys.size(), 430u);
}

}  // namespace
}  // namespace oceanplus::testing
