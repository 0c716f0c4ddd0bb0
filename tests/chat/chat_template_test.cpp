// Chat templates against the published Jinja templates, rendered with python3 + jinja2 the
// way Hugging Face's apply_chat_template does (sandboxed, trim_blocks, lstrip_blocks).
#include "lmrt/core/chat_template.hpp"

#include <gtest/gtest.h>
#include <sentencepiece_processor.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "lmrt/core/error.hpp"
#include "lmrt/core/tokenizer.hpp"

namespace lmrt {
namespace {

namespace fs = std::filesystem;
using Messages = std::vector<ChatMessage>;

fs::path testdata() { return LMRT_TESTDATA_DIR; }

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = fs::temp_directory_path() / ("lmrt-chat-" + std::to_string(rd()) + std::to_string(rd()));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  void write(const std::string& name, const std::string& text) const { std::ofstream(path_ / name, std::ios::binary) << text; }

 private:
  fs::path path_;
};

constexpr const char* kRenderScript = R"PY(
import json, sys
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.exceptions import TemplateError
def raise_exception(message):
    raise TemplateError(message)
req = json.load(open(sys.argv[1], encoding='utf-8'))
env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
env.globals['raise_exception'] = raise_exception
out = env.from_string(req['template']).render(messages=req['messages'], add_generation_prompt=req['add_generation_prompt'],
                                              bos_token=req['bos_token'], eos_token=req['eos_token'])
sys.stdout.write(json.dumps(out))
)PY";

bool have_jinja() {
  static const bool ok = std::system("python3 -c 'import jinja2' >/dev/null 2>&1") == 0;
  return ok;
}

// The reference rendering of `jinja` (nullopt if python3/jinja2 fails).
std::optional<std::string> render_jinja(const std::string& jinja, const Messages& messages, bool add_generation_prompt,
                                        const std::string& bos = "<s>", const std::string& eos = "</s>") {
  TempDir dir;
  nlohmann::json m = nlohmann::json::array();
  for (const auto& x : messages) m.push_back({{"role", x.role}, {"content", x.content}});
  dir.write("req.json", nlohmann::json{{"template", jinja},
                                       {"messages", m},
                                       {"add_generation_prompt", add_generation_prompt},
                                       {"bos_token", bos},
                                       {"eos_token", eos}}
                            .dump());
  dir.write("render.py", kRenderScript);
  const std::string cmd = "python3 " + (dir.path() / "render.py").string() + " " + (dir.path() / "req.json").string();
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return std::nullopt;
  std::string out;
  char buf[4096];
  for (std::size_t n; (n = fread(buf, 1, sizeof buf, pipe)) > 0;) out.append(buf, n);
  if (pclose(pipe) != 0) return std::nullopt;
  return nlohmann::json::parse(out).get<std::string>();
}

#define REQUIRE_JINJA() \
  if (!have_jinja()) GTEST_SKIP() << "python3 with jinja2 not found: no reference renderer"

const Messages kConversation = {{"system", "You are a concise assistant."},
                                {"user", "What is the capital of France?"},
                                {"assistant", "Paris."},
                                {"user", "  And of 中国? 🌏 "}};
const Messages kNoSystem = {{"user", "Hi there"}, {"assistant", " Hello! "}, {"user", "Tell me a joke."}};

std::string internlm2_jinja() {
  const auto cfg = nlohmann::json::parse(read_file(testdata() / "tokenizers/internlm2/tokenizer_config.json"));
  return cfg.at("chat_template").get<std::string>();
}

// Published templates (Hugging Face tokenizer_config.json of each model).
constexpr const char* kQwen2Jinja =  // Qwen/Qwen2-7B-Instruct
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\nYou are "
    "a helpful assistant.<|im_end|>\\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + "
    "'<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
constexpr const char* kLlama3Jinja =  // meta-llama/Meta-Llama-3-8B-Instruct
    "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + "
    "message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% "
    "set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ "
    "'<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}";
constexpr const char* kLlama2Jinja =  // meta-llama/Llama-2-7b-chat-hf
    "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = "
    "messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}{% "
    "for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ "
    "raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if "
    "loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + "
    "'\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}{% if "
    "message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == "
    "'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}";
