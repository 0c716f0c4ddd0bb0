#include "config/suggest.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>

namespace lmrt::config {

size_t edit_distance(std::string_view a_in, std::string_view b_in) {
  // Case does not count: "Session_Len" is as close to "session_len" as it looks.
  std::string a(a_in), b(b_in);
  for (auto& c : a) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (auto& c : b) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const size_t n = a.size(), m = b.size();
  std::vector<std::vector<size_t>> d(n + 1, std::vector<size_t>(m + 1));
  for (size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (size_t i = 1; i <= n; ++i)
    for (size_t j = 1; j <= m; ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[n][m];
}

std::string closest_name(std::string_view word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_d = SIZE_MAX;
  for (const auto& c : candidates) {
    size_t d = edit_distance(word, c);
    if (d < best_d) best_d = d, best = c;
  }
  // A typo changes a few characters; allow about a third of the word, at least 2.
  size_t limit = std::max<size_t>(2, std::max(word.size(), best.size()) / 3);
  if (best_d <= limit) return best;
  // A part of a longer name: "port" -> "server_port", "prefix_caching" -> "enable_prefix_caching".
  for (const auto& c : candidates) {
    size_t at = word.size() >= 3 ? c.find(word) : std::string::npos;
    bool starts_part = at == 0 || (at != std::string::npos && c[at - 1] == '_');
    bool ends_part = at != std::string::npos && (at + word.size() == c.size() || c[at + word.size()] == '_');
    if (starts_part && ends_part) return c;
  }
  return {};
}

}  // namespace lmrt::config
