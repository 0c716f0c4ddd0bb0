#include "webui_assets.hpp"

namespace lmrt::webui {

extern const Asset kAssets[];

const Asset* find_asset(std::string_view path) {
  if (path.empty() || path == "/") path = "/index.html";
  for (const Asset* a = kAssets; a->path; ++a)
    if (path == a->path) return a;
  return nullptr;
}

}  // namespace lmrt::webui
