#include "lmrt/core/bundled_model.hpp"

#include <dlfcn.h>

#include <cstdlib>
#include <vector>

namespace lmrt {
namespace fs = std::filesystem;
namespace {

// ../share/lmrt/models beside the module that holds this code (bin/lmrt or lib/liblmrt.so), so that an
// installed tree finds its model wherever it was installed.
fs::path beside_module() {
  Dl_info info{};
  if (!dladdr(reinterpret_cast<void*>(&beside_module), &info) || !info.dli_fname) return {};
  std::error_code ec;
  const fs::path module = fs::canonical(info.dli_fname, ec);
  if (ec) return {};
  return module.parent_path().parent_path() / "share" / "lmrt" / "models" / kBundledModelName;
}

std::vector<fs::path> candidates() {
  std::vector<fs::path> out;
  if (const char* env = std::getenv("LMRT_DEFAULT_MODEL"); env && *env) out.emplace_back(env);
  if (fs::path p = beside_module(); !p.empty()) out.push_back(p);
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
