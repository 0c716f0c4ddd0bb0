// The model that ships with lmrt (models/lmrt-chat-tiny, docs/chat-model.md): what `lmrt chat`,
// `lmrt generate` and `lmrt serve api_server` load when no model is named.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace lmrt {

inline constexpr const char* kBundledModelName = "lmrt-chat-tiny";

// The first folder with a config.json among: $LMRT_DEFAULT_MODEL, share/lmrt/models/lmrt-chat-tiny beside the
// installed binaries (../share from bin/ or lib/), the configured install prefix's, and the source tree's
// models/lmrt-chat-tiny (for builds run in place).
std::optional<std::filesystem::path> bundled_model();

// The places bundled_model() looks, in order, for error messages.
std::string bundled_model_search_paths();

}  // namespace lmrt
