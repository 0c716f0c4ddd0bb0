// Plain words for cpp-httplib's client errors (its own names are terse: "Connection").
// Header-only; shared by the webui proxy and the api-client frontend.
#pragma once

#include <httplib.h>

#include <string>

namespace lmrt::webui {

inline std::string http_error_text(httplib::Error e) {
  switch (e) {
    case httplib::Error::Connection:
      return "connection refused or host unreachable";
    case httplib::Error::ConnectionTimeout:
      return "timed out while connecting";
    case httplib::Error::Read:
      return "the connection broke or timed out while reading the answer";
    case httplib::Error::Write:
      return "the connection broke while sending the request";
    case httplib::Error::Canceled:
      return "the request was cancelled";
    case httplib::Error::BindIPAddress:
      return "cannot bind the local address";
    default:
      return httplib::to_string(e);
  }
}

}  // namespace lmrt::webui
