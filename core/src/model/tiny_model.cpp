#include "lmrt/core/tiny_model.hpp"

#include <cmath>
#include <numbers>
#include <fstream>
#include <nlohmann/json.hpp>

#include "lmrt/core/error.hpp"
#include "lmrt/core/half.hpp"
#include "lmrt/core/safetensors_writer.hpp"

namespace lmrt {
namespace {

using json = nlohmann::ordered_json;

// SplitMix64 plus Box-Muller: the same numbers with every compiler and standard
// library (std::normal_distribution is implementation-defined).
class Gaussian {
 public:
  explicit Gaussian(uint64_t seed) : state_(seed) {}
  float next(float mean, float std) {
    if (has_spare_) {
      has_spare_ = false;
      return mean + std * spare_;
    }
    const double u1 = (static_cast<double>(bits() >> 11) + 1.0) * 0x1.0p-53;  // (0, 1]
    const double u2 = static_cast<double>(bits() >> 11) * 0x1.0p-53;          // [0, 1)
    const double r = std::sqrt(-2.0 * std::log(u1));
    spare_ = static_cast<float>(r * std::sin(2.0 * std::numbers::pi * u2));
    has_spare_ = true;
    return mean + std * static_cast<float>(r * std::cos(2.0 * std::numbers::pi * u2));
  }

