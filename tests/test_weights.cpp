// The weight loader: both file formats, wrappers and prefixes, and clear errors for every kind of bad file.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/csrc/jit/serialization/pickle.h>

#include <fstream>
#include <iterator>
#include <random>

#include "common/error.h"
#include "io/weights.h"
#include "nn/oceanplus_net.h"
#include "support/gen_v1.h"
#include "support/golden.h"

namespace oceanplus::testing {
namespace {

std::vector<char> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<char>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// The error message of `fn`, which must throw WeightsError.
template <typename Fn>
std::string weights_error_of(Fn&& fn) {
  try {
    fn();
  } catch (const WeightsError& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "threw a non-WeightsError: " << e.what();
    return "";
  }
  ADD_FAILURE() << "did not throw";
  return "";
}

#define REQUIRE_SHARED_DIR()                                 \
  const std::string shared = shared_dir();                   \
  if (shared.empty()) GTEST_SKIP() << "../shared not found (set OCEANPLUS_SHARED)"

TEST(Weights, LegacyCheckpointWithWrapperAndModulePrefix) {
  REQUIRE_SHARED_DIR();
  const std::string dir = shared + "/golden/oceanplus/";
  const io::StateDict sd = io::load_state_dict(dir + "legacy_ckpt_sample.pth");
  const GoldenDict expected = load_golden(dir + "legacy_ckpt_sample.expected.pt");
  const auto tensors = expected.at("tensors").toGenericDict();
  ASSERT_EQ(sd.tensors.size(), tensors.size());
  for (const auto& item : tensors) {
    const std::string key = item.key().toStringRef();
    ASSERT_TRUE(sd.tensors.count(key)) << "missing " << key;
    const at::Tensor& got = sd.tensors.at(key);
    const at::Tensor want = item.value().toTensor();
    EXPECT_EQ(got.scalar_type(), want.scalar_type()) << key;
    EXPECT_TRUE(at::equal(got, want)) << key;
  }
  EXPECT_EQ(sd.tensors.at("neck.downsample.1.num_batches_tracked").item<int64_t>(), 123456789);
}

TEST(Weights, ZipPlainDictSkipsNonTensors) {
  REQUIRE_SHARED_DIR();
  const io::StateDict sd = io::load_state_dict(shared + "/golden/oceanplus/model_inputs.pt");
  EXPECT_EQ(sd.tensors.size(), 4u);  // z, z_mask, x255, x287; 'provenance' is a dict, not a tensor
  EXPECT_EQ(sd.tensors.at("x287").sizes(), at::IntArrayRef({1, 3, 287, 287}));
}

TEST(Weights, ZipStateDictWrapperAndPrefixesAreStripped) {
  c10::Dict<std::string, at::Tensor> inner;
  inner.insert("module.neck.downsample.0.weight", at::ones({2, 3}));
  inner.insert("module.feature_extractor.x", at::zeros({1}));
  c10::impl::GenericDict outer(c10::StringType::get(), c10::AnyType::get());
  outer.insert(std::string("state_dict"), inner);
  outer.insert(std::string("epoch"), int64_t(7));
  const std::vector<char> bytes = torch::jit::pickle_save(outer);
  const io::StateDict sd = io::load_state_dict_from_bytes(bytes, "wrapped.pt");
  ASSERT_EQ(sd.tensors.size(), 2u);
  EXPECT_TRUE(sd.tensors.count("neck.downsample.0.weight"));
  EXPECT_TRUE(sd.tensors.count("x"));
}

TEST(Weights, MissingFileEmptyFileAndUnknownFormatNameTheFile) {
  EXPECT_NE(weights_error_of([] { io::load_state_dict("/nonexistent/model.pt"); }).find("/nonexistent/model.pt"),
            std::string::npos);
  EXPECT_NE(weights_error_of([] { io::load_state_dict_from_bytes({}, "empty.pt"); }).find("empty"),
            std::string::npos);
  const std::vector<char> text = {'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd'};
  EXPECT_NE(weights_error_of([&] { io::load_state_dict_from_bytes(text, "text.pt"); }).find("unknown format"),
            std::string::npos);
}

TEST(Weights, TruncatedFilesAreErrorsNotCrashes) {
  REQUIRE_SHARED_DIR();
  for (const char* name : {"model_inputs.pt", "legacy_ckpt_sample.pth"}) {
    const std::vector<char> full = read_bytes(shared + "/golden/oceanplus/" + name);
    ASSERT_FALSE(full.empty());
    for (size_t cut : {size_t(1), size_t(3), size_t(64), full.size() / 3, full.size() / 2, full.size() - 100,
                       full.size() - 1}) {
      std::vector<char> part(full.begin(), full.begin() + cut);
      const std::string message = weights_error_of([&] { io::load_state_dict_from_bytes(part, name); });
      EXPECT_NE(message.find(name), std::string::npos) << "cut at " << cut << ": " << message;
    }
  }
}

// Corrupt bytes inside a zip archive: LibTorch either notices (WeightsError) or reads different numbers; it must
// never crash the process.
TEST(Weights, CorruptZipIsAnErrorOrLoads) {
  REQUIRE_SHARED_DIR();
  const std::vector<char> full = read_bytes(shared + "/golden/oceanplus/model_inputs.pt");
  std::mt19937_64 rng(1234);
  for (int i = 0; i < 200; ++i) {
    std::vector<char> bytes = full;
    const size_t where = rng() % bytes.size();
    bytes[where] = static_cast<char>(rng());
    try {
      io::load_state_dict_from_bytes(bytes, "corrupt.pt");
    } catch (const WeightsError& e) {
      EXPECT_NE(std::string(e.what()).find("corrupt.pt"), std::string::npos);
    }
  }
}

TEST(Weights, MissingKeyIsNamed) {
  REQUIRE_SHARED_DIR();
  io::StateDict sd = gen_v1_state_dict(false);
  sd.tensors.erase("connect_model.cls_tower.3.bias");
  const std::string message = weights_error_of([&] { nn::OceanPlusNet::load(sd); });
  EXPECT_NE(message.find("missing key 'connect_model.cls_tower.3.bias'"), std::string::npos) << message;
  EXPECT_NE(message.find("[256]"), std::string::npos) << message;
}

TEST(Weights, WrongShapeNamesKeyAndBothShapes) {
  REQUIRE_SHARED_DIR();
  io::StateDict sd = gen_v1_state_dict(false);
  sd.tensors["features.features.layer2.0.downsample.0.weight"] = at::zeros({512, 256, 1, 1});
  const std::string message = weights_error_of([&] { nn::OceanPlusNet::load(sd); });
  EXPECT_NE(message.find("'features.features.layer2.0.downsample.0.weight'"), std::string::npos) << message;
  EXPECT_NE(message.find("[512, 256, 1, 1]"), std::string::npos) << message;
  EXPECT_NE(message.find("[512, 256, 3, 3]"), std::string::npos) << message;
}

TEST(Weights, NumBatchesTrackedAndUnusedHeadsAreOptional) {
  REQUIRE_SHARED_DIR();
  io::StateDict sd = gen_v1_state_dict(true);
  for (auto it = sd.tensors.begin(); it != sd.tensors.end();) {
    const std::string& k = it->first;
    const bool optional = k.find("num_batches_tracked") != std::string::npos ||
                          k.find("mask_model.m1.") == 0 || k.find("mask_model.iter.sequential.") == 0 ||
                          k.find("mask_model.iter2.m3.") == 0 || k.find("mask_model.b0.") == 0;
    it = optional ? sd.tensors.erase(it) : std::next(it);
  }
  std::shared_ptr<nn::OceanPlusNet> net;
  ASSERT_NO_THROW(net = nn::OceanPlusNet::load(sd));
  EXPECT_EQ(net->decoder(), nn::MaskDecoder::MMS);
}

TEST(Weights, LegacyFileMissingMostKeysNamesTheFirstMissingOne) {
  REQUIRE_SHARED_DIR();
  const std::string path = shared + "/golden/oceanplus/legacy_ckpt_sample.pth";
  const std::string message = weights_error_of([&] { nn::OceanPlusNet::load_file(path); });
  EXPECT_NE(message.find(path), std::string::npos) << message;
  EXPECT_NE(message.find("missing key 'features.features.conv1.weight'"), std::string::npos) << message;
}

TEST(NetworkInputs, WrongCropShapesAreClearErrors) {
  auto net = nn::OceanPlusNet::load(nn::OceanPlusNet::synthetic_weights(nn::MaskDecoder::MSS));
  const at::Tensor z = at::rand({1, 3, 127, 127}) * 255, mask = at::ones({127, 127});
  auto message_of = [](auto&& fn) -> std::string {
    try {
      fn();
    } catch (const Error& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_NE(message_of([&] { net->make_template(at::rand({1, 3, 128, 128}), mask); }).find("= 127; got [1, 3, 128, 128]"),
            std::string::npos);
  EXPECT_NE(message_of([&] { net->make_template(z, at::ones({100, 100})); }).find("127×127"), std::string::npos);
  const nn::TemplateState state = net->make_template(z, mask);
  EXPECT_NE(message_of([&] { net->track(state, at::rand({1, 3, 255, 200})); }).find("got [1, 3, 255, 200]"),
            std::string::npos);
  EXPECT_NE(message_of([&] { net->track(state, at::rand({3, 255, 255})); }).find("search crop"), std::string::npos);
  EXPECT_NE(message_of([&] { net->track(state, at::rand({1, 3, 64, 64})); }).find(">= 127"), std::string::npos);
  EXPECT_NO_THROW(net->track(state, at::rand({1, 3, 255, 255}) * 255));
}

}  // namespace
}  // namespace oceanplus::testing
