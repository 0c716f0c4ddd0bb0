// tokenizer.json (Hugging Face `tokenizers`) with a BPE model: the sentencepiece-style
// flavour (Metaspace or Prepend/Replace normalizer, byte fallback, Replace/ByteFallback/
// Fuse/Strip decoder) and the byte-level flavour (Split with the GPT-2/Qwen2/Llama 3
// pattern, ByteLevel pre-tokenizer and decoder). Components this file does not know are
// rejected with UNSUPPORTED naming them, rather than tokenizing differently.
#include <algorithm>
#include <cstdio>

#include "lmrt/core/error.hpp"
#include "lmrt/core/log.hpp"
#include "tokenizer/added_vocabulary.hpp"
#include "tokenizer/bpe_model.hpp"
#include "tokenizer/byte_level.hpp"
#include "tokenizer/split_pattern.hpp"
#include "tokenizer/tokenizer_config.hpp"
#include "tokenizer/tokenizer_formats.hpp"
#include "tokenizer/utf8.hpp"

namespace lmrt::tokenizer_formats {
namespace {

using nlohmann::json;

constexpr std::string_view kMetaspace = "\xE2\x96\x81";  // "▁"

[[noreturn]] void unsupported(const std::string& what) {
  fail(LMRT_STATUS_UNSUPPORTED, "tokenizer.json: unsupported " + what);
}
[[noreturn]] void malformed(const std::string& what) { fail(LMRT_STATUS_MODEL_ERROR, "tokenizer.json: " + what); }

std::string replace_all(std::string s, std::string_view from, std::string_view to) {
  if (from.empty()) return s;
  for (std::size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size())) s.replace(p, from.size(), to);
  return s;
}

// Flattens {"type": "Sequence", <key>: [...]} into a list of steps; null gives none.
std::vector<json> steps(const json& j, const char* key) {
  std::vector<json> out;
  if (j.is_null()) return out;
  if (!j.is_object() || !j.contains("type")) malformed(std::string("a ") + key + " entry without a type");
  if (j["type"] == "Sequence") {
    for (const json& e : j.value(key, json::array())) {
      auto inner = steps(e, key);
      out.insert(out.end(), inner.begin(), inner.end());
    }
  } else {
    out.push_back(j);
  }
  return out;
}

std::string string_pattern(const json& step, const std::string& where) {
  const json& p = step.value("pattern", json());
  if (p.is_object() && p.contains("String")) return p["String"].get<std::string>();
  unsupported(where + " pattern " + p.dump() + " (only {\"String\": ...} is supported)");
}

struct Normalizer {
  enum Kind { Prepend, Replace, Identity } kind;
  std::string a, b;
};

struct PreTokenizer {
  enum Kind { Metaspace, ByteLevel, Split } kind;
  std::string replacement = std::string(kMetaspace);
  enum Prepend { Always, First, Never } prepend = Always;
  bool split = true;         // Metaspace: split on the replacement
  bool use_regex = false;    // ByteLevel: GPT-2 split before mapping
  bool add_prefix_space = false;
  SplitPattern pattern = SplitPattern::Gpt2;
};

class HfJsonTokenizer final : public Tokenizer {
 public:
  explicit HfJsonTokenizer(const std::filesystem::path& dir) {
    const auto file = dir / "tokenizer.json";
    const json j = read_json_file(file);
    try {
      parse(j);
    } catch (const json::exception& e) {
      malformed(std::string("unexpected structure: ") + e.what());
    }
    apply_config(TokenizerConfig::read(dir));
  }

  std::vector<int32_t> encode(std::string_view text, bool add_special_tokens) const override {
    const std::string clean = utf8::sanitize(text);
    std::vector<int32_t> ids;
    if (add_special_tokens) ids = prefix_;
    std::vector<std::string> words;
    for (const auto& seg : added_.split(clean)) {
      if (seg.id >= 0) {
        ids.push_back(seg.id);
        continue;
      }
      words.clear();
      pre_tokenize(normalize(seg.text), seg.offset == 0, words);
      for (const std::string& w : words) model_->encode_word(w, ids);
    }
    if (add_special_tokens) ids.insert(ids.end(), suffix_.begin(), suffix_.end());
    return ids;
  }

