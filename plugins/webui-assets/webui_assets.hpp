// The embedded web chat page: look a file up by its URL path ("/index.html").
#pragma once

#include <string_view>

namespace lmrt::webui {

struct Asset {
  const char* path;       // "/index.html"
  std::string_view data;  // the file's bytes
  const char* mime;       // "text/html; charset=utf-8"
};

// nullptr when there is no such file; "/" means "/index.html".
const Asset* find_asset(std::string_view path);

}  // namespace lmrt::webui
