// Where the default model is looked for. Kept apart from model_loader.cpp: these paths differ per checkout, and the
// LibTorch translation unit should stay a ccache hit across checkouts.
#include <cstdlib>
#include <filesystem>

#include "model_loader.h"

namespace oceanplus::gst {

// The file name the default model ships under (models/README.md).
static constexpr const char* kDefaultModelName = "oceanplus-default.pt";

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

}  // namespace oceanplus::gst
