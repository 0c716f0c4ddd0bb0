// Chat templates: turn a conversation into the prompt text a chat model was trained on
// (docs/tokenizers.md). Built in: internlm2, llama2, llama3, qwen2, vicuna, raw.
//
// BOS rule: a template writes the BOS token text into the prompt itself where the model's
// Hugging Face chat_template does ("<s>" for internlm2/llama2/vicuna, "<|begin_of_text|>"
// for llama3; qwen2 has none), and the rendered text is then encoded with
// add_special_tokens = encode_with_special_tokens() -- false for every template but raw.
// This gives exactly the ids of HF's apply_chat_template(tokenize=True). `raw` adds no
// markup, so its text is encoded with the tokenizer's own BOS rule (true).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace lmrt {

struct ChatMessage {
  std::string role;  // "system", "user" or "assistant"
  std::string content;
};

class ChatTemplate {
 public:
  // The built-in template `name`; throws INVALID_ARGUMENT listing the names otherwise.
  static ChatTemplate by_name(std::string_view name);
  static std::vector<std::string> names();
  // The template for a model folder, from config.json (model_type, architectures) and
  // tokenizer_config.json's chat_template text; "raw" when the model has no template.
  // Throws MODEL_ERROR for malformed JSON.
  static std::string detect(const std::filesystem::path& model_dir);

  // The prompt for `messages`; with add_generation_prompt it ends with the assistant's
  // header so the model answers. Throws INVALID_ARGUMENT naming an unknown role, or a
  // conversation the template cannot express (e.g. llama2 roles that do not alternate).
  std::string render(const std::vector<ChatMessage>& messages, bool add_generation_prompt) const;

  // Strings that end the assistant's turn (generation stops there).
  std::vector<std::string> stop_words() const;
  const std::string& name() const { return name_; }
  // The system prompt used when the conversation has none ("" for none).
  const std::string& default_system() const { return default_system_; }
  void set_default_system(std::string system) { default_system_ = std::move(system); }
  // How to encode render()'s output (see the BOS rule above).
  bool encode_with_special_tokens() const { return name_ == "raw"; }

 private:
  ChatTemplate(std::string name, std::string default_system)
      : name_(std::move(name)), default_system_(std::move(default_system)) {}

  std::string name_;
  std::string default_system_;
};

}  // namespace lmrt