 private:
  uint64_t bits() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  uint64_t state_;
  bool has_spare_ = false;
  float spare_ = 0;
};

struct Tensor {
  std::vector<int64_t> shape;
  std::vector<float> values;
};

Tensor random_tensor(Gaussian& g, std::vector<int64_t> shape, float mean, float std) {
  Tensor t{std::move(shape), {}};
  size_t n = 1;
  for (int64_t d : t.shape) n *= static_cast<size_t>(d);
  t.values.resize(n);
  for (float& v : t.values) v = g.next(mean, std);
  return t;
}

void check_spec(const TinyModelSpec& s) {
  auto need = [](bool ok, const std::string& what) {
    if (!ok) fail(LMRT_STATUS_INVALID_ARGUMENT, "tiny model: " + what);
  };
  need(s.hidden > 0 && s.layers > 0 && s.heads > 0 && s.kv_heads > 0 && s.intermediate > 0 && s.vocab > 0,
       "hidden, layers, heads, kv_heads, intermediate and vocab must be positive");
  need(s.heads % s.kv_heads == 0, "heads (" + std::to_string(s.heads) + ") must be a multiple of kv_heads (" +
                                      std::to_string(s.kv_heads) + ")");
  need(s.head_dim != 0 || s.hidden % s.heads == 0,
       "hidden (" + std::to_string(s.hidden) + ") must be a multiple of heads (" + std::to_string(s.heads) +
           ") unless head_dim is given");
  const uint32_t hd = s.head_dim ? s.head_dim : s.hidden / s.heads;
  need(hd % 2 == 0, "head_dim must be even");
  need(is_float_dtype(s.dtype), "dtype must be f32, f16 or bf16");
  need(s.shards >= 1, "shards must be >= 1");
  need(s.std > 0 && std::isfinite(s.std), "std must be positive");
  need(s.rope_scaling == LMRT_ROPE_SCALING_NONE || s.rope_scaling_factor > 0, "rope_scaling_factor must be positive");
}

const char* torch_dtype(lmrt_dtype d) {
  return d == LMRT_DTYPE_F16 ? "float16" : d == LMRT_DTYPE_BF16 ? "bfloat16" : "float32";
}

void write_json(const std::filesystem::path& path, const json& j) {
  std::ofstream out(path, std::ios::trunc);
  out << j.dump(2) << "\n";
  if (!out) fail(LMRT_STATUS_IO_ERROR, path.string() + ": write failed");
}

json make_config(const TinyModelSpec& s) {
  json c = json::object();
  switch (s.arch) {
    case ModelArch::llama:
      c["architectures"] = {"LlamaForCausalLM"};
      c["model_type"] = "llama";
      break;
    case ModelArch::qwen2:
      c["architectures"] = {"Qwen2ForCausalLM"};
      c["model_type"] = "qwen2";
      break;
    case ModelArch::internlm2:
      c["architectures"] = {"InternLM2ForCausalLM"};
      c["model_type"] = "internlm2";
      break;
  }
  c["hidden_size"] = s.hidden;
  c["intermediate_size"] = s.intermediate;
  c["num_hidden_layers"] = s.layers;
  c["num_attention_heads"] = s.heads;
  c["num_key_value_heads"] = s.kv_heads;
  if (s.head_dim) c["head_dim"] = s.head_dim;
  c["vocab_size"] = s.vocab;
  c["max_position_embeddings"] = s.max_position_embeddings;
  c["rms_norm_eps"] = s.rms_norm_eps;
  c["rope_theta"] = s.rope_theta;
  if (s.rope_scaling == LMRT_ROPE_SCALING_NONE)
    c["rope_scaling"] = nullptr;
  else
    c["rope_scaling"] = {{"type", s.rope_scaling == LMRT_ROPE_SCALING_LINEAR ? "linear" : "dynamic"},
                         {"factor", s.rope_scaling_factor}};
  c["hidden_act"] = "silu";
  c["bos_token_id"] = s.bos_token_id;
  c["eos_token_id"] = s.eos_token_id;
  c["tie_word_embeddings"] = s.tie;
  c["torch_dtype"] = torch_dtype(s.dtype);
  if (s.arch == ModelArch::llama) c["attention_bias"] = false;
  if (s.arch == ModelArch::internlm2) c["bias"] = false;
  if (s.arch == ModelArch::qwen2) c["use_sliding_window"] = false;
  return c;
}

}  // namespace

ModelArch parse_arch(const std::string& name) {
  if (name == "llama") return ModelArch::llama;
  if (name == "internlm2") return ModelArch::internlm2;
  if (name == "qwen2") return ModelArch::qwen2;
  fail(LMRT_STATUS_INVALID_ARGUMENT, "unknown architecture '" + name + "' (choose llama, internlm2 or qwen2)");
}

lmrt_dtype parse_float_dtype(const std::string& name) {
  if (name == "f32" || name == "float32") return LMRT_DTYPE_F32;
  if (name == "f16" || name == "float16") return LMRT_DTYPE_F16;
  if (name == "bf16" || name == "bfloat16") return LMRT_DTYPE_BF16;
  fail(LMRT_STATUS_INVALID_ARGUMENT, "unknown dtype '" + name + "' (choose f32, f16 or bf16)");
}

void write_tiny_model(const std::filesystem::path& dir, const TinyModelSpec& s) {
  check_spec(s);
  const int64_t hidden = s.hidden, inter = s.intermediate, vocab = s.vocab;
  const int64_t hd = s.head_dim ? s.head_dim : s.hidden / s.heads;
  const int64_t H = s.heads, K = s.kv_heads, G = H / K;

  // Canonical tensors in a fixed order; the architecture only changes names and layout.
  Gaussian g(s.seed);
  Gaussian bias_g(s.seed ^ 0x5851f42d4c957f2dull);
  SafetensorsWriter w;
  auto put = [&](const std::string& name, const Tensor& t) {
    std::vector<std::byte> bytes(t.values.size() * dtype_size(s.dtype));
    convert_from_f32(t.values.data(), t.values.size(), s.dtype, bytes.data());
    w.add(name, s.dtype, t.shape, bytes.data(), bytes.size());
  };
  const bool il = s.arch == ModelArch::internlm2;

  put(il ? "model.tok_embeddings.weight" : "model.embed_tokens.weight", random_tensor(g, {vocab, hidden}, 0, s.std));
  for (uint32_t n = 0; n < s.layers; ++n) {
    const std::string p = "model.layers." + std::to_string(n) + ".";
    const Tensor attn_norm = random_tensor(g, {hidden}, 1.0f, 0.1f);
    const Tensor wq = random_tensor(g, {H * hd, hidden}, 0, s.std);
    const Tensor wk = random_tensor(g, {K * hd, hidden}, 0, s.std);
    const Tensor wv = random_tensor(g, {K * hd, hidden}, 0, s.std);
    const Tensor wo = random_tensor(g, {hidden, H * hd}, 0, s.std);
    const Tensor ffn_norm = random_tensor(g, {hidden}, 1.0f, 0.1f);
    const Tensor w1 = random_tensor(g, {inter, hidden}, 0, s.std);
    const Tensor w3 = random_tensor(g, {inter, hidden}, 0, s.std);
    const Tensor w2 = random_tensor(g, {hidden, inter}, 0, s.std);
    if (il) {
      // wqkv rows per KV head g: its G query heads, then its key head, then its value head.
      Tensor wqkv{{(H + 2 * K) * hd, hidden}, {}};
      const size_t head = static_cast<size_t>(hd * hidden);
      for (int64_t kv = 0; kv < K; ++kv) {
        auto q0 = wq.values.begin() + static_cast<ptrdiff_t>(kv * G * head);
        wqkv.values.insert(wqkv.values.end(), q0, q0 + static_cast<ptrdiff_t>(G * head));
        auto k0 = wk.values.begin() + static_cast<ptrdiff_t>(kv * head);
        wqkv.values.insert(wqkv.values.end(), k0, k0 + static_cast<ptrdiff_t>(head));
        auto v0 = wv.values.begin() + static_cast<ptrdiff_t>(kv * head);
        wqkv.values.insert(wqkv.values.end(), v0, v0 + static_cast<ptrdiff_t>(head));
      }
      put(p + "attention_norm.weight", attn_norm);
      put(p + "attention.wqkv.weight", wqkv);
      put(p + "attention.wo.weight", wo);
      put(p + "ffn_norm.weight", ffn_norm);
      put(p + "feed_forward.w1.weight", w1);
      put(p + "feed_forward.w3.weight", w3);
      put(p + "feed_forward.w2.weight", w2);
    } else {
      put(p + "input_layernorm.weight", attn_norm);
      put(p + "self_attn.q_proj.weight", wq);
      put(p + "self_attn.k_proj.weight", wk);
      put(p + "self_attn.v_proj.weight", wv);
      put(p + "self_attn.o_proj.weight", wo);
      if (s.arch == ModelArch::qwen2) {
        put(p + "self_attn.q_proj.bias", random_tensor(bias_g, {H * hd}, 0, s.std));
        put(p + "self_attn.k_proj.bias", random_tensor(bias_g, {K * hd}, 0, s.std));
        put(p + "self_attn.v_proj.bias", random_tensor(bias_g, {K * hd}, 0, s.std));
      }
      put(p + "post_attention_layernorm.weight", ffn_norm);
      put(p + "mlp.gate_proj.weight", w1);
      put(p + "mlp.up_proj.weight", w3);
      put(p + "mlp.down_proj.weight", w2);
    }
  }
  put("model.norm.weight", random_tensor(g, {hidden}, 1.0f, 0.1f));
  if (!s.tie) put(il ? "output.weight" : "lm_head.weight", random_tensor(g, {vocab, hidden}, 0, s.std));

  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) fail(LMRT_STATUS_IO_ERROR, dir.string() + ": cannot create: " + ec.message());
  if (s.shards == 1)
    w.write(dir / "model.safetensors");
  else
    w.write_sharded(dir, s.shards);
  write_json(dir / "config.json", make_config(s));
  write_json(dir / "generation_config.json",
             json{{"bos_token_id", s.bos_token_id}, {"eos_token_id", s.eos_token_id}});

  if (!s.tokenizer_dir.empty()) {
    if (!std::filesystem::is_directory(s.tokenizer_dir))
      fail(LMRT_STATUS_NOT_FOUND, s.tokenizer_dir.string() + ": tokenizer folder does not exist");
    for (const auto& entry : std::filesystem::directory_iterator(s.tokenizer_dir)) {
      if (!entry.is_regular_file()) continue;
      const auto name = entry.path().filename().string();
      const auto ext = entry.path().extension().string();
      if (name == "config.json" || name == "generation_config.json" || ext == ".safetensors" ||
          name.ends_with(".index.json"))
        continue;
      std::filesystem::copy_file(entry.path(), dir / name, std::filesystem::copy_options::overwrite_existing, ec);
      if (ec) fail(LMRT_STATUS_IO_ERROR, entry.path().string() + ": cannot copy: " + ec.message());
    }
  }
}

}  // namespace lmrt
