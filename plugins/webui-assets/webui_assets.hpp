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

// The Content-Security-Policy to send with the page: it loads only its own files
// and talks only to its own origin (v1/*), so model text can never pull anything in.
inline constexpr const char* kContentSecurityPolicy =
    "default-src 'self'; img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

}  // namespace lmrt::webui
