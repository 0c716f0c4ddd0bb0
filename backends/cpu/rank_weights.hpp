// One tensor-parallel rank's share of the layer weights, cut from the full model
// by the plan of lmrt/cpp/tensor_parallel.hpp.
#pragma once

#include <vector>

#include "lmrt/cpp/tensor_parallel.hpp"
#include "model_weights.hpp"

namespace lmrt::cpu {

struct RankWeights {
  // The model as this rank sees it: its query heads, KV heads and intermediate
  // columns; hidden_size, vocab and RoPE as in the full model.
  ModelShape shape;
  // wqkv/bqkv: the rank's q rows, then its k rows, then its v rows; wo: its columns;
  // w13: its gate rows, then its up rows; w2: its columns. Norm weights are copies.
  std::vector<LayerWeights> layers;

  uint64_t bytes() const;
};

tp::ModelDims model_dims(const ModelShape& shape);

// Cuts `model.layers` into one RankWeights per rank of `plan` and empties
// `model.layers` (the replicated embeddings, final norm and lm_head stay in
// `model`). With one rank the layers are moved, not copied.
std::vector<RankWeights> shard_layers(ModelWeights& model, const tp::Plan& plan);

}  // namespace lmrt::cpu
