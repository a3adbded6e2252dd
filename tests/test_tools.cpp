// The command-line programs as a user runs them: the README's main job, and its errors for bad input.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "support/tool_run.h"

namespace {

using Result = oceanplus::testing::ToolRun;

Result run(const std::string& arguments) {
  const char* binary = std::getenv("OCEANPLUS_FORWARD_BIN");
  const char* source = std::getenv("OCEANPLUS_SOURCE_DIR");
  if (!binary || !source) return Result{};
  return oceanplus::testing::run_tool(binary, arguments, source);
}

#define REQUIRE_BINARY()                                                        \
  if (!std::getenv("OCEANPLUS_FORWARD_BIN") || !std::getenv("OCEANPLUS_SOURCE_DIR")) \
  GTEST_SKIP() << "run through meson test (OCEANPLUS_FORWARD_BIN not set)"

TEST(ForwardTool, MainJobRunsOnTheShippedSampleFrames) {
  REQUIRE_BINARY();
  const std::string mask = testing::TempDir() + "/forward-mask.png";
  const Result r = run("--mask-out '" + mask + "'");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("score map 25x25"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("mask 255x255"), std::string::npos) << r.output;
  std::ifstream png(mask, std::ios::binary);
  char magic[4] = {};
  png.read(magic, 4);
  EXPECT_EQ(std::string(magic + 1, 3), "PNG");
}

TEST(ForwardTool, HelpDocumentsEveryOption) {
  REQUIRE_BINARY();
  const Result r = run("--help");
  EXPECT_EQ(r.status, 0);
  for (const char* option : {"--template-image", "--search-image", "--box", "--model", "--decoder", "--threads",
                             "--mask-out"}) {
    EXPECT_NE(r.output.find(option), std::string::npos) << option;
  }
}

TEST(ForwardTool, BadInputIsAClearErrorNotACrash) {
  REQUIRE_BINARY();
  struct Case {
    const char* arguments;
    const char* message;
  } cases[] = {
      {"--template-image /nonexistent.jpg", "cannot read image '/nonexistent.jpg'"},
      {"--box 10,10,0,20", "zero size"},
      {"--box 5000,5000,20,20", "outside the first frame"},
      {"--box 1,2,3", "--box takes x,y,w,h"},
      {"--model /nonexistent.pt", "/nonexistent.pt: cannot open the file"},
      {"--model README.md", "README.md: unknown format"},
      {"--decoder big", "--decoder takes mss or mms"},
      {"--frobnicate", "unknown option '--frobnicate'"},
  };
  for (const Case& c : cases) {
    const Result r = run(c.arguments);
    EXPECT_EQ(r.status, 1) << c.arguments << ": " << r.output;
    EXPECT_NE(r.output.find(c.message), std::string::npos) << c.arguments << ": " << r.output;
  }
}

}  // namespace
