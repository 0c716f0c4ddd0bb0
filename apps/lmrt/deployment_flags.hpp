// Command-line flags that become a deployment: `--config FILE` first, then the
// positional model path, then every flag given (flags win over the file).
// The flags come from the config schema (Deployment::schema()), so each one has
// the LMDeploy name, type check and range of its config key.
#pragma once

#include <CLI/CLI.hpp>

#include <memory>
#include <string>
#include <vector>

#include "lmrt/core/config.hpp"

namespace lmrt::app {

class DeploymentFlags {
 public:
  // Registers --config, --log-level and the flags of the config sections named
  // by `prefixes` (e.g. {"model.", "engine."}) on `cmd`. `model_positional`
  // adds the MODEL argument (model.path).
  DeploymentFlags(CLI::App* cmd, std::vector<std::string> prefixes, bool model_positional);

  // The deployment: the --config file (or defaults), then MODEL, then flags.
  // Throws lmrt::Error naming the file:line or the flag.
  Deployment build() const;

  // build(), and when neither MODEL nor the file names a model, the bundled one (lmrt-chat-tiny):
  // what `lmrt chat`, `generate` and `serve api_server` run with no arguments.
  Deployment build_or_bundled_model() const;

  const std::string& model_path() const { return model_path_; }

 private:
  struct Bound {
    std::string key;
    std::string flag;
    bool is_list = false;
    bool is_bool = false;
    CLI::Option* option = nullptr;
    std::string value;
    std::vector<std::string> values;
    bool flag_value = false;
  };
  std::string config_file_;
  std::string model_path_;
  std::vector<std::unique_ptr<Bound>> bound_;
};

}  // namespace lmrt::app