// FastChat's vicuna_v1.1 conversation (sep " ", sep2 "</s>") written as Jinja, BOS first.
constexpr const char* kVicunaJinja =
    "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = "
    "messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = 'A chat between a "
    "curious user and an artificial intelligence assistant. The assistant gives helpful, detailed, and polite answers "
    "to the user\\'s questions.' %}{% endif %}{{ bos_token + system_message + ' ' }}{% for message in loop_messages %}{% "
    "if message['role'] == 'user' %}{{ 'USER: ' + message['content'] + ' ' }}{% else %}{{ 'ASSISTANT: ' + "
    "message['content'] + eos_token }}{% endif %}{% endfor %}{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}";

TEST(ChatTemplate, InternLM2MatchesItsJinjaTemplate) {
  REQUIRE_JINJA();
  if (!fs::exists(testdata() / "tokenizers/internlm2")) GTEST_SKIP() << "InternLM2 test data not found";
  const auto t = ChatTemplate::by_name("internlm2");
  for (bool gen : {true, false}) {
    EXPECT_EQ(t.render(kConversation, gen), render_jinja(internlm2_jinja(), kConversation, gen));
  }
  // Without a system message LMDeploy inserts InternLM2-chat's default one.
  Messages with_default = kNoSystem;
  with_default.insert(with_default.begin(), {"system", t.default_system()});
  EXPECT_EQ(t.render(kNoSystem, true), render_jinja(internlm2_jinja(), with_default, true));
  EXPECT_TRUE(t.default_system().starts_with("You are an AI assistant whose name is InternLM (书生·浦语).\n"));
  EXPECT_TRUE(t.default_system().ends_with("such as English and 中文."));
  EXPECT_EQ(t.stop_words(), (std::vector<std::string>{"<|im_end|>", "<|action_end|>"}));
}

TEST(ChatTemplate, OtherTemplatesMatchTheirPublishedJinja) {
  REQUIRE_JINJA();
  struct Case {
    const char* name;
    const char* jinja;
    const char* bos;
    const char* eos;
  };
  for (const Case& c : {Case{"qwen2", kQwen2Jinja, "", "<|endoftext|>"}, Case{"llama3", kLlama3Jinja, "<|begin_of_text|>", "<|eot_id|>"},
                        Case{"llama2", kLlama2Jinja, "<s>", "</s>"}, Case{"vicuna", kVicunaJinja, "<s>", "</s>"}}) {
    const auto t = ChatTemplate::by_name(c.name);
    for (const Messages* m : {&kConversation, &kNoSystem}) {
      for (bool gen : {true, false}) {
        EXPECT_EQ(t.render(*m, gen), render_jinja(c.jinja, *m, gen, c.bos, c.eos)) << c.name << " gen=" << gen;
      }
    }
  }
}

TEST(ChatTemplate, StopWordsAndNames) {
  EXPECT_EQ(ChatTemplate::by_name("qwen2").stop_words().front(), "<|im_end|>");
  EXPECT_EQ(ChatTemplate::by_name("llama3").stop_words().front(), "<|eot_id|>");
  EXPECT_EQ(ChatTemplate::by_name("llama2").stop_words(), std::vector<std::string>{"</s>"});
  EXPECT_TRUE(ChatTemplate::by_name("raw").stop_words().empty());
  for (const auto& n : ChatTemplate::names()) EXPECT_EQ(ChatTemplate::by_name(n).name(), n);
}

TEST(ChatTemplate, RawJoinsContentsAndUsesTokenizerBos) {
  const auto t = ChatTemplate::by_name("raw");
  EXPECT_EQ(t.render({{"user", "Once upon"}, {"assistant", " a time"}}, true), "Once upon a time");
  EXPECT_TRUE(t.encode_with_special_tokens());
  EXPECT_FALSE(ChatTemplate::by_name("internlm2").encode_with_special_tokens());
}

TEST(ChatTemplate, UnknownNameListsTheNames) {
  try {
    ChatTemplate::by_name("chatml");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), LMRT_STATUS_INVALID_ARGUMENT);
    const std::string what = e.what();
    EXPECT_NE(what.find("chatml"), std::string::npos);
    for (const auto& n : ChatTemplate::names()) EXPECT_NE(what.find(n), std::string::npos) << what;
  }
}

