// `lmrt plugins list` and `lmrt check_env`: what this installation can do here.
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <thread>

#include "commands.hpp"
#include "lmrt/core/bundled_model.hpp"
#include "lmrt/core/plugin_registry.hpp"

namespace lmrt::app {
namespace {

std::string mem_total() {
  std::ifstream in("/proc/meminfo");
  std::string key, unit;
  uint64_t kb = 0;
  while (in >> key >> kb >> unit)
    if (key == "MemTotal:") return std::to_string(kb / 1024 / 1024) + " GiB";
  return "unknown";
}

// The NVIDIA driver and GPUs as the system reports them, whether or not a CUDA plugin was built.
void print_gpus() {
  std::ifstream version("/proc/driver/nvidia/version");
  std::string line;
  if (std::getline(version, line))
    std::cout << "NVIDIA driver: " << line << "\n";
  else
    std::cout << "NVIDIA driver: none (/proc/driver/nvidia/version is absent)\n";
  FILE* smi = popen("nvidia-smi --query-gpu=index,name,memory.total,driver_version --format=csv,noheader 2>/dev/null", "r");
  if (!smi) return;
  char buf[512];
  bool any = false;
  while (std::fgets(buf, sizeof buf, smi)) {
    std::cout << (any ? "" : "GPUs (nvidia-smi):\n") << "    " << buf;
    any = true;
  }
  if (pclose(smi) != 0 && !any) std::cout << "GPUs: nvidia-smi is not available or found none\n";
}

void print_plugins(PluginRegistry& registry, bool with_devices) {
  std::vector<PluginRegistry::Failure> failures;
  auto plugins = registry.load_all(&failures);
  std::cout << std::left << std::setw(22) << "NAME" << std::setw(10) << "KIND" << std::setw(9) << "VERSION"
            << std::setw(5) << "ABI" << "PATH\n";
  for (const LoadedPlugin* p : plugins) {
    std::cout << std::setw(22) << p->name() << std::setw(10) << plugin_kind_name(p->kind()) << std::setw(9)
              << p->descriptor.version << std::setw(5) << version_string(p->descriptor.abi_version)
              << p->path.string() << "\n";
    if (with_devices && p->kind() == LMRT_PLUGIN_ENGINE) {
      PluginProbe pr = registry.probe(*p, "");
      std::cout << "    devices: " << pr.caps.devices << "\n    dtypes: " << pr.caps.dtypes
                << "; formats: " << pr.caps.formats << "; score: " << pr.caps.score;
      if (pr.caps.score == 0) std::cout << " (not usable: " << (pr.error.empty() ? pr.caps.reason : pr.error) << ")";
      std::cout << "\n";
    }
  }
  if (plugins.empty()) std::cout << "(no plugins found)\n";
  for (const auto& f : failures) std::cout << "could not load " << f.path.string() << ": " << f.error << "\n";
}

}  // namespace

void add_inspect_commands(CLI::App& app, Commands&) {
  auto* plugins = app.add_subcommand("plugins", "inspect plugins");
  plugins->require_subcommand(1);
  {
    auto* cmd = plugins->add_subcommand("list", "list the plugins found: name, kind, version, ABI, path, devices");
    auto paths = std::make_shared<std::vector<std::string>>();
    cmd->add_option("--plugin-path", *paths, "extra folder to search (repeatable)");
    cmd->callback([paths] {
      PluginRegistry registry(std::vector<std::filesystem::path>(paths->begin(), paths->end()));
      print_plugins(registry, true);
      std::cout << "searched: ";
      for (const auto& p : registry.search_paths()) std::cout << p.string() << "  ";
      std::cout << "\n";
    });
  }
  {
    auto* cmd = app.add_subcommand("check_env", "report the machine, GPUs, driver, CUDA and plugins found");
    cmd->callback([] {
      utsname u{};
      uname(&u);
      std::cout << "lmrt " << LMRT_VERSION_STRING << " (plugin ABI " << version_string(LMRT_ABI_VERSION) << ")\n"
                << "OS: " << u.sysname << " " << u.release << " " << u.machine << "\n"
                << "CPU threads: " << std::thread::hardware_concurrency() << "\n"
                << "memory: " << mem_total() << "\n";
      print_gpus();
      const auto bundled = bundled_model();
      std::cout << "bundled model: " << (bundled ? bundled->string() : "not found (looked in " + bundled_model_search_paths() + ")")
                << "\n";
      std::cout << "\nplugins (a CUDA engine reports its CUDA runtime's view of the devices):\n";
      PluginRegistry registry;
      print_plugins(registry, true);
    });
  }
}

void add_unavailable_commands(CLI::App& app, Commands& cmds) {
  auto unavailable = [&cmds](const std::string& what) {
    return [what, &cmds] {
      std::cerr << "lmrt " << what << ": not implemented in this build yet.\n";
      cmds.exit_code = kExitUnavailable;
    };
  };
  auto* lite = app.add_subcommand("lite", "quantize models");
  lite->require_subcommand(1);
  auto* awq = lite->add_subcommand("auto_awq", "4-bit AWQ weight quantization (W4A16)");
  awq->allow_extras();
  awq->callback(unavailable("lite auto_awq"));
}

}  // namespace lmrt::app
