// tokenizer.model through the sentencepiece library, with tokenizer_config.json's added
// tokens matched first (HF's slow-tokenizer behaviour: each plain segment is encoded on its
// own, so sentencepiece's dummy prefix applies per segment).
#include <sentencepiece_processor.h>

#include "lmrt/core/error.hpp"
#include "tokenizer/added_vocabulary.hpp"
#include "tokenizer/tokenizer_config.hpp"
#include "tokenizer/tokenizer_formats.hpp"
#include "tokenizer/utf8.hpp"

namespace lmrt::tokenizer_formats {
namespace {

int byte_piece_value(const std::string& piece) {  // "<0xNN>" -> NN
  return static_cast<int>(std::stoul(piece.substr(3, 2), nullptr, 16));
}

class SentencePieceTokenizer final : public Tokenizer {
 public:
  explicit SentencePieceTokenizer(const std::filesystem::path& dir) {
    const auto file = dir / "tokenizer.model";
    const auto status = sp_.Load(file.string());
    if (!status.ok()) fail(LMRT_STATUS_MODEL_ERROR, file.string() + ": not a sentencepiece model: " + status.ToString());
    const TokenizerConfig config = TokenizerConfig::read(dir);

    // Control and unknown pieces (<s>, </s>, <unk>) are special tokens matched in text;
    // tokenizer_config.json entries override them and may rename ids.
    for (int id = 0; id < sp_.GetPieceSize(); ++id) {
      if (sp_.IsControl(id) || sp_.IsUnknown(id)) added_.add({id, sp_.IdToPiece(id), true, false, false});
    }
    for (const AddedToken& t : config.added_tokens_decoder) added_.add(t);
    vocab_size_ = std::max<int32_t>(sp_.GetPieceSize(), added_.max_id() + 1);

    bos_ = resolve(config.bos_token, sp_.bos_id());
    if (auto eos = resolve(config.eos_token, sp_.eos_id())) eos_.push_back(*eos);
    add_bos_ = config.add_bos_token.value_or(true) && bos_.has_value();  // Llama-2 default
    add_eos_ = config.add_eos_token.value_or(false) && !eos_.empty();
    strips_leading_space_ = probe_strips_leading_space();
  }

  std::vector<int32_t> encode(std::string_view text, bool add_special_tokens) const override {
    const std::string clean = utf8::sanitize(text);
    std::vector<int32_t> ids;
    if (add_special_tokens && add_bos_) ids.push_back(*bos_);
    std::vector<int> piece_ids;
    for (const auto& seg : added_.split(clean)) {
      if (seg.id >= 0) {
        ids.push_back(seg.id);
        continue;
      }
      piece_ids.clear();
      const auto status = sp_.Encode(std::string(seg.text), &piece_ids);
      if (!status.ok()) fail(LMRT_STATUS_INTERNAL, "sentencepiece encode failed: " + status.ToString());
      ids.insert(ids.end(), piece_ids.begin(), piece_ids.end());
    }
    if (add_special_tokens && add_eos_) ids.push_back(eos_.front());
    return ids;
  }

  int32_t vocab_size() const override { return vocab_size_; }
  std::optional<int32_t> bos_id() const override { return bos_; }
  std::vector<int32_t> eos_ids() const override { return eos_; }
  bool add_bos() const override { return add_bos_; }
  bool add_eos() const override { return add_eos_; }

  bool is_special(int32_t id) const override {
    if (const AddedToken* t = added_.find(id)) return t->special;
    return id >= 0 && id < sp_.GetPieceSize() && (sp_.IsControl(id) || sp_.IsUnknown(id));
  }

  std::optional<int32_t> token_to_id(std::string_view piece) const override {
    if (auto id = added_.find(piece)) return id;
    const int id = sp_.PieceToId(std::string(piece));
    if (sp_.IsUnknown(id) && sp_.IdToPiece(id) != piece) return std::nullopt;
    return id;
  }

  std::string id_to_piece(int32_t id) const override {
    check_id(id);
    if (const AddedToken* t = added_.find(id)) return t->content;
    if (id >= sp_.GetPieceSize()) return {};
    return sp_.IdToPiece(id);
  }

  std::string token_bytes(int32_t id) const override {
    check_id(id);
    if (const AddedToken* t = added_.find(id)) return t->content;
    if (id >= sp_.GetPieceSize() || sp_.IsControl(id)) return {};
    const std::string& piece = sp_.IdToPiece(id);
    if (sp_.IsByte(id)) return std::string(1, static_cast<char>(byte_piece_value(piece)));
    if (sp_.IsUnknown(id)) return " \xE2\x81\x87 ";  // sentencepiece's " ⁇ "
    std::string out;
    out.reserve(piece.size());
    for (std::size_t i = 0; i < piece.size();) {
      if (piece.compare(i, 3, "\xE2\x96\x81") == 0) {  // "▁" -> " "
        out += ' ';
        i += 3;
      } else {
        out += piece[i++];
      }
    }
    return out;
  }

  bool strips_leading_space() const override { return strips_leading_space_; }

 private:
  std::optional<int32_t> resolve(const std::optional<std::string>& text, int sp_id) const {
    if (text) {
      if (auto id = token_to_id(*text)) return id;
    }
    if (sp_id >= 0) return sp_id;
    return std::nullopt;
  }

  // Sentencepiece drops the first piece's leading "▁" when the model adds a dummy prefix
  // (or removes extra whitespace). Ask the library rather than parse its protobuf.
  bool probe_strips_leading_space() const {
    const int id = sp_.PieceToId("\xE2\x96\x81");
    if (!sp_.IsUnknown(id) && !sp_.IsControl(id)) return sp_.DecodeIds(std::vector<int>{id}).empty();
    for (int i = 0; i < sp_.GetPieceSize(); ++i) {
      const std::string& p = sp_.IdToPiece(i);
      if (p.size() > 3 && p.compare(0, 3, "\xE2\x96\x81") == 0 && !sp_.IsControl(i) && !sp_.IsUnknown(i)) {
        return sp_.DecodeIds(std::vector<int>{i}) == token_bytes(i).substr(1);
      }
    }
    return false;
  }

  sentencepiece::SentencePieceProcessor sp_;
  AddedVocabulary added_;
  int32_t vocab_size_ = 0;
  std::optional<int32_t> bos_;
  std::vector<int32_t> eos_;
  bool add_bos_ = true, add_eos_ = false, strips_leading_space_ = true;
};

}  // namespace

std::unique_ptr<Tokenizer> load_sentencepiece(const std::filesystem::path& model_dir) {
  return std::make_unique<SentencePieceTokenizer>(model_dir);
}

}  // namespace lmrt::tokenizer_formats
