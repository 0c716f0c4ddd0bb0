#include "lmrt/core/host_api.hpp"

#include "lmrt/core/log.hpp"
#include "lmrt/core/plugin_registry.hpp"
#include "lmrt/core/status.hpp"

namespace lmrt {

struct HostCallbacks {
  static lmrt_status* status_create(lmrt_status_code code, lmrt_str message) {
    return make_status(code, std::string_view(message.data ? message.data : "", message.data ? message.size : 0));
  }
  static lmrt_status_code status_code_of(const lmrt_status* s) { return status_code(s); }
  static const char* status_message_of(const lmrt_status* s) { return status_message(s); }
  static void status_release(lmrt_status* s) { release_status(s); }

  static void log(void*, lmrt_log_level level, const char* source, lmrt_str message) {
    log::write(level, source ? source : "plugin",
               std::string_view(message.data ? message.data : "", message.data ? message.size : 0));
  }
  static lmrt_log_level log_level(void*) { return log::level(); }

  static lmrt_status* config_section(void* ctx, const char* path, lmrt_str_sink sink, void* user) {
    return guarded([&] {
      auto* registry = static_cast<PluginRegistry*>(ctx);
      PluginRegistry::ConfigProvider provider;
      {
        std::lock_guard lock(registry->config_mutex_);
        provider = registry->config_provider_;
      }
      if (!provider) fail(LMRT_STATUS_NOT_FOUND, "no deployment is active");
      auto text = provider(path ? path : "");
      if (!text) fail(LMRT_STATUS_NOT_FOUND, "no deployment is active");
      sink(user, lmrt_str{text->data(), text->size()});
    });
  }

  static lmrt_status* find_plugin(void* ctx, const char* name, lmrt_plugin_kind kind,
                                  const lmrt_plugin_descriptor** out) {
    return guarded([&] {
      if (!name || !out) fail(LMRT_STATUS_INVALID_ARGUMENT, "find_plugin: name and out must not be NULL");
      *out = &static_cast<PluginRegistry*>(ctx)->find(name, kind).descriptor;
    });
  }
};

lmrt_host_api make_host_api(PluginRegistry* registry) {
  lmrt_host_api api{};
  api.struct_size = sizeof(lmrt_host_api);
  api.abi_version = LMRT_ABI_VERSION;
  api.host_context = registry;
  api.status_create = &HostCallbacks::status_create;
  api.status_code = &HostCallbacks::status_code_of;
  api.status_message = &HostCallbacks::status_message_of;
  api.status_release = &HostCallbacks::status_release;
  api.log = &HostCallbacks::log;
  api.log_level = &HostCallbacks::log_level;
  api.config_section = &HostCallbacks::config_section;
  api.find_plugin = &HostCallbacks::find_plugin;
  return api;
}

}  // namespace lmrt
