// Fuzzing parse_region: random and mutated lines must either parse or throw oceanplus::Error, never crash or
// allocate without bound; whatever parses must format, rasterize and overlap without trouble.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "common/error.h"
#include "vot/overlap.h"
#include "vot/region.h"

namespace oceanplus::vot {
namespace {

struct Stats {
  int parsed = 0;
  int rejected = 0;
};

void exercise(const std::string& line, Stats& stats) {
  Region r;
  try {
    r = parse_region(line, std::int64_t{1} << 20);
  } catch (const Error&) {
    ++stats.rejected;
    return;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "non-Error exception for '" << line << "': " << e.what();
    return;
  }
  ++stats.parsed;
  const cv::Size img(64, 48);
  try {
    const std::string text = format_region(r);
    (void)region_bounds(r);
    (void)is_empty(r);
    const cv::Mat full = to_full_mask(r, img);
    ASSERT_EQ(full.size(), img);
    const double o = calculate_overlap(r, Region::rectangle(10, 10, 20, 20), img);
    ASSERT_GE(o, 0.0);
    ASSERT_LE(o, 1.0);
    const double s = calculate_overlap(r, r, img, EmptyOverlap::kHeadOne);
    ASSERT_TRUE(s == 0.0 || s == 1.0) << line;
    // What we write, we read back.
    const Region back = parse_region(text, std::int64_t{1} << 40);
    if (r.type == Region::Type::kMask) {
      ASSERT_EQ(cv::countNonZero(to_full_mask(back, img) != full), 0) << line;
    } else {
      ASSERT_EQ(back.type, r.type) << line;
    }
  } catch (const Error& e) {
    ADD_FAILURE() << "'" << line << "' parsed but then failed: " << e.what();
  }
}

TEST(VotFuzz, RandomLines) {
  std::mt19937 rng(20200609);
  const std::string alphabet = "0123456789,,,,..--+eEmMnaifx \t\r\n";
  std::uniform_int_distribution<int> len(0, 60), pick(0, int(alphabet.size()) - 1);
  Stats stats;
  for (int it = 0; it < 20000; ++it) {
    std::string line;
    const int n = len(rng);
    for (int i = 0; i < n; ++i) line += alphabet[pick(rng)];
    if (it % 3 == 0) line = "m" + line;
    exercise(line, stats);
  }
  EXPECT_GT(stats.rejected, 0);
}

TEST(VotFuzz, MutatedValidLines) {
  std::mt19937 rng(4910420);
  const std::vector<std::string> seeds = {
      "m5,7,3,2,0,2,3,1", "m0,0,0,0,0", "m10,12,20,10,3,17,2,18,60,100", "1", "0", "2", "nan",
      "1.5,2,30.25,40", "0,0,10,0,10,5", "-3.5,2e1,10,0,10,5,4,4", "m-2,-2,4,4,0,16", "1,2,nan,4"};
  const std::string bytes = "0123456789,.-+emn \x00\xff";
  std::uniform_int_distribution<int> op(0, 5), byte(0, int(bytes.size()) - 1), nmut(1, 4);
  Stats stats;
  for (int it = 0; it < 20000; ++it) {
    std::string line = seeds[it % seeds.size()];
    const int m = nmut(rng);
    for (int k = 0; k < m; ++k) {
      const std::size_t pos = line.empty() ? 0 : std::uniform_int_distribution<std::size_t>(0, line.size() - 1)(rng);
      switch (op(rng)) {
        case 0:
          if (!line.empty()) line[pos] = bytes[byte(rng)];
          break;
        case 1:
          line.insert(line.begin() + pos, bytes[byte(rng)]);
          break;
        case 2:
          if (!line.empty()) line.erase(pos, 1);
          break;
        case 3:
          line.insert(pos, "9999999999");
          break;
        case 4:
          line.insert(pos, ",");
          break;
        default:
          line.insert(pos, "-");
          break;
      }
    }
    exercise(line, stats);
  }
  EXPECT_GT(stats.parsed, 1000);
  EXPECT_GT(stats.rejected, 1000);
}

TEST(VotFuzz, HostileMaskHeaders) {
  const std::vector<std::string> hostile = {
      "m0,0,1000000000,1000000000,0,1",
      "m0,0,536870912,536870912",
      "m0,0,65536,65536,0,1",
      "m0,0,1048577,1",
      "m0,0,9223372036854775807,9223372036854775807",
      "m0,0,-9223372036854775808,-1",
      "m0,0,3037000500,3037000500",
      "m0,0,4,4,9223372036854775807,9223372036854775807,9223372036854775807",
      "m0,0,4,4,16,1",
      "m0,0,4,4,-1,17",
      "m-9223372036854775808,0,1,1,0,1",
      "m2147483647,2147483647,1,1,0,1",
      "m0,0,1,1,0,1,0,0,0,0,0,0,1",
      "m,,,",
      "m",
      "M0,0,1,1,0,1,x",
  };
  for (const auto& line : hostile) {
    EXPECT_THROW(parse_region(line, std::int64_t{1} << 20), Error) << line;
  }
  // Near the bound is fine, and the mask is placed where it says, clipped by the image.
  const Region r = parse_region("m100000,100000,1024,1024,0,5", std::int64_t{1} << 20);
  EXPECT_TRUE(to_full_mask(r, cv::Size(64, 48)).empty() == false);
  EXPECT_EQ(cv::countNonZero(to_full_mask(r, cv::Size(64, 48))), 0);
  // Hostile shapes rasterize within the image.
  for (const std::string line : {"-1e308,-1e308,1e308,1e308", "1e308,1e308,-1e308,-1e308,5,5", "inf,0,5,5",
                                 "0,0,inf,0,0,inf", "-inf,-inf,inf,-inf,inf,inf,-inf,inf"}) {
    Region s;
    ASSERT_NO_THROW(s = parse_region(line)) << line;
    EXPECT_NO_THROW(calculate_overlap(s, Region::rectangle(0, 0, 10, 10), cv::Size(64, 48))) << line;
  }
}

}  // namespace
}  // namespace oceanplus::vot
