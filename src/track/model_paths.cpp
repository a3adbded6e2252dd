// Where the default model is looked for. A translation unit of its own: these paths differ per checkout, and the
// LibTorch translation units should stay ccache hits across checkouts.
#include <cstdlib>
#include <filesystem>

#include "track/model_factory.h"

namespace oceanplus::track {

// The file name the default model ships under (models/README.md).
static constexpr const char* kDefaultModelName = "oceanplus-lite.pt";

std::string default_model_file() {
  namespace fs = std::filesystem;
  std::error_code ec;
  const char* env_dir = std::getenv("OCEANPLUS_MODEL_DIR");
  for (const char* dir : {env_dir, OCEANPLUS_MODEL_INSTALL_DIR, OCEANPLUS_MODEL_SOURCE_DIR}) {
    if (!dir || !*dir) continue;
    const fs::path candidate = fs::path(dir) / kDefaultModelName;
    if (fs::is_regular_file(candidate, ec)) return candidate.string();
  }
  return "";
}

}  // namespace oceanplus::track
