#include "lmrt/core/chat_template.hpp"

#include "lmrt/core/error.hpp"
#include "tokenizer/unicode_tables.hpp"
#include "tokenizer/utf8.hpp"

namespace lmrt {
namespace {

// InternLM2-chat's system prompt as LMDeploy uses it when the conversation has none.
constexpr const char* kInternLM2System =
    "You are an AI assistant whose name is InternLM (书生·浦语).\n"
    "- InternLM (书生·浦语) is a conversational language model that is developed by Shanghai AI Laboratory "
    "(上海人工智能实验室). It is designed to be helpful, honest, and harmless.\n"
    "- InternLM (书生·浦语) can understand and communicate fluently in the language chosen by the user such as "
    "English and 中文.";
constexpr const char* kQwenSystem = "You are a helpful assistant.";
// FastChat's vicuna_v1.1 system prompt.
constexpr const char* kVicunaSystem =
    "A chat between a curious user and an artificial intelligence assistant. The assistant gives helpful, "
    "detailed, and polite answers to the user's questions.";

const std::vector<std::string>& all_names() {
  static const std::vector<std::string> n = {"internlm2", "llama2", "llama3", "qwen2", "vicuna", "raw"};
  return n;
}

bool strip_char(char32_t c) { return unicode::is_whitespace(c) || (c >= 0x1C && c <= 0x1F); }

// Python's str.strip() (what the Jinja templates' strip()/trim do).
std::string py_strip(std::string_view s) {
  std::size_t b = 0, e = s.size();
  while (b < e) {
    const std::size_t n = utf8::sequence_length(s.substr(b));
    if (n == 0 || !strip_char(utf8::decode_at(s, b, n))) break;
    b += n;
  }
  while (e > b) {
    std::size_t k = e - 1;
    while (k > b && (static_cast<unsigned char>(s[k]) & 0xC0) == 0x80) --k;
    const std::size_t n = utf8::sequence_length(s.substr(k, e - k));
    if (n != e - k || !strip_char(utf8::decode_at(s, k, n))) break;
    e = k;
  }
  return std::string(s.substr(b, e - b));
}

void check_roles(const std::vector<ChatMessage>& messages) {
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const std::string& r = messages[i].role;
    if (r != "system" && r != "user" && r != "assistant") {
      fail(LMRT_STATUS_INVALID_ARGUMENT, "chat message " + std::to_string(i) + " has role '" + r +
                                             "' (the roles are system, user and assistant)");
    }
  }
}

// ChatML (internlm2, qwen2): <|im_start|>role\ncontent<|im_end|>\n ...
std::string render_chatml(const std::vector<ChatMessage>& m, bool gen, const std::string& bos,
                          const std::string& default_system) {
  std::string out = bos;
  auto turn = [&](const std::string& role, const std::string& content) {
    out += "<|im_start|>" + role + "\n" + content + "<|im_end|>\n";
  };
  if (!default_system.empty() && (m.empty() || m[0].role != "system")) turn("system", default_system);
  for (const ChatMessage& x : m) turn(x.role, x.content);
  if (gen) out += "<|im_start|>assistant\n";
  return out;
}

std::string render_llama3(const std::vector<ChatMessage>& m, bool gen, const std::string& default_system) {
  std::string out = "<|begin_of_text|>";
  auto turn = [&](const std::string& role, const std::string& content) {
    out += "<|start_header_id|>" + role + "<|end_header_id|>\n\n" + py_strip(content) + "<|eot_id|>";
  };
  if (!default_system.empty() && (m.empty() || m[0].role != "system")) turn("system", default_system);
  for (const ChatMessage& x : m) turn(x.role, x.content);
  if (gen) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
  return out;
}

// Splits an optional leading system message off and checks that the rest alternates
// user/assistant starting with user (what the llama2 and vicuna templates require).
std::vector<const ChatMessage*> alternating_turns(const std::vector<ChatMessage>& m, const char* name,
                                                  std::string& system) {
  std::vector<const ChatMessage*> turns;
  for (std::size_t i = 0; i < m.size(); ++i) {
    if (i == 0 && m[i].role == "system") {
      system = m[i].content;
      continue;
    }
    const bool want_user = turns.size() % 2 == 0;
    if ((m[i].role == "user") != want_user || m[i].role == "system") {
      fail(LMRT_STATUS_INVALID_ARGUMENT, std::string(name) + " template: message " + std::to_string(i) + " has role '" +
                                             m[i].role +
                                             "', but after an optional first system message the roles must "
                                             "alternate user/assistant/user/...");
    }
    turns.push_back(&m[i]);
  }
  return turns;
}

// meta-llama/Llama-2-*-chat-hf: <s>[INST] <<SYS>>\nsys\n<</SYS>>\n\nuser [/INST] answer </s>
std::string render_llama2(const std::vector<ChatMessage>& m, const std::string& default_system) {
  std::string system = default_system;
  const auto turns = alternating_turns(m, "llama2", system);
  std::string out;
  for (std::size_t i = 0; i < turns.size(); ++i) {
    std::string content = turns[i]->content;
    if (i == 0 && !system.empty()) content = "<<SYS>>\n" + system + "\n<</SYS>>\n\n" + content;
    if (turns[i]->role == "user") out += "<s>[INST] " + py_strip(content) + " [/INST]";
    else out.append(" ").append(py_strip(content)).append(" </s>");
  }
  return out;  // the prompt already ends with [/INST]: there is no separate generation prompt
}

// FastChat's vicuna_v1.1: <s>SYSTEM USER: hi ASSISTANT: hello</s>USER: again ASSISTANT:
std::string render_vicuna(const std::vector<ChatMessage>& m, bool gen, const std::string& default_system) {
  std::string system = default_system;
  const auto turns = alternating_turns(m, "vicuna", system);
  std::string out = "<s>" + system + " ";
  for (const ChatMessage* t : turns) {
    if (t->role == "user") out += "USER: " + t->content + " ";
    else out += "ASSISTANT: " + t->content + "</s>";
  }
  if (gen) out += "ASSISTANT:";
  return out;
}

}  // namespace

