// A plain, independent forward pass in double precision: one sequence,
// contiguous KV, written straight from the Llama definition (HF LlamaForCausalLM).
#pragma once

#include <vector>

#include "random_model.hpp"

namespace cpu_test {

// Logits of every position of `tokens` processed as one full forward
// ([position][vocab]). Dynamic NTK uses the full length, as HF does for one forward.
std::vector<std::vector<double>> reference_logits(const RandomModel& model, const std::vector<int32_t>& tokens);

std::vector<double> log_softmax(const std::vector<double>& logits);

}  // namespace cpu_test