  int32_t vocab_size() const override { return vocab_size_; }
  std::optional<int32_t> bos_id() const override { return bos_; }
  std::vector<int32_t> eos_ids() const override { return eos_; }
  bool add_bos() const override { return bos_ && std::find(prefix_.begin(), prefix_.end(), *bos_) != prefix_.end(); }
  bool add_eos() const override { return !eos_.empty() && std::find(suffix_.begin(), suffix_.end(), eos_[0]) != suffix_.end(); }

  bool is_special(int32_t id) const override {
    const AddedToken* t = added_.find(id);
    return t && t->special;
  }

  std::optional<int32_t> token_to_id(std::string_view piece) const override {
    if (auto id = added_.find(piece)) return id;
    return model_->id(piece);
  }

  std::string id_to_piece(int32_t id) const override {
    check_id(id);
    if (const AddedToken* t = added_.find(id)) return t->content;
    const std::string* p = model_->piece(id);
    return p ? *p : std::string();
  }

  std::string token_bytes(int32_t id) const override {
    check_id(id);
    if (const AddedToken* t = added_.find(id)) return t->content;
    const std::string* p = model_->piece(id);
    if (!p) return {};
    if (byte_fallback_decoder_ && p->size() == 6 && p->compare(0, 3, "<0x") == 0 && (*p)[5] == '>') {
      unsigned value = 0;
      if (std::sscanf(p->c_str() + 3, "%2X", &value) == 1) return std::string(1, static_cast<char>(value));
    }
    if (byte_level_decoder_) return byte_level::decode(*p);
    std::string s = *p;
    for (const auto& [from, to] : decoder_replacements_) s = replace_all(std::move(s), from, to);
    return s;
  }

  bool strips_leading_space() const override { return strips_leading_space_; }

 private:
  void parse(const json& j) {
    if (!j.is_object()) malformed("expected a JSON object");
    const json& model = j.at("model");
    const std::string type = model.value("type", "BPE");
    if (type != "BPE") unsupported("model type '" + type + "' (only BPE)");
    if (!model.value("continuing_subword_prefix", json()).is_null() || !model.value("end_of_word_suffix", json()).is_null()) {
      unsupported("BPE continuing_subword_prefix / end_of_word_suffix");
    }
    if (!model.value("dropout", json()).is_null() && model["dropout"].get<double>() > 0) unsupported("BPE dropout");

    std::unordered_map<std::string, int32_t> vocab;
    for (const auto& [piece, id] : model.at("vocab").items()) vocab.emplace(piece, id.get<int32_t>());
    std::vector<std::pair<std::string, std::string>> merges;
    for (const json& m : model.value("merges", json::array())) {
      if (m.is_string()) {  // "a b"
        const std::string s = m.get<std::string>();
        const auto sp = s.find(' ');
        if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos) malformed("merge '" + s + "' is not two pieces");
        merges.emplace_back(s.substr(0, sp), s.substr(sp + 1));
      } else if (m.is_array() && m.size() == 2) {  // ["a", "b"]
        merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
      } else {
        malformed("merge " + m.dump() + " is neither \"a b\" nor [a, b]");
      }
    }
    BpeModel::Options opt;
    if (model.contains("unk_token") && model["unk_token"].is_string()) opt.unk_token = model["unk_token"].get<std::string>();
    opt.byte_fallback = model.value("byte_fallback", false);
    opt.fuse_unk = model.value("fuse_unk", false);
    opt.ignore_merges = model.value("ignore_merges", false);
    model_ = std::make_unique<BpeModel>(std::move(vocab), merges, opt);

    for (const json& t : j.value("added_tokens", json::array())) {
      added_.add({t.at("id").get<int32_t>(), t.at("content").get<std::string>(), t.value("special", false),
                  t.value("lstrip", false), t.value("rstrip", false)});
    }
    parse_normalizer(j.value("normalizer", json()));
    parse_pre_tokenizer(j.value("pre_tokenizer", json()));
    parse_post_processor(j.value("post_processor", json()));
    parse_decoder(j.value("decoder", json()));
  }

  void parse_normalizer(const json& n) {
    for (const json& s : steps(n, "normalizers")) {
      const std::string type = s["type"];
      if (type == "Prepend") {
        normalizers_.push_back({Normalizer::Prepend, s.at("prepend").get<std::string>(), {}});
      } else if (type == "Replace") {
        normalizers_.push_back({Normalizer::Replace, string_pattern(s, "Replace normalizer"), s.at("content").get<std::string>()});
      } else if (type == "NFC") {
        // Documented approximation: text is taken as already NFC (almost all text is);
        // decomposed input may tokenize differently from Hugging Face.
        normalizers_.push_back({Normalizer::Identity, {}, {}});
      } else {
        unsupported("normalizer '" + type + "'");
      }
    }
  }