std::vector<std::string> ChatTemplate::names() { return all_names(); }

ChatTemplate ChatTemplate::by_name(std::string_view name) {
  if (name == "internlm2") return ChatTemplate("internlm2", kInternLM2System);
  if (name == "qwen2") return ChatTemplate("qwen2", kQwenSystem);
  if (name == "vicuna") return ChatTemplate("vicuna", kVicunaSystem);
  if (name == "llama2" || name == "llama3" || name == "raw") return ChatTemplate(std::string(name), "");
  std::string list;
  for (const auto& n : all_names()) list += (list.empty() ? "" : ", ") + n;
  fail(LMRT_STATUS_INVALID_ARGUMENT, "unknown chat template '" + std::string(name) + "' (known: " + list + ")");
}

std::string ChatTemplate::render(const std::vector<ChatMessage>& messages, bool add_generation_prompt) const {
  check_roles(messages);
  if (name_ == "internlm2") return render_chatml(messages, add_generation_prompt, "<s>", default_system_);
  if (name_ == "qwen2") return render_chatml(messages, add_generation_prompt, "", default_system_);
  if (name_ == "llama3") return render_llama3(messages, add_generation_prompt, default_system_);
  if (name_ == "llama2") return render_llama2(messages, default_system_);
  if (name_ == "vicuna") return render_vicuna(messages, add_generation_prompt, default_system_);
  std::string out;  // raw: the contents as they are
  if (!default_system_.empty() && (messages.empty() || messages[0].role != "system")) out += default_system_;
  for (const ChatMessage& m : messages) out += m.content;
  return out;
}

std::vector<std::string> ChatTemplate::stop_words() const {
  if (name_ == "internlm2") return {"<|im_end|>", "<|action_end|>"};
  if (name_ == "qwen2") return {"<|im_end|>", "<|endoftext|>"};
  if (name_ == "llama3") return {"<|eot_id|>", "<|end_of_text|>"};
  if (name_ == "llama2" || name_ == "vicuna") return {"</s>"};
  return {};
}

}  // namespace lmrt
