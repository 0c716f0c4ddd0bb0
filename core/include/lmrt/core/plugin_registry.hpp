// Finding, loading and choosing plugins (ABI rules 1, 2, 8, 10).
//
// Plugins are shared objects named liblmrt-<name>.so. They are looked for in, in
// order: the deployment's plugins.search_paths, the folders in LMRT_PLUGIN_PATH
// (colon-separated), lib/lmrt/plugins of the tree holding the core (found from the
// lmrt executable in bin/ or from liblmrt.so in lib/; the build and install trees
// share that layout), and the install directory. A plugin is loaded with
// RTLD_NOW | RTLD_LOCAL through Boost.DLL and stays loaded until the registry is
// destroyed, which happens after everything the plugins made is gone.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "lmrt/abi.h"
#include "lmrt/host.h"

namespace lmrt {

const char* plugin_kind_name(uint32_t kind) noexcept;
std::string version_string(uint32_t version);

// One loaded plugin module.
struct LoadedPlugin {
  std::filesystem::path path;
  lmrt_plugin_descriptor descriptor{};  // copied from the plugin; its pointers point into the module
  std::shared_ptr<void> module;         // keeps the module loaded

  std::string name() const { return descriptor.name ? descriptor.name : ""; }
  lmrt_plugin_kind kind() const { return static_cast<lmrt_plugin_kind>(descriptor.kind); }
  template <class Api>
  const Api* api() const { return static_cast<const Api*>(descriptor.api); }
};

struct PluginProbe {
  const LoadedPlugin* plugin = nullptr;
  lmrt_capabilities caps{};
  std::string error;  // the probe itself failed
};

class PluginRegistry {
 public:
  // Gives a plugin the YAML of a deployment section, e.g. "engine"; nullopt when no
  // deployment is active.
  using ConfigProvider = std::function<std::optional<std::string>(const std::string& path)>;

  // `extra_search_paths` come first. With include_default_paths false, only they and
  // LMRT_PLUGIN_PATH are searched (tests use this to see only their own plugins).
  explicit PluginRegistry(std::vector<std::filesystem::path> extra_search_paths = {},
                          bool include_default_paths = true);
  ~PluginRegistry();
  PluginRegistry(const PluginRegistry&) = delete;
  PluginRegistry& operator=(const PluginRegistry&) = delete;

  // The folders searched, in order, existing or not.
  const std::vector<std::filesystem::path>& search_paths() const { return search_paths_; }
  // Plugin files in the search paths (not loaded), first occurrence of a file name wins.
  std::vector<std::filesystem::path> discover() const;

  // Loads one file; throws lmrt::Error naming the file and the problem (not a
  // library, missing bootstrap symbol, ABI mismatch, failed init, bad descriptor).
  const LoadedPlugin& load_file(const std::filesystem::path& path);

  // Loads every discovered plugin, collecting failures instead of throwing.
  struct Failure {
    std::filesystem::path path;
    std::string error;
  };
  std::vector<const LoadedPlugin*> load_all(std::vector<Failure>* failures = nullptr);

  // The plugin called `name` of `kind`, loading it if needed. Throws a NOT_FOUND
  // Error that says where it looked and what it found.
  const LoadedPlugin& find(const std::string& name, lmrt_plugin_kind kind);

  // Asks a plugin what it can do for a request (see lmrt_probe_fn).
  PluginProbe probe(const LoadedPlugin& plugin, const std::string& request_yaml) const;

  // Picks the engine for a deployment: by name, or for "auto" the usable engine
  // with the highest score. Throws when none is usable, listing each one's reason.
  const LoadedPlugin& select_engine(const std::string& backend, const std::string& request_yaml);

  // The host table handed to plugins; valid while the registry lives.
  const lmrt_host_api* host_api() const { return &host_api_; }
  void set_config_provider(ConfigProvider provider);

 private:
  friend struct HostCallbacks;
  std::vector<std::filesystem::path> search_paths_;
  std::mutex mutex_;
  std::map<std::string, std::unique_ptr<LoadedPlugin>> by_path_;  // canonical path -> plugin
  ConfigProvider config_provider_;
  std::mutex config_mutex_;
  lmrt_host_api host_api_{};
};

}  // namespace lmrt
