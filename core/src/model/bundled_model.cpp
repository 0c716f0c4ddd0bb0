#include "lmrt/core/bundled_model.hpp"

#include <cstdlib>
#include <vector>

namespace lmrt {
namespace fs = std::filesystem;
namespace {

std::vector<fs::path> candidates() {
  std::vector<fs::path> out;
  if (const char* env = std::getenv("LMRT_DEFAULT_MODEL"); env && *env) out.emplace_back(env);
  out.push_back(fs::path(LMRT_INSTALL_MODEL_DIR) / kBundledModelName);
  out.push_back(fs::path(LMRT_SOURCE_MODEL_DIR) / kBundledModelName);
  return out;
}

}  // namespace

std::optional<fs::path> bundled_model() {
  for (const fs::path& p : candidates()) {
    std::error_code ec;
    if (fs::is_regular_file(p / "config.json", ec)) return p;
  }
  return std::nullopt;
}

std::string bundled_model_search_paths() {
  std::string s;
  for (const fs::path& p : candidates()) s += (s.empty() ? "" : ", ") + p.string();
  return s;
}

}  // namespace lmrt
