// Reads one YAML document into a Deployment, validating it against the schema.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "lmrt/core/config.hpp"

namespace lmrt {

class DeploymentReader {
 public:
  // See Deployment::parse. Throws CONFIG_ERROR "origin:line: key: problem".
  static Deployment read(std::string_view yaml, std::string origin, std::filesystem::path base_dir);
};

namespace config {
// `p` resolved against `base_dir` when relative, lexically normalized; "" stays "".
std::filesystem::path resolve_path(const std::filesystem::path& base_dir, const std::string& p);
}  // namespace config

}  // namespace lmrt
