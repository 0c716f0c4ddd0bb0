#include "deployment_flags.hpp"

#include <algorithm>
#include <filesystem>

#include "lmrt/core/bundled_model.hpp"
#include "lmrt/core/error.hpp"

namespace lmrt::app {
namespace {

// lmrt's own flags for keys LMDeploy has no flag for.
const std::vector<std::pair<std::string, std::string>> kExtraFlags = {
    {"engine.num_threads", "--num-threads"},
    {"engine.device_id", "--device-id"},
    {"engine.max_kv_blocks", "--max-kv-blocks"},
};

bool has_prefix(const std::string& key, const std::vector<std::string>& prefixes) {
  return std::any_of(prefixes.begin(), prefixes.end(), [&](const std::string& p) { return key.rfind(p, 0) == 0; });
}

}  // namespace

DeploymentFlags::DeploymentFlags(CLI::App* cmd, std::vector<std::string> prefixes, bool model_positional) {
  cmd->add_option("--config", config_file_, "deployment YAML file; flags override it")->check(CLI::ExistingFile);
  if (model_positional)
    cmd->add_option("model_path", model_path_, "Hugging Face model folder (overrides model.path)");
  prefixes.push_back("log_level");
  for (const ConfigKeyInfo& k : Deployment::schema()) {
    std::string flag = k.lmdeploy_flag;
    for (const auto& [key, extra] : kExtraFlags)
      if (key == k.key) flag = extra;
    if (flag.rfind("--", 0) != 0 || !has_prefix(k.key, prefixes)) continue;
    auto b = std::make_unique<Bound>();
    b->key = k.key;
    b->flag = flag;
    b->is_list = k.type.find("list") != std::string::npos;
    b->is_bool = k.type == "boolean";
    std::string help = k.help + " [" + k.key + (k.default_value.empty() ? "" : ", default " + k.default_value) +
                       (k.range.empty() ? "" : ", " + k.range) + "]";
    if (b->is_bool)
      b->option = cmd->add_flag(flag, b->flag_value, help);
    else if (b->is_list)
      b->option = cmd->add_option(flag, b->values, help);
    else
      b->option = cmd->add_option(flag, b->value, help);
    bound_.push_back(std::move(b));
  }
}

Deployment DeploymentFlags::build() const {
  Deployment d = config_file_.empty() ? Deployment::defaults() : Deployment::load_file(config_file_);
  if (!model_path_.empty()) d.set("model.path", model_path_, "model_path");
  for (const auto& b : bound_) {
    if (b->option->count() == 0) continue;
    if (b->is_bool)
      d.set(b->key, b->flag_value ? "true" : "false", b->flag);
    else if (b->is_list)
      d.set_list(b->key, b->values, b->flag);
    else
      d.set(b->key, b->value, b->flag);
  }
  return d;
}

Deployment DeploymentFlags::build_or_bundled_model() const {
  Deployment d = build();
  if (!d.model().path.empty()) return d;
  const auto bundled = bundled_model();
  if (!bundled)
    throw Error(LMRT_STATUS_NOT_FOUND, std::string("no model given and the bundled ") + kBundledModelName +
                                           " was not found (looked in " + bundled_model_search_paths() +
                                           "): pass a model folder, e.g. `lmrt chat MODEL_DIR`");
  d.set("model.path", bundled->string(), "bundled model");
  return d;
}

}  // namespace lmrt::app
