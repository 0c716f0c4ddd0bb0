#include "lmrt/core/plugin_registry.hpp"

#define BOOST_DLL_USE_STD_FS
#include <dlfcn.h>

#include <algorithm>
#include <boost/dll/shared_library.hpp>
#include <cstdlib>
#include <cstring>
#include <set>
#include <sstream>
#include <system_error>

#include "lmrt/core/error.hpp"
#include "lmrt/core/host_api.hpp"
#include "lmrt/core/status.hpp"

namespace fs = std::filesystem;

namespace lmrt {

const char* plugin_kind_name(uint32_t kind) noexcept {
  switch (kind) {
    case LMRT_PLUGIN_FRONTEND: return "frontend";
    case LMRT_PLUGIN_ENGINE: return "engine";
    case LMRT_PLUGIN_LINEAR_OP: return "linear-op";
    case LMRT_PLUGIN_KV_CACHE_OP: return "kv-cache-op";
    case LMRT_PLUGIN_VISION: return "vision";
  }
  return "unknown";
}

std::string version_string(uint32_t version) {
  return std::to_string(LMRT_VERSION_MAJOR(version)) + "." + std::to_string(LMRT_VERSION_MINOR(version));
}

namespace {

constexpr const char* kPrefix = "liblmrt-";
constexpr const char* kSuffix = ".so";

bool is_plugin_file_name(const std::string& name) {
  return name.size() > std::strlen(kPrefix) + std::strlen(kSuffix) && name.rfind(kPrefix, 0) == 0 &&
         name.compare(name.size() - std::strlen(kSuffix), std::strlen(kSuffix), kSuffix) == 0;
}

// The folder of the module that holds this code (the executable, a test, or liblmrt.so).
fs::path own_module_dir() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&own_module_dir), &info) && info.dli_fname) {
    std::error_code ec;
    fs::path p = fs::canonical(info.dli_fname, ec);
    if (!ec) return p.parent_path();
  }
  return {};
}

void add_unique(std::vector<fs::path>& paths, const fs::path& p) {
  if (p.empty()) return;
  fs::path norm = p.lexically_normal();
  if (std::find(paths.begin(), paths.end(), norm) == paths.end()) paths.push_back(norm);
}

std::string join_paths(const std::vector<fs::path>& paths) {
  std::string out;
  for (const auto& p : paths) out += (out.empty() ? "" : ", ") + p.string();
  return out.empty() ? "(none)" : out;
}

}  // namespace

PluginRegistry::PluginRegistry(std::vector<fs::path> extra_search_paths, bool include_default_paths) {
  for (const auto& p : extra_search_paths) add_unique(search_paths_, p);
  if (const char* env = std::getenv("LMRT_PLUGIN_PATH")) {
    std::stringstream ss(env);
    std::string item;
    while (std::getline(ss, item, ':'))
      if (!item.empty()) add_unique(search_paths_, item);
  }
  if (include_default_paths) {
    // The module holding the core: the lmrt executable (bin/) or liblmrt.so (lib/).
    if (fs::path dir = own_module_dir(); !dir.empty()) {
      if (dir.filename() == "bin")
        add_unique(search_paths_, dir / ".." / LMRT_PLUGIN_SUBDIR);  // bin/../lib/lmrt/plugins
      else
        add_unique(search_paths_, dir / "lmrt" / "plugins");  // lib/lmrt/plugins beside liblmrt.so
    }
    add_unique(search_paths_, LMRT_INSTALL_PLUGIN_DIR);
  }
  host_api_ = make_host_api(this);
}

PluginRegistry::~PluginRegistry() {
  for (auto& [path, plugin] : by_path_)
    if (plugin->descriptor.unload) plugin->descriptor.unload();
}

std::vector<fs::path> PluginRegistry::discover() const {
  std::vector<fs::path> out;
  std::set<std::string> seen;
  for (const auto& dir : search_paths_) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) continue;
    std::vector<fs::path> here;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      std::string name = entry.path().filename().string();
      if (is_plugin_file_name(name)) here.push_back(entry.path());
    }
    std::sort(here.begin(), here.end());
    for (auto& p : here)
      if (seen.insert(p.filename().string()).second) out.push_back(p);
  }
  return out;
}

