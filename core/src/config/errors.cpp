#include "config/errors.hpp"

#include "config/schema.hpp"
#include "config/suggest.hpp"
#include "lmrt/core/error.hpp"

namespace lmrt::config {

void config_error(std::string_view where, std::string_view key, std::string_view problem) {
  std::string msg(where);
  if (!key.empty()) msg += ": " + std::string(key);
  msg += ": " + std::string(problem);
  throw Error(LMRT_STATUS_CONFIG_ERROR, msg);
}

std::string quote_value(std::string_view value) {
  constexpr size_t kMax = 60;
  std::string out = "'";
  if (value.size() <= kMax) {
    out.append(value);
  } else {
    size_t n = kMax;
    while (n > 0 && (static_cast<unsigned char>(value[n]) & 0xC0) == 0x80) --n;
    out.append(value.substr(0, n)).append("...");
  }
  return out += '\'';
}

std::string location(std::string_view origin, int zero_based_line) {
  std::string out(origin);
  if (zero_based_line >= 0) out.append(":").append(std::to_string(zero_based_line + 1));
  return out;
}

std::string unknown_key_problem(std::string_view section, std::string_view name, bool full_suggestion) {
  std::vector<std::string> valid = section.empty() ? top_level_names() : key_names(section);
  std::string prefix = section.empty() || !full_suggestion ? "" : std::string(section) + ".";
  std::string best = closest_name(name, valid);
  if (!best.empty()) return "unknown key (did you mean '" + prefix + best + "'?)";
  // The right name in the wrong section, e.g. engine.temperature.
  for (const Key& k : keys())
    if (k.name() == name && k.section() != section && !k.section().starts_with("frontends."))
      return "unknown key (it belongs in '" + (k.section().empty() ? std::string("the top level") : std::string(k.section())) +
             "': " + k.key + ")";
  std::string list;
  for (size_t i = 0; i < valid.size(); ++i) list += (i ? ", " : "") + valid[i];
  return "unknown key (valid keys: " + list + ")";
}

}  // namespace lmrt::config
