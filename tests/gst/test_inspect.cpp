// gst-inspect-1.0 on the plugin and its three elements, run as a subprocess with the test environment
// (GST_PLUGIN_PATH, GST_REGISTRY, ... are inherited): every documented property is listed with a non-empty
// description, every signal and action signal is listed, and the plugin lists all of its elements.
#include <gtest/gtest.h>

#include "support/tool_run.h"

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

namespace {

using Result = oceanplus::testing::ToolRun;

// Runs `gst-inspect-1.0 ARG` (stdout and stderr together, no colours) and returns its exit status and output.
Result inspect(const std::string& arg) { return oceanplus::testing::run_tool("gst-inspect-1.0", "--no-colors " + arg); }

bool have_gst_inspect() { return std::system("command -v gst-inspect-1.0 >/dev/null 2>&1") == 0; }

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

// The blurb that gst-inspect prints for a property: the text after "name : " on the property's own line
// (the "  name   : blurb" line in the "Element Properties:" section). Empty when the property is not listed.
std::string property_blurb(const std::string& output, const std::string& name, bool* found) {
  *found = false;
  bool in_properties = false;
  for (const std::string& line : lines_of(output)) {
    if (line.rfind("Element Properties:", 0) == 0) {
      in_properties = true;
      continue;
    }
    if (!in_properties) continue;
    if (!line.empty() && line[0] != ' ') break;  // the next section
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    if (trim(line.substr(0, colon)) != name) continue;
    *found = true;
    return trim(line.substr(colon + 1));
  }
  return "";
}

// Whether a signal line ("  "name" :  ...") appears in the output.
bool has_signal(const std::string& output, const std::string& name) {
  return output.find("\"" + name + "\"") != std::string::npos;
}

void expect_properties(const std::string& element, const std::vector<std::string>& properties) {
  ASSERT_TRUE(have_gst_inspect()) << "gst-inspect-1.0 is not on PATH (install gstreamer1.0-tools)";
  const Result r = inspect(element);
  ASSERT_EQ(r.status, 0) << "gst-inspect-1.0 " << element << " failed:\n" << r.output;
  for (const std::string& property : properties) {
    bool found = false;
    const std::string blurb = property_blurb(r.output, property, &found);
    EXPECT_TRUE(found) << element << ": property '" << property << "' not listed by gst-inspect-1.0";
    EXPECT_FALSE(found && blurb.empty()) << element << ": property '" << property << "' has no description";
  }
}

TEST(Inspect, TrackProperties) {
  expect_properties("oceanplustrack",
                    {"model", "variant", "preset", "device", "precision", "frame-step", "threads", "mask-threshold", "lost-threshold",
                     "lost-patience", "max-targets", "cyclic-init", "init-box", "init-mask", "roi-init",
                     "roi-match-iou", "click-to-track", "click-box-size", "target-count"});
}

TEST(Inspect, TrackSignals) {
  ASSERT_TRUE(have_gst_inspect()) << "gst-inspect-1.0 is not on PATH (install gstreamer1.0-tools)";
  const Result r = inspect("oceanplustrack");
  ASSERT_EQ(r.status, 0) << r.output;
  for (const char* signal : {"add-box", "add-mask", "remove-target", "reset"}) {
    EXPECT_TRUE(has_signal(r.output, signal)) << "oceanplustrack: signal '" << signal << "' not listed";
  }
  EXPECT_NE(r.output.find("Element Actions:"), std::string::npos) << r.output;
  bool found = false;
  property_blurb(r.output, "target-count", &found);
  EXPECT_TRUE(found);
  // target-count is read-only: its flags line says "readable" and not "writable".
  const auto at = r.output.find("target-count");
  ASSERT_NE(at, std::string::npos);
  const auto flags = r.output.find("flags:", at);
  ASSERT_NE(flags, std::string::npos);
  const std::string flags_line = r.output.substr(flags, r.output.find('\n', flags) - flags);
  EXPECT_NE(flags_line.find("readable"), std::string::npos) << flags_line;
  EXPECT_EQ(flags_line.find("writable"), std::string::npos) << flags_line;
}

TEST(Inspect, OverlayElement) {
  ASSERT_TRUE(have_gst_inspect()) << "gst-inspect-1.0 is not on PATH (install gstreamer1.0-tools)";
  const Result r = inspect("oceanplusoverlay");
  ASSERT_EQ(r.status, 0) << "gst-inspect-1.0 oceanplusoverlay failed:\n" << r.output;
  EXPECT_NE(r.output.find("Element Properties:"), std::string::npos) << r.output;
}

TEST(Inspect, ExportProperties) { expect_properties("oceanplusexport", {"location"}); }

TEST(Inspect, PluginListsElements) {
  ASSERT_TRUE(have_gst_inspect()) << "gst-inspect-1.0 is not on PATH (install gstreamer1.0-tools)";
  const Result r = inspect("oceanplus");
  ASSERT_EQ(r.status, 0) << "gst-inspect-1.0 oceanplus failed:\n" << r.output;
  for (const char* element : {"oceanplustrack", "oceanplusoverlay", "oceanplusexport"}) {
    EXPECT_NE(r.output.find(element), std::string::npos) << "the plugin does not list " << element << ":\n"
                                                         << r.output;
  }
  EXPECT_NE(r.output.find("3 features"), std::string::npos) << r.output;
}

}  // namespace