const LoadedPlugin& PluginRegistry::load_file(const fs::path& path) {
  std::error_code ec;
  fs::path canonical = fs::canonical(path, ec);
  if (ec) fail(LMRT_STATUS_NOT_FOUND, "plugin file " + path.string() + " does not exist");
  std::lock_guard lock(mutex_);
  if (auto it = by_path_.find(canonical.string()); it != by_path_.end()) return *it->second;

  auto library = std::make_shared<boost::dll::shared_library>();
  try {
    library->load(canonical, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  } catch (const std::exception& e) {
    const char* why = dlerror();
    fail(LMRT_STATUS_NOT_FOUND, "cannot load plugin " + canonical.string() + ": " + (why ? why : e.what()));
  }
  if (!library->has(LMRT_PLUGIN_ENTRY_NAME))
    fail(LMRT_STATUS_NOT_FOUND, "plugin " + canonical.string() + " does not export the bootstrap symbol " +
                                    LMRT_PLUGIN_ENTRY_NAME + " (is it an lmrt plugin, built with LMRT_PLUGIN_EXPORT?)");
  auto init = library->get<lmrt_status*(const lmrt_host_api*, uint32_t, lmrt_plugin_descriptor*)>(
      LMRT_PLUGIN_ENTRY_NAME);

  auto plugin = std::make_unique<LoadedPlugin>();
  plugin->path = canonical;
  plugin->descriptor.struct_size = sizeof(lmrt_plugin_descriptor);
  lmrt_status* st = init(&host_api_, LMRT_ABI_VERSION, &plugin->descriptor);
  if (st) {
    std::string msg = status_message(st);
    lmrt_status_code code = status_code(st);
    release_status(st);
    fail(code == LMRT_STATUS_ABI_MISMATCH ? code : LMRT_STATUS_INTERNAL,
         "plugin " + canonical.string() + " failed to initialise: " + msg);
  }
  const auto& d = plugin->descriptor;
  const std::string where = "plugin " + canonical.string();
  if (d.struct_size != sizeof(lmrt_plugin_descriptor))
    fail(LMRT_STATUS_ABI_MISMATCH, where + " changed the descriptor's struct_size");
  if (LMRT_VERSION_MAJOR(d.abi_version) != LMRT_ABI_VERSION_MAJOR)
    fail(LMRT_STATUS_ABI_MISMATCH, where + " was built for ABI " + version_string(d.abi_version) +
                                       " but this host speaks ABI " + version_string(LMRT_ABI_VERSION) +
                                       " (major versions must match; rebuild the plugin against this SDK)");
  if (LMRT_VERSION_MINOR(d.abi_version) > LMRT_ABI_VERSION_MINOR)
    fail(LMRT_STATUS_ABI_MISMATCH, where + " needs ABI " + version_string(d.abi_version) +
                                       " but this host speaks only ABI " + version_string(LMRT_ABI_VERSION) +
                                       " (upgrade lmrt)");
  if (!d.name || !*d.name) fail(LMRT_STATUS_ABI_MISMATCH, where + " gave no name in its descriptor");
  if (!d.api) fail(LMRT_STATUS_ABI_MISMATCH, where + " (" + d.name + ") gave no function table");
  if (d.kind != LMRT_PLUGIN_ENGINE && d.kind != LMRT_PLUGIN_FRONTEND)
    fail(LMRT_STATUS_UNSUPPORTED, where + " (" + d.name + ") is of kind " + std::to_string(d.kind) + " (" +
                                      plugin_kind_name(d.kind) + "), which ABI " + version_string(LMRT_ABI_VERSION) +
                                      " does not define");
  // The kind's table must be at least as large as the 1.0 table.
  uint32_t table_size = *static_cast<const uint32_t*>(d.api);
  if (table_size < sizeof(uint32_t) * 2)
    fail(LMRT_STATUS_ABI_MISMATCH, where + " (" + d.name + ") has a function table of " + std::to_string(table_size) +
                                       " bytes, too small for ABI " + version_string(LMRT_ABI_VERSION));
  plugin->module = library;
  if (!d.version) plugin->descriptor.version = "";
  if (!d.description) plugin->descriptor.description = "";
  auto& ref = *plugin;
  by_path_.emplace(canonical.string(), std::move(plugin));
  return ref;
}

std::vector<const LoadedPlugin*> PluginRegistry::load_all(std::vector<Failure>* failures) {
  std::vector<const LoadedPlugin*> out;
  for (const auto& path : discover()) {
    try {
      out.push_back(&load_file(path));
    } catch (const std::exception& e) {
      if (failures) failures->push_back({path, e.what()});
    }
  }
  return out;
}

const LoadedPlugin& PluginRegistry::find(const std::string& name, lmrt_plugin_kind kind) {
  // Fast path: the file named after the plugin.
  std::vector<Failure> failures;
  for (const auto& dir : search_paths_) {
    fs::path candidate = dir / (std::string(kPrefix) + name + kSuffix);
    std::error_code ec;
    if (!fs::exists(candidate, ec)) continue;
    // A file with the right name that fails to load is the answer: load_file says why.
    const LoadedPlugin& p = load_file(candidate);
    if (p.name() == name && p.kind() == kind) return p;
  }
  auto loaded = load_all(&failures);
  for (const LoadedPlugin* p : loaded)
    if (p->name() == name && p->kind() == kind) return *p;

  std::string found;
  for (const LoadedPlugin* p : loaded) found += (found.empty() ? "" : ", ") + p->name() + " (" + plugin_kind_name(p->kind()) + ")";
  std::string msg = std::string(plugin_kind_name(kind)) + " plugin '" + name + "' not found; looked in " +
                    join_paths(search_paths_) + " (and LMRT_PLUGIN_PATH); found " + (found.empty() ? "no plugins" : found);
  for (const auto& f : failures) msg += "; could not load " + f.path.string() + ": " + f.error;
  fail(LMRT_STATUS_NOT_FOUND, msg);
}

PluginProbe PluginRegistry::probe(const LoadedPlugin& plugin, const std::string& request_yaml) const {
  PluginProbe out;
  out.plugin = &plugin;
  out.caps.struct_size = sizeof(lmrt_capabilities);
  if (!plugin.descriptor.probe) {
    out.caps.score = 1;
    std::strcpy(out.caps.devices, "unknown");
    return out;
  }
  lmrt_status* st = plugin.descriptor.probe(&host_api_, lmrt_str{request_yaml.data(), request_yaml.size()}, &out.caps);
  // Fixed-size fields must be terminated even if the plugin forgot.
  out.caps.devices[LMRT_CAPS_TEXT - 1] = out.caps.dtypes[LMRT_CAPS_TEXT - 1] = '\0';
  out.caps.formats[LMRT_CAPS_TEXT - 1] = out.caps.reason[LMRT_CAPS_TEXT - 1] = '\0';
  if (st) {
    out.error = status_message(st);
    out.caps.score = 0;
    release_status(st);
  }
  return out;
}

const LoadedPlugin& PluginRegistry::select_engine(const std::string& backend, const std::string& request_yaml) {
  if (backend != "auto") {
    const LoadedPlugin& p = find(backend, LMRT_PLUGIN_ENGINE);
    PluginProbe pr = probe(p, request_yaml);
    if (pr.caps.score == 0)
      fail(LMRT_STATUS_UNSUPPORTED, "engine '" + backend + "' cannot run this deployment here: " +
                                        (pr.error.empty() ? std::string(pr.caps.reason) : pr.error));
    return p;
  }
  std::vector<Failure> failures;
  auto loaded = load_all(&failures);
  const LoadedPlugin* best = nullptr;
  uint32_t best_score = 0;
  std::string reasons;
  for (const LoadedPlugin* p : loaded) {
    if (p->kind() != LMRT_PLUGIN_ENGINE) continue;
    PluginProbe pr = probe(*p, request_yaml);
    if (pr.caps.score > best_score) {
      best = p;
      best_score = pr.caps.score;
    }
    if (pr.caps.score == 0)
      reasons += "; " + p->name() + ": " + (pr.error.empty() ? std::string(pr.caps.reason) : pr.error);
  }
  if (best) return *best;
  std::string msg = "no usable engine plugin (backend: auto); looked in " + join_paths(search_paths_) + reasons;
  for (const auto& f : failures) msg += "; could not load " + f.path.string() + ": " + f.error;
  fail(LMRT_STATUS_NOT_FOUND, msg);
}

void PluginRegistry::set_config_provider(ConfigProvider provider) {
  std::lock_guard lock(config_mutex_);
  config_provider_ = std::move(provider);
}

}  // namespace lmrt
