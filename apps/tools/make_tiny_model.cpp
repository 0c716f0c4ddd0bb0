// lmrt-make-tiny-model: writes a tiny random-weight model in a real Hugging Face
// layout (config.json, generation_config.json, safetensors, optionally a copied
// tokenizer), deterministically from --seed. See lmrt/core/tiny_model.hpp.
#include <CLI/CLI.hpp>
#include <iostream>

#include "lmrt/core/error.hpp"
#include "lmrt/core/tiny_model.hpp"

int main(int argc, char** argv) {
  CLI::App app{"Write a tiny random-weight model in Hugging Face layout"};
  lmrt::TinyModelSpec spec;
  std::string out, arch = "llama", dtype = "f32", rope_scaling = "none", tokenizer;
  app.add_option("out", out, "output folder (created)")->required();
  app.add_option("--arch", arch, "llama | qwen2 | internlm2")->capture_default_str();
  app.add_option("--dtype", dtype, "f32 | f16 | bf16")->capture_default_str();
  app.add_option("--hidden", spec.hidden, "hidden size")->capture_default_str();
  app.add_option("--layers", spec.layers, "number of layers")->capture_default_str();
  app.add_option("--heads", spec.heads, "attention heads")->capture_default_str();
  app.add_option("--kv-heads", spec.kv_heads, "key/value heads")->capture_default_str();
  app.add_option("--head-dim", spec.head_dim, "head dimension (0: hidden / heads)")->capture_default_str();
  app.add_option("--intermediate", spec.intermediate, "MLP intermediate size")->capture_default_str();
  app.add_option("--vocab", spec.vocab, "vocabulary size")->capture_default_str();
  app.add_flag("--tie", spec.tie, "tie the LM head to the embeddings");
  app.add_option("--shards", spec.shards, "number of safetensors shards (> 1 writes an index)")->capture_default_str();
  app.add_option("--seed", spec.seed, "random seed")->capture_default_str();
  app.add_option("--std", spec.std, "standard deviation of the weights")->capture_default_str();
  app.add_option("--max-position", spec.max_position_embeddings, "max_position_embeddings")->capture_default_str();
  app.add_option("--rope-theta", spec.rope_theta, "rope_theta")->capture_default_str();
  app.add_option("--rope-scaling", rope_scaling, "none | linear | dynamic")->capture_default_str();
  app.add_option("--rope-factor", spec.rope_scaling_factor, "rope_scaling factor")->capture_default_str();
  app.add_option("--tokenizer", tokenizer, "copy the tokenizer files of this folder");
  CLI11_PARSE(app, argc, argv);

  try {
    spec.arch = lmrt::parse_arch(arch);
    spec.dtype = lmrt::parse_float_dtype(dtype);
    if (rope_scaling == "none") spec.rope_scaling = LMRT_ROPE_SCALING_NONE;
    else if (rope_scaling == "linear") spec.rope_scaling = LMRT_ROPE_SCALING_LINEAR;
    else if (rope_scaling == "dynamic") spec.rope_scaling = LMRT_ROPE_SCALING_DYNAMIC;
    else throw lmrt::Error(LMRT_STATUS_INVALID_ARGUMENT, "unknown --rope-scaling '" + rope_scaling + "' (none, linear, dynamic)");
    spec.tokenizer_dir = tokenizer;
    lmrt::write_tiny_model(out, spec);
  } catch (const std::exception& e) {
    std::cerr << "lmrt-make-tiny-model: " << e.what() << "\n";
    return 1;
  }
  std::cout << "wrote " << arch << " model to " << out << "\n";
  return 0;
}