  void parse_pre_tokenizer(const json& p) {
    for (const json& s : steps(p, "pretokenizers")) {
      const std::string type = s["type"];
      PreTokenizer t{};
      if (type == "Metaspace") {
        t.kind = PreTokenizer::Metaspace;
        t.replacement = s.value("replacement", std::string(kMetaspace));
        t.split = s.value("split", true);
        const std::string scheme = s.contains("prepend_scheme") ? s["prepend_scheme"].get<std::string>()
                                   : s.value("add_prefix_space", true) ? "always" : "never";
        if (scheme == "always") t.prepend = PreTokenizer::Always;
        else if (scheme == "first") t.prepend = PreTokenizer::First;
        else if (scheme == "never") t.prepend = PreTokenizer::Never;
        else unsupported("Metaspace prepend_scheme '" + scheme + "'");
      } else if (type == "ByteLevel") {
        t.kind = PreTokenizer::ByteLevel;
        t.use_regex = s.value("use_regex", true);
        t.add_prefix_space = s.value("add_prefix_space", false);
        t.pattern = SplitPattern::Gpt2;
      } else if (type == "Split") {
        t.kind = PreTokenizer::Split;
        const json& pat = s.at("pattern");
        if (!pat.is_object() || !pat.contains("Regex")) unsupported("Split pattern " + pat.dump());
        const std::string regex = pat["Regex"].get<std::string>();
        auto known = recognize_split_pattern(regex);
        if (!known) unsupported("Split regex '" + regex + "' (known: the GPT-2, Qwen2 and Llama 3 patterns)");
        t.pattern = *known;
        if (s.value("behavior", "Isolated") != "Isolated" || s.value("invert", false)) {
          unsupported("Split behavior '" + s.value("behavior", "") + "' / invert (only Isolated)");
        }
      } else {
        unsupported("pre_tokenizer '" + type + "'");
      }
      pre_tokenizers_.push_back(t);
    }
  }

  void parse_post_processor(const json& p) {
    for (const json& s : steps(p, "processors")) {
      const std::string type = s["type"];
      if (type == "TemplateProcessing") {
        bool seen_sequence = false;
        for (const json& item : s.at("single")) {
          if (item.contains("Sequence")) {
            seen_sequence = true;
          } else if (item.contains("SpecialToken")) {
            const std::string name = item["SpecialToken"].at("id");
            const json& spec = s.at("special_tokens").at(name);
            for (const json& id : spec.at("ids")) (seen_sequence ? suffix_ : prefix_).push_back(id.get<int32_t>());
          }
        }
      } else if (type != "ByteLevel") {
        unsupported("post_processor '" + type + "'");
      }
    }
  }

  void parse_decoder(const json& d) {
    for (const json& s : steps(d, "decoders")) {
      const std::string type = s["type"];
      if (type == "Replace") {
        decoder_replacements_.emplace_back(string_pattern(s, "Replace decoder"), s.at("content").get<std::string>());
      } else if (type == "ByteFallback") {
        byte_fallback_decoder_ = true;
      } else if (type == "Fuse") {
        // Concatenation is what decode does anyway.
      } else if (type == "Strip") {
        const int start = s.value("start", 0), stop = s.value("stop", 0);
        if (s.value("content", " ") != " " || start > 1 || stop != 0) unsupported("Strip decoder " + s.dump());
        strips_leading_space_ = start == 1;
      } else if (type == "ByteLevel") {
        byte_level_decoder_ = true;
      } else if (type == "Metaspace") {
        decoder_replacements_.emplace_back(s.value("replacement", std::string(kMetaspace)), " ");
        const std::string scheme = s.contains("prepend_scheme") ? s["prepend_scheme"].get<std::string>()
                                   : s.value("add_prefix_space", true) ? "always" : "never";
        strips_leading_space_ = scheme != "never";
      } else {
        unsupported("decoder '" + type + "'");
      }
    }
  }

