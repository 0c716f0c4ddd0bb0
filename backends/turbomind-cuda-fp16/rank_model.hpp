// One tensor-parallel rank's model description, cut from the full one by the plan of
// lmrt/cpp/tensor_parallel.hpp: a model of its own (its query heads, KV heads and MLP columns) that DeviceModel
// uploads as it would a whole model.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "lmrt/cpp/tensor_parallel.hpp"
#include "lmrt/model.h"

namespace lmrt::tm {

tp::ModelDims model_dims(const lmrt_model_desc& desc);

class RankModel {
 public:
  // Views of `full`'s tensors: row slices (wq/wk/wv, their biases, w1/w3) point into its data; column slices (wo,
  // w2) are copies held here; the rest (embeddings, norms, output) are `full`'s own views. `full` must outlive
  // this. Throws lmrt::plugin::Error (MODEL_ERROR) when a tensor to slice is missing or mis-shaped.
  RankModel(const lmrt_model_desc& full, const tp::RankShard& shard);
  RankModel(const RankModel&) = delete;
  RankModel& operator=(const RankModel&) = delete;

  const lmrt_model_desc& desc() const { return desc_; }

 private:
  lmrt_model_desc desc_{};
  std::vector<lmrt_tensor_view> views_;
  std::vector<std::unique_ptr<char[]>> copies_;
};

}  // namespace lmrt::tm
