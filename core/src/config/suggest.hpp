// "Did you mean ...?" for unknown config keys.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace lmrt::config {

// Optimal-string-alignment edit distance (insert, delete, substitute, swap neighbours).
size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `word`, when close enough to be a likely typo, else the
// first candidate that has `word` as a whole '_'-separated part; "" otherwise.
std::string closest_name(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace lmrt::config
