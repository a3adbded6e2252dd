// Helpers shared by the DAVIS evaluation tests.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

namespace oceanplus::eval::testing {

// The shared/ folder from OCEANPLUS_SHARED, or "" when it is not set or does not exist.
inline std::string shared_dir() {
  const char* s = std::getenv("OCEANPLUS_SHARED");
  if (s == nullptr || *s == '\0') return "";
  std::error_code ec;
  if (!std::filesystem::is_directory(s, ec)) return "";
  return s;
}

#define REQUIRE_SHARED(dir)                                                                                   \
  const std::string dir = ::oceanplus::eval::testing::shared_dir();                                          \
  if (dir.empty())                                                                                             \
  GTEST_SKIP() << "OCEANPLUS_SHARED is not set (or not a directory): the golden DAVIS data in shared/ is needed; " \
                  "run through meson test or set OCEANPLUS_SHARED=/path/to/shared"

}  // namespace oceanplus::eval::testing