TEST(ChatTemplate, UnknownRoleIsAnErrorNamingIt) {
  for (const auto& n : ChatTemplate::names()) {
    try {
      ChatTemplate::by_name(n).render({{"user", "hi"}, {"tool", "42"}}, true);
      FAIL() << n;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), LMRT_STATUS_INVALID_ARGUMENT);
      EXPECT_NE(std::string(e.what()).find("'tool'"), std::string::npos) << e.what();
    }
  }
}

TEST(ChatTemplate, Llama2RequiresAlternatingRoles) {
  try {
    ChatTemplate::by_name("llama2").render({{"user", "a"}, {"user", "b"}}, true);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), LMRT_STATUS_INVALID_ARGUMENT);
    EXPECT_NE(std::string(e.what()).find("alternate"), std::string::npos) << e.what();
  }
}

// Rendered text + encode(add_special_tokens=false) == what HF's apply_chat_template(
// tokenize=True) produces: the text split at special tokens, each plain part encoded by
// sentencepiece on its own (the reference library here), BOS exactly once.
TEST(ChatTemplate, InternLM2PromptIdsMatchHuggingFaceTokenization) {
  const fs::path dir = testdata() / "tokenizers/internlm2";
  if (!fs::exists(dir)) GTEST_SKIP() << "InternLM2 test data not found";
  const auto tok = Tokenizer::load(dir);
  const auto t = ChatTemplate::by_name("internlm2");
  const std::string text = t.render(kConversation, true);
  const auto ids = tok->encode(text, t.encode_with_special_tokens());

  sentencepiece::SentencePieceProcessor sp;
  ASSERT_TRUE(sp.Load((dir / "tokenizer.model").string()).ok());
  const std::vector<std::pair<std::string, int32_t>> specials = {{"<s>", 1}, {"<|im_start|>", 92543}, {"<|im_end|>", 92542}};
  std::vector<int32_t> expected;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t next = std::string::npos;
    std::pair<std::string, int32_t> hit;
    for (const auto& s : specials) {
      const std::size_t p = text.find(s.first, pos);
      if (p < next) next = p, hit = s;
    }
    const std::string plain = text.substr(pos, next == std::string::npos ? std::string::npos : next - pos);
    if (!plain.empty()) {
      std::vector<int> part;
      ASSERT_TRUE(sp.Encode(plain, &part).ok());
      expected.insert(expected.end(), part.begin(), part.end());
    }
    if (next == std::string::npos) break;
    expected.push_back(hit.second);
    pos = next + hit.first.size();
  }
  EXPECT_EQ(ids, expected);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 1), 1);
  EXPECT_EQ(ids.front(), 1);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 92543), 5);  // 4 turns + the generation prompt
}

TEST(ChatTemplate, DetectsFromModelFolders) {
  if (fs::exists(testdata() / "tokenizers/internlm2")) {
    EXPECT_EQ(ChatTemplate::detect(testdata() / "tokenizers/internlm2"), "internlm2");  // via tokenizer_class
  }
  if (fs::exists(testdata() / "models/stories260k")) {
    EXPECT_EQ(ChatTemplate::detect(testdata() / "models/stories260k"), "raw");  // a base model
    EXPECT_EQ(ChatTemplate::detect(testdata() / "models/stories260k-internlm2"), "raw");
  }
  struct Case {
    const char* model_type;
    const char* chat_template;
    const char* expected;
  };
  for (const Case& c : {Case{"internlm2", "{{ bos_token }}<|im_start|>", "internlm2"}, Case{"qwen2", kQwen2Jinja, "qwen2"},
                        Case{"llama", kLlama2Jinja, "llama2"}, Case{"llama", kLlama3Jinja, "llama3"},
                        Case{"llama", kVicunaJinja, "vicuna"}, Case{"llama", nullptr, "raw"}}) {
    TempDir dir;
    dir.write("config.json", nlohmann::json{{"model_type", c.model_type}}.dump());
    nlohmann::json cfg = nlohmann::json::object();
    if (c.chat_template) cfg["chat_template"] = c.chat_template;
    dir.write("tokenizer_config.json", cfg.dump());
    EXPECT_EQ(ChatTemplate::detect(dir.path()), c.expected) << c.model_type;
  }
}

TEST(ChatTemplate, DetectReportsMalformedJson) {
  TempDir dir;
  dir.write("config.json", "{\"model_type\": ");
  try {
    ChatTemplate::detect(dir.path());
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), LMRT_STATUS_MODEL_ERROR);
    EXPECT_NE(std::string(e.what()).find("config.json"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace lmrt