  // tokenizer_config.json: added_tokens_decoder renames ids and marks specials; bos/eos
  // strings name the ids; add_bos_token / add_eos_token override the post-processor.
  void apply_config(const TokenizerConfig& config) {
    for (const AddedToken& t : config.added_tokens_decoder) added_.add(t);
    vocab_size_ = std::max(model_->max_id(), added_.max_id()) + 1;
    for (int32_t id : prefix_) check_config_id(id, "post_processor");
    for (int32_t id : suffix_) check_config_id(id, "post_processor");
    if (config.bos_token) bos_ = token_to_id(*config.bos_token);
    else if (!prefix_.empty()) bos_ = prefix_.front();
    if (config.eos_token) {
      if (auto eos = token_to_id(*config.eos_token)) eos_.push_back(*eos);
    }
    if (config.add_bos_token) {
      std::erase_if(prefix_, [&](int32_t id) { return bos_ && id == *bos_; });
      if (*config.add_bos_token && bos_) prefix_.insert(prefix_.begin(), *bos_);
    }
    if (config.add_eos_token) {
      std::erase_if(suffix_, [&](int32_t id) { return !eos_.empty() && id == eos_[0]; });
      if (*config.add_eos_token && !eos_.empty()) suffix_.push_back(eos_[0]);
    }
  }

  void check_config_id(int32_t id, const char* where) const {
    if (id < 0 || id >= vocab_size_) malformed(std::string(where) + " names token id " + std::to_string(id) + ", outside the vocabulary");
  }

  std::string normalize(std::string_view text) const {
    std::string s(text);
    for (const Normalizer& n : normalizers_) {
      if (n.kind == Normalizer::Prepend && !s.empty()) s = n.a + s;
      else if (n.kind == Normalizer::Replace) s = replace_all(std::move(s), n.a, n.b);
    }
    return s;
  }

  void pre_tokenize(std::string text, bool first_segment, std::vector<std::string>& words) const {
    words.push_back(std::move(text));
    std::vector<std::string> next;
    std::vector<std::string_view> parts;
    for (const PreTokenizer& p : pre_tokenizers_) {
      next.clear();
      for (std::string& w : words) {
        if (w.empty()) continue;
        switch (p.kind) {
          case PreTokenizer::Metaspace: {
            std::string s = replace_all(std::move(w), " ", p.replacement);
            const bool starts = s.compare(0, p.replacement.size(), p.replacement) == 0;
            // Hugging Face prepends only when the text does not already start with it.
            if (!starts && (p.prepend == PreTokenizer::Always || (p.prepend == PreTokenizer::First && first_segment))) {
              s = p.replacement + s;
            }
            if (!p.split) {
              next.push_back(std::move(s));
              break;
            }
            std::size_t start = 0;  // split before each replacement (MergedWithNext)
            for (std::size_t k = s.find(p.replacement, 1); k != std::string::npos; k = s.find(p.replacement, k + 1)) {
              next.push_back(s.substr(start, k - start));
              start = k;
            }
            next.push_back(s.substr(start));
            break;
          }
          case PreTokenizer::Split:
            parts.clear();
            split_by_pattern(w, p.pattern, parts);
            for (auto part : parts) next.emplace_back(part);
            break;
          case PreTokenizer::ByteLevel: {
            std::string s = std::move(w);
            if (p.add_prefix_space && first_segment && s[0] != ' ') s = " " + s;
            parts.clear();
            if (p.use_regex) split_by_pattern(s, SplitPattern::Gpt2, parts);
            else parts.push_back(s);
            for (auto part : parts) next.push_back(byte_level::encode(part));
            break;
          }
        }
      }
      words.swap(next);
    }
  }

  std::unique_ptr<BpeModel> model_;
  AddedVocabulary added_;
  std::vector<Normalizer> normalizers_;
  std::vector<PreTokenizer> pre_tokenizers_;
  std::vector<int32_t> prefix_, suffix_;  // added by encode(..., add_special_tokens=true)
  std::vector<std::pair<std::string, std::string>> decoder_replacements_;
  bool byte_fallback_decoder_ = false, byte_level_decoder_ = false, strips_leading_space_ = false;
  int32_t vocab_size_ = 0;
  std::optional<int32_t> bos_;
  std::vector<int32_t> eos_;
};

}  // namespace

std::unique_ptr<Tokenizer> load_hf_json(const std::filesystem::path& model_dir) {
  return std::make_unique<HfJsonTokenizer>(model_dir);
}

}  // namespace lmrt::tokenizer_formats
