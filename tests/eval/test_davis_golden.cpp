// The evaluator against the official davis2017-evaluation numbers in shared/golden/davis_eval/expected.json:
// every method, every sequence, per-frame J and F, per-sequence statistics and global numbers, within 1e-9.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "eval/davis_eval.h"
#include "eval/label_png.h"
#include "eval_test_util.h"

namespace oceanplus::eval {
namespace {

constexpr double kTol = 1e-9;

TEST(DavisGolden, EveryMethodSequenceFrameAndStatistic) {
  REQUIRE_SHARED(shared);
  const std::string golden = shared + "/golden/davis_eval";
  std::ifstream in(golden + "/expected.json");
  ASSERT_TRUE(in) << golden << "/expected.json";
  const nlohmann::json expected = nlohmann::json::parse(in);
  const Dataset dataset = Dataset::open(shared + "/data/davis2016");

  std::vector<std::string> sequences;
  for (const auto& [name, _] : expected["sequences"].items()) sequences.push_back(name);
  ASSERT_EQ(sequences.size(), 3u);

  int methods = 0;
  for (const auto& [method, m] : expected["methods"].items()) {
    SCOPED_TRACE("method " + method);
    ++methods;
    const EvalResult result = evaluate_results(dataset, sequences, golden + "/results/" + method);
    ASSERT_EQ(result.sequences.size(), sequences.size());
    for (const auto& seq : result.sequences) {
      SCOPED_TRACE("sequence " + seq.name);
      ASSERT_EQ(seq.objects.size(), 1u);
      const ObjectResult& o = seq.objects[0];
      const nlohmann::json& e = m["per_sequence"][seq.name];
      const nlohmann::json& frames = expected["sequences"][seq.name]["frames_scored"];
      ASSERT_EQ(o.frames.size(), frames.size());
      for (std::size_t i = 0; i < frames.size(); ++i) EXPECT_EQ(o.frames[i], frames[i].get<std::string>());
      ASSERT_EQ(o.J.size(), e["per_frame_J"].size());
      ASSERT_EQ(o.F.size(), e["per_frame_F"].size());
      for (std::size_t i = 0; i < o.J.size(); ++i) {
        EXPECT_NEAR(o.J[i], e["per_frame_J"][i].get<double>(), kTol) << "J, frame " << o.frames[i];
        EXPECT_NEAR(o.F[i], e["per_frame_F"][i].get<double>(), kTol) << "F, frame " << o.frames[i];
      }
      EXPECT_NEAR(o.j.mean, e["J_M"].get<double>(), kTol);
      EXPECT_NEAR(o.j.recall, e["J_O"].get<double>(), kTol);
      EXPECT_NEAR(o.j.decay, e["J_D"].get<double>(), kTol);
      EXPECT_NEAR(o.f.mean, e["F_M"].get<double>(), kTol);
      EXPECT_NEAR(o.f.recall, e["F_O"].get<double>(), kTol);
      EXPECT_NEAR(o.f.decay, e["F_D"].get<double>(), kTol);
      EXPECT_NEAR(o.jf(), e["JF"].get<double>(), kTol);
    }
    const nlohmann::json& g = m["global"];
    EXPECT_NEAR(result.global.jf_mean, g["J&F-Mean"].get<double>(), kTol);
    EXPECT_NEAR(result.global.j_mean, g["J-Mean"].get<double>(), kTol);
    EXPECT_NEAR(result.global.j_recall, g["J-Recall"].get<double>(), kTol);
    EXPECT_NEAR(result.global.j_decay, g["J-Decay"].get<double>(), kTol);
    EXPECT_NEAR(result.global.f_mean, g["F-Mean"].get<double>(), kTol);
    EXPECT_NEAR(result.global.f_recall, g["F-Recall"].get<double>(), kTol);
    EXPECT_NEAR(result.global.f_decay, g["F-Decay"].get<double>(), kTol);
    EXPECT_EQ(result.global.n_objects, 3u);
  }
  EXPECT_EQ(methods, 7);
}

// The in-memory API (what the tracking mode calls) gives the same numbers as the PNG path.
TEST(DavisGolden, InMemoryPredictionsMatchTheFilePath) {
  REQUIRE_SHARED(shared);
  const std::string results = shared + "/golden/davis_eval/results/mixed";
  const Dataset dataset = Dataset::open(shared + "/data/davis2016");
  const Sequence seq = dataset.sequence("car-shadow");
  std::vector<cv::Mat> predictions(seq.frames.size());  // first and last stay empty: not scored
  for (std::size_t i = 1; i + 1 < seq.frames.size(); ++i)
    predictions[i] = read_label_png(results + "/car-shadow/" + seq.frames[i] + ".png").labels;
  const SequenceResult memory = score_sequence(seq, predictions);
  const SequenceResult files = score_sequence_results(seq, results);
  ASSERT_EQ(memory.objects.size(), 1u);
  EXPECT_EQ(memory.objects[0].J, files.objects[0].J);
  EXPECT_EQ(memory.objects[0].F, files.objects[0].F);
  // Binary 0/1 id maps give the same as 0/255 masks.
  for (auto& p : predictions)
    if (!p.empty()) p = p / 255;
  EXPECT_EQ(score_sequence(seq, predictions).objects[0].F, files.objects[0].F);
  // A wrong frame count is an error, not a silent mis-alignment.
  predictions.pop_back();
  EXPECT_THROW(score_sequence(seq, predictions), Error);
}

TEST(DavisGolden, DatasetDiscoveryAndGroundTruth) {
  REQUIRE_SHARED(shared);
  const Dataset dataset = Dataset::open(shared + "/data/davis2016");
  EXPECT_EQ(dataset.sequence_names().size(), 10u);
  const Sequence seq = dataset.sequence("blackswan");
  EXPECT_EQ(seq.frames.size(), 50u);
  EXPECT_EQ(seq.frames.front(), "00000");
  EXPECT_TRUE(std::filesystem::exists(seq.image_path(0))) << seq.image_path(0);
  const GroundTruth gt = load_ground_truth(seq);
  EXPECT_TRUE(gt.binary);
  EXPECT_EQ(gt.n_objects, 1);
  double mx = 0;
  cv::minMaxLoc(gt.labels[3], nullptr, &mx);
  EXPECT_EQ(mx, 1.0);
  EXPECT_EQ(dataset.select("dog, blackswan"), (std::vector<std::string>{"dog", "blackswan"}));
  try {
    dataset.select("dog,no-such-seq");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no-such-seq"), std::string::npos) << e.what();
  }
  const std::string list = ::testing::TempDir() + "/davis_val.txt";
  std::ofstream(list) << "car-shadow\n\ndog\n";
  EXPECT_EQ(dataset.select(list), (std::vector<std::string>{"car-shadow", "dog"}));
  EXPECT_THROW(Dataset::open(shared + "/no/such/dataset"), Error);
}

TEST(DavisGolden, MissingResultFileIsNamed) {
  REQUIRE_SHARED(shared);
  namespace fs = std::filesystem;
  const Dataset dataset = Dataset::open(shared + "/data/davis2016");
  const fs::path tmp = fs::path(::testing::TempDir()) / "davis_missing_results";
  fs::remove_all(tmp);
  fs::create_directories(tmp / "car-shadow");
  const fs::path src = fs::path(shared) / "golden/davis_eval/results/identity/car-shadow";
  for (const auto& e : fs::directory_iterator(src))
    if (e.path().filename() != "00017.png") fs::copy_file(e.path(), tmp / "car-shadow" / e.path().filename());
  try {
    evaluate_results(dataset, {"car-shadow"}, tmp);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find((tmp / "car-shadow" / "00017.png").string()), std::string::npos) << e.what();
  }
  // The first and the last frame are not read at all.
  fs::copy_file(src / "00017.png", tmp / "car-shadow" / "00017.png");
  fs::remove(tmp / "car-shadow" / "00000.png");
  fs::remove(tmp / "car-shadow" / "00039.png");
  const EvalResult r = evaluate_results(dataset, {"car-shadow"}, tmp);
  EXPECT_DOUBLE_EQ(r.global.jf_mean, 1.0);
  fs::remove_all(tmp);
}

}  // namespace
}  // namespace oceanplus::eval
