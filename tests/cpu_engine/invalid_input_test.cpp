// Every malformed input gives a clear error status, and the engine keeps working.
#include <functional>
#include <string>

#include "test_util.hpp"

namespace cpu_test {
namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

class InvalidStep : public ::testing::Test {
 protected:
  void SetUp() override {
    SKIP_WITHOUT_PLUGIN();
    model_ = std::make_unique<RandomModel>(spec_);
    Result r;
    engine_ = Engine::create(model_->desc(), "num_threads: 2", &r);
    ASSERT_TRUE(engine_) << r.message;
    ASSERT_TRUE(engine_->allocate(8, 4).ok());
    tokens_ = random_tokens(6, spec_.vocab_size, 1);
  }

  // The reference result of a valid step, on a fresh engine.
  lmrt_token_logprobs fresh_result() {
    Result r;
    auto engine = Engine::create(model_->desc(), "num_threads: 2", &r);
    EXPECT_TRUE(engine) << r.message;
    EXPECT_TRUE(engine->allocate(8, 4).ok());
    std::vector<lmrt_token_logprobs> out;
    EXPECT_TRUE(engine->step({make_seq(1, tokens_.data(), 6, 0, {3, 1}, &greedy_)}, &out).ok());
    return out[0];
  }

  ModelSpec spec_;
  std::unique_ptr<RandomModel> model_;
  std::unique_ptr<Engine> engine_;
  std::vector<int32_t> tokens_;
  lmrt_sampling_params greedy_ = greedy_params();
};

TEST_F(InvalidStep, EachViolationIsNamedAndTheEngineStaysUsable) {
  const std::vector<int32_t> table = {3, 1};
  static const int32_t bad_token[] = {1, 2, 20};
  static const int32_t negative_token[] = {-1};
  static const std::vector<int32_t> out_of_range_table = {3, 8};
  static const std::vector<int32_t> negative_table = {-2, 1};
  static const std::vector<int32_t> short_table = {3};
  struct Case {
    const char* what;
    std::vector<std::string> message_parts;
    std::function<void(std::vector<lmrt_step_seq>&, lmrt_sampling_params&)> edit;
  };
  const std::vector<Case> cases = {
      {"num_tokens 0", {"sequence 1 ", "num_tokens"}, [](auto& s, auto&) { s[0].num_tokens = 0; }},
      {"token >= vocab", {"sequence 1 ", "tokens[2] = 20"}, [](auto& s, auto&) { s[0].tokens = bad_token, s[0].num_tokens = 3; }},
      {"negative token", {"sequence 1 ", "tokens[0] = -1"}, [](auto& s, auto&) { s[0].tokens = negative_token, s[0].num_tokens = 1; }},
      {"tokens NULL", {"sequence 1 ", "tokens is NULL"}, [](auto& s, auto&) { s[0].tokens = nullptr; }},
      {"block id too large", {"sequence 1 ", "block_table[1] = 8"},
       [](auto& s, auto&) { s[0].block_table = out_of_range_table.data(); }},
      {"negative block id", {"sequence 1 ", "block_table[0] = -2"},
       [](auto& s, auto&) { s[0].block_table = negative_table.data(); }},
      {"too few blocks", {"sequence 1 ", "block_table has 1 blocks"},
       [](auto& s, auto&) { s[0].block_table = short_table.data(), s[0].num_blocks = 1; }},
      {"start_pos beyond blocks", {"sequence 1 ", "start_pos + num_tokens"}, [](auto& s, auto&) { s[0].start_pos = 5; }},
      {"block_table NULL", {"sequence 1 ", "block_table is NULL"}, [](auto& s, auto&) { s[0].block_table = nullptr; }},
      {"duplicate seq_id", {"sequence 1 ", "seq_id is also used"},
       [](auto& s, auto&) { s.push_back(s[0]); }},
      {"shared written block", {"sequence 2 ", "block 3", "also written"},
       [](auto& s, auto&) { s.push_back(s[0]), s[1].seq_id = 2; }},
      {"struct_size", {"batch index 0", "struct_size"}, [](auto& s, auto&) { s[0].struct_size = 4; }},
      {"temperature NaN", {"sequence 1", "sampling.temperature"}, [](auto&, auto& p) { p.temperature = NAN; }},
      {"top_logprobs 21", {"sequence 1", "sampling.top_logprobs"}, [](auto&, auto& p) { p.top_logprobs = 21; }},
      {"banned token out of range", {"sequence 1", "sampling.banned_tokens[0]"},
       [](auto&, auto& p) { p.banned_tokens = bad_token + 2, p.num_banned_tokens = 1; }},
      {"penalty token out of range", {"sequence 1", "sampling.penalty_tokens[2]"},
       [](auto&, auto& p) { p.penalty_tokens = bad_token, p.num_penalty_tokens = 3; }},
  };
  for (const Case& c : cases) {
    lmrt_sampling_params params = greedy_;
    std::vector<lmrt_step_seq> seqs = {make_seq(1, tokens_.data(), 6, 0, table, &params)};
    c.edit(seqs, params);
    std::vector<lmrt_token_logprobs> out;
    const Result r = engine_->step(seqs, &out);
    EXPECT_EQ(r.code, LMRT_STATUS_INVALID_ARGUMENT) << c.what << ": " << r.message;
    for (const std::string& part : c.message_parts) EXPECT_TRUE(contains(r.message, part)) << c.what << ": " << r.message;
  }
  // Nothing above touched the engine: a valid step gives what a fresh engine gives.
  std::vector<lmrt_token_logprobs> out;
  const Result r = engine_->step({make_seq(1, tokens_.data(), 6, 0, table, &greedy_)}, &out);
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_TRUE(same_bits(out[0], fresh_result()));
}

TEST_F(InvalidStep, NullPointersAndBadBatchesAreErrors) {
  const lmrt_engine_api* api = cpu_plugin().api;
  lmrt_token_logprobs out{};
  out.struct_size = sizeof out;
  EXPECT_EQ(take(api->step(engine_->raw(), nullptr, &out)).code, LMRT_STATUS_INVALID_ARGUMENT);
  lmrt_step_seq seq = make_seq(1, tokens_.data(), 6, 0, {3, 1}, &greedy_);
  const std::vector<int32_t> table = {3, 1};
  seq.block_table = table.data();
  lmrt_step_batch batch{sizeof(lmrt_step_batch), 1, &seq};
  EXPECT_EQ(take(api->step(nullptr, &batch, &out)).code, LMRT_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(take(api->step(engine_->raw(), &batch, nullptr)).code, LMRT_STATUS_INVALID_ARGUMENT);
  lmrt_step_batch no_seqs{sizeof(lmrt_step_batch), 1, nullptr};
  EXPECT_EQ(take(api->step(engine_->raw(), &no_seqs, &out)).code, LMRT_STATUS_INVALID_ARGUMENT);
  out.struct_size = 4;
  const Result small = take(api->step(engine_->raw(), &batch, &out));
  EXPECT_EQ(small.code, LMRT_STATUS_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(small.message, "outputs[0].struct_size")) << small.message;
  lmrt_step_batch empty{sizeof(lmrt_step_batch), 0, nullptr};
  EXPECT_TRUE(take(api->step(engine_->raw(), &empty, nullptr)).ok()) << "an empty batch is a no-op";
  api->destroy(nullptr);  // a no-op
}

TEST(InvalidStepBeforeCache, StepWithoutAllocatedCacheIsAnError) {
  SKIP_WITHOUT_PLUGIN();
  RandomModel model{ModelSpec{}};
  Result r;
  auto engine = Engine::create(model.desc(), "", &r);
  ASSERT_TRUE(engine) << r.message;
  const int32_t token = 1;
  const lmrt_sampling_params greedy = greedy_params();
  std::vector<lmrt_token_logprobs> out;
  const Result s = engine->step({make_seq(1, &token, 1, 0, {0}, &greedy)}, &out);
  EXPECT_EQ(s.code, LMRT_STATUS_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(s.message, "allocate_cache")) << s.message;
}

// ---- create ----

struct CreateCase {
  std::string name;
  std::function<void(RandomModel&, lmrt_model_desc&)> edit;
  lmrt_status_code code;
  std::vector<std::string> message_parts;
};

TEST(InvalidCreate, BadModelsAreRejectedNamingTheProblem) {
  SKIP_WITHOUT_PLUGIN();
  auto find = [](RandomModel& m, const std::string& name) -> lmrt_tensor_view& {
    for (auto& v : m.views())
      if (name == v.name) return v;
    throw std::runtime_error("no tensor " + name);
  };
  const std::vector<CreateCase> cases = {
      {"missing tensor",
       [&](RandomModel& m, lmrt_model_desc& d) {
         auto& views = m.views();
         views.erase(std::find_if(views.begin(), views.end(),
                                  [](auto& v) { return std::string(v.name) == "layers.1.feed_forward.w3"; }));
         d.num_tensors = static_cast<uint32_t>(views.size());
         d.tensors = views.data();
       },
       LMRT_STATUS_MODEL_ERROR, {"layers.1.feed_forward.w3", "missing"}},
      {"wrong shape", [&](RandomModel& m, lmrt_model_desc&) { find(m, "layers.0.attention.wk").shape[0] = 15; },
       LMRT_STATUS_MODEL_ERROR, {"layers.0.attention.wk", "[15, 32]", "[16, 32]"}},
      {"wrong rank", [&](RandomModel& m, lmrt_model_desc&) { find(m, "norm").ndim = 2; }, LMRT_STATUS_MODEL_ERROR,
       {"'norm'", "shape"}},
      {"wrong byte count", [&](RandomModel& m, lmrt_model_desc&) { find(m, "output").nbytes -= 4; },
       LMRT_STATUS_MODEL_ERROR, {"'output'", "bytes"}},
      {"integer dtype", [&](RandomModel& m, lmrt_model_desc&) { find(m, "tok_embeddings").dtype = LMRT_DTYPE_I32; },
       LMRT_STATUS_MODEL_ERROR, {"tok_embeddings", "I32"}},
      {"missing bias", [&](RandomModel&, lmrt_model_desc& d) { d.has_qkv_bias = 1; }, LMRT_STATUS_MODEL_ERROR,
       {"layers.0.attention.bq", "missing"}},
      {"heads not a multiple of kv heads", [&](RandomModel&, lmrt_model_desc& d) { d.num_kv_heads = 3; },
       LMRT_STATUS_MODEL_ERROR, {"num_heads", "num_kv_heads"}},
      {"zero vocab", [&](RandomModel&, lmrt_model_desc& d) { d.vocab_size = 0; }, LMRT_STATUS_MODEL_ERROR,
       {"vocab_size"}},
      {"awq format", [&](RandomModel&, lmrt_model_desc& d) { d.format = "awq"; }, LMRT_STATUS_UNSUPPORTED, {"awq"}},
      {"old struct", [&](RandomModel&, lmrt_model_desc& d) { d.struct_size = 16; }, LMRT_STATUS_ABI_MISMATCH,
       {"struct_size"}},
      {"dynamic without original max", [&](RandomModel&, lmrt_model_desc& d) {
         d.rope_scaling_type = LMRT_ROPE_SCALING_DYNAMIC, d.rope_scaling_factor = 2.f, d.original_max_position_embeddings = 0;
       },
       LMRT_STATUS_MODEL_ERROR, {"original_max_position_embeddings"}},
      {"unknown rope scaling", [&](RandomModel&, lmrt_model_desc& d) { d.rope_scaling_type = 9; },
       LMRT_STATUS_MODEL_ERROR, {"rope_scaling_type"}},
  };
  for (const CreateCase& c : cases) {
    RandomModel model{ModelSpec{}};
    lmrt_model_desc desc = model.desc();
    c.edit(model, desc);
    Result r;
    auto engine = Engine::create(desc, "", &r);
    EXPECT_FALSE(engine) << c.name;
    EXPECT_EQ(r.code, c.code) << c.name << ": " << r.message;
    for (const auto& part : c.message_parts) EXPECT_TRUE(contains(r.message, part)) << c.name << ": " << r.message;
  }
}

TEST(InvalidCreate, BadEngineConfigsAreConfigErrors) {
  SKIP_WITHOUT_PLUGIN();
  RandomModel model{ModelSpec{}};
  const std::pair<const char*, const char*> cases[] = {
      {"num_threads: -1", "num_threads"}, {"num_threads: many", "num_threads"}, {"num_threads: [1, 2]", "num_threads"},
      {"dtype: int8", "dtype"},           {"{ unclosed", "YAML"},              {"- a list", "mapping"},
  };
  for (const auto& [yaml, key] : cases) {
    Result r;
    auto engine = Engine::create(model.desc(), yaml, &r);
    EXPECT_FALSE(engine) << yaml;
    EXPECT_EQ(r.code, LMRT_STATUS_CONFIG_ERROR) << yaml << ": " << r.message;
    EXPECT_TRUE(contains(r.message, key)) << yaml << ": " << r.message;
  }
  for (const char* ok : {"", "dtype: float16\nnum_threads: 0", "dtype: auto\nbackend: cpu\nsession_len: 128",
                         "dtype: bfloat16", "dtype: float32"}) {
    Result r;
    EXPECT_TRUE(Engine::create(model.desc(), ok, &r)) << ok << ": " << r.message;
  }
}

TEST(InvalidCreate, NullArgumentsAreErrors) {
  SKIP_WITHOUT_PLUGIN();
  const lmrt_engine_api* api = cpu_plugin().api;
  lmrt_engine* engine = nullptr;
  EXPECT_EQ(take(api->create(test_host(), nullptr, &engine)).code, LMRT_STATUS_INVALID_ARGUMENT);
  lmrt_engine_create_params params{};
  params.struct_size = sizeof params;
  EXPECT_EQ(take(api->create(test_host(), &params, &engine)).code, LMRT_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(engine, nullptr);
}

}  // namespace
}  // namespace cpu_test
