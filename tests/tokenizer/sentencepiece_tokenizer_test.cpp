// tokenizer.model through Tokenizer::load, against Debian's spm_encode (the sentencepiece
// reference tools) and InternLM2's published special-token ids.
#include <sstream>

#include "lmrt/core/error.hpp"
#include "lmrt/core/tokenizer.hpp"
#include "tokenizer_test_support.hpp"

namespace lmrt {
namespace {

namespace fs = std::filesystem;

fs::path internlm2_dir() { return test::testdata() / "tokenizers/internlm2"; }
fs::path llama2_dir() { return test::testdata() / "tokenizers/llama2"; }

// spm_encode's ids for each line (it encodes line by line).
std::optional<std::vector<std::vector<int32_t>>> spm_encode(const fs::path& model, const std::vector<std::string>& lines) {
  if (!test::has_program("spm_encode")) return std::nullopt;
  test::TempDir dir;
  std::string all;
  for (const auto& l : lines) all += l + "\n";
  test::write_file(dir.path() / "in.txt", all);
  auto out = test::run_command("spm_encode --model=" + model.string() + " --output_format=id < " + (dir.path() / "in.txt").string());
  if (!out) return std::nullopt;
  std::vector<std::vector<int32_t>> ids;
  std::istringstream in(*out);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::vector<int32_t> v;
    int32_t id;
    while (ls >> id) v.push_back(id);
    ids.push_back(v);
  }
  return ids;
}

// Calibration lines without the text of added tokens (spm_encode does not know them).
std::vector<std::string> calibration_lines() {
  std::vector<std::string> lines;
  for (auto [name, n] : {std::pair{"ptb.valid.txt", 200}, {"wikitext2.test.raw.txt", 200}}) {
    for (auto line : test::read_lines(test::testdata() / "calib" / name, n)) {
      for (std::size_t p; (p = line.find("<unk>")) != std::string::npos;) line.replace(p, 5, "UNK");
      lines.push_back(line);
    }
  }
  return lines;
}

void expect_same_as_spm_encode(const fs::path& dir) {
  const auto lines = calibration_lines();
  auto expected = spm_encode(dir / "tokenizer.model", lines);
  if (!expected) GTEST_SKIP() << "spm_encode (Debian sentencepiece tools) not available";
  ASSERT_EQ(expected->size(), lines.size());
  const auto tok = Tokenizer::load(dir);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(tok->encode(lines[i], false), (*expected)[i]) << "line " << i << ": " << lines[i];
  }
}

TEST(SentencePieceTokenizer, InternLM2MatchesSpmEncode) {
  LMRT_REQUIRE_PATH(internlm2_dir());
  expect_same_as_spm_encode(internlm2_dir());
}

TEST(SentencePieceTokenizer, Llama2MatchesSpmEncode) {
  LMRT_REQUIRE_PATH(llama2_dir());
  expect_same_as_spm_encode(llama2_dir());
}

TEST(SentencePieceTokenizer, InternLM2SpecialTokensAreRenamedAndMatchedFirst) {
  LMRT_REQUIRE_PATH(internlm2_dir());
  const auto tok = Tokenizer::load(internlm2_dir());
  EXPECT_EQ(tok->encode("<|im_start|>", false), std::vector<int32_t>{92543});
  const std::vector<std::pair<std::string, int32_t>> renamed = {{"<|plugin|>", 92538},     {"<|interpreter|>", 92539},
                                                                {"<|action_end|>", 92540}, {"<|action_start|>", 92541},
                                                                {"<|im_end|>", 92542},     {"<|im_start|>", 92543}};
  for (const auto& [text, id] : renamed) {
    EXPECT_EQ(tok->token_to_id(text), id);
    EXPECT_EQ(tok->id_to_piece(id), text);
    EXPECT_TRUE(tok->is_special(id));
  }
  // Special tokens split the text; the plain parts are encoded as spm_encode does.
  const auto ids = tok->encode("<|im_start|>user\nHi<|im_end|>", false);
  ASSERT_GE(ids.size(), 3u);
  EXPECT_EQ(ids.front(), 92543);
  EXPECT_EQ(ids.back(), 92542);
  auto plain = spm_encode(internlm2_dir() / "tokenizer.model", {"user"});
  if (plain) EXPECT_EQ(std::vector<int32_t>(ids.begin() + 1, ids.begin() + 1 + (*plain)[0].size()), (*plain)[0]);
  EXPECT_EQ(tok->vocab_size(), 92544);
  EXPECT_EQ(tok->bos_id(), 1);
  EXPECT_EQ(tok->eos_ids(), std::vector<int32_t>{2});
}

TEST(SentencePieceTokenizer, BosFollowsTokenizerConfig) {
  LMRT_REQUIRE_PATH(internlm2_dir());
  const auto tok = Tokenizer::load(internlm2_dir());  // add_bos_token: true
  const auto with = tok->encode("Hello", true), without = tok->encode("Hello", false);
  ASSERT_EQ(with.size(), without.size() + 1);
  EXPECT_EQ(with[0], 1);
  EXPECT_EQ(std::vector<int32_t>(with.begin() + 1, with.end()), without);
  // "<s>" in the text is the BOS token, matched like any special token.
  EXPECT_EQ(tok->encode("<s>Hello", false), with);
}

TEST(SentencePieceTokenizer, RoundTripsMixedText) {
  LMRT_REQUIRE_PATH(internlm2_dir());
  const auto tok = Tokenizer::load(internlm2_dir());
  const std::vector<std::string> texts = {
      "Hello, world! 你好，世界。",
      "<|im_start|>user\n写一首关于春天的诗 🌸🌿 please<|im_end|>\n<|im_start|>assistant\n",
      "emoji 😀👍🏽👨‍👩‍👧 and code: for (int i = 0; i < n; ++i) {}",
      "  two  spaces\tand tabs\n\nnewlines  ",
      "日本語のテキスト、한국어 텍스트, Ελληνικά, русский текст"};
  for (const auto& t : texts) {
    EXPECT_EQ(tok->decode(tok->encode(t, false), false), t);
    if (t.find("<|") == std::string::npos) EXPECT_EQ(tok->decode(tok->encode(t, true), true), t);
  }
}

TEST(SentencePieceTokenizer, Llama2LoadsAndRoundTrips) {
  LMRT_REQUIRE_PATH(llama2_dir());
  const auto tok = Tokenizer::load(llama2_dir());  // no tokenizer_config.json: Llama-2 defaults
  EXPECT_EQ(tok->vocab_size(), 32000);
  EXPECT_EQ(tok->bos_id(), 1);
  EXPECT_EQ(tok->eos_ids(), std::vector<int32_t>{2});
  EXPECT_TRUE(tok->add_bos());
  EXPECT_TRUE(tok->strips_leading_space());
  const std::string text = "The quick brown fox 狐狸 jumps over the lazy dog 🐶.\nNew line.";
  const auto ids = tok->encode(text, true);
  EXPECT_EQ(ids.front(), 1);
  EXPECT_EQ(tok->decode(ids, true), text);
  EXPECT_EQ(tok->decode(ids, false), "<s> " + text);  // Hugging Face's rendering of a kept BOS
  EXPECT_EQ(tok->id_to_piece(ids[1]), "▁The");
  EXPECT_EQ(tok->token_bytes(ids[1]), " The");
}

TEST(SentencePieceTokenizer, InvalidUtf8IsReplacedNotFatal) {
  LMRT_REQUIRE_PATH(llama2_dir());
  const auto tok = Tokenizer::load(llama2_dir());
  EXPECT_EQ(tok->encode("a\xFF" "b\xE4\xBD", false), tok->encode("a\uFFFD" "b\uFFFD\uFFFD", false));
}

TEST(SentencePieceTokenizer, OutOfRangeIdsAreErrorsNamingTheId) {
  LMRT_REQUIRE_PATH(llama2_dir());
  const auto tok = Tokenizer::load(llama2_dir());
  const std::vector<int32_t> ids = {1, 32000};
  try {
    tok->decode(ids, false);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), LMRT_STATUS_INVALID_ARGUMENT);
    EXPECT_NE(std::string(e.what()).find("32000"), std::string::npos) << e.what();
  }
  EXPECT_THROW(tok->id_to_piece(-1), Error);
  EXPECT_THROW(tok->token_bytes(1 << 30), Error);
}

TEST(SentencePieceTokenizer, BadFilesGiveClearErrors) {
  test::TempDir dir;
  try {
    Tokenizer::load(dir.path() / "missing");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), LMRT_STATUS_NOT_FOUND);
  }
  try {
    Tokenizer::load(dir.path());
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), LMRT_STATUS_NOT_FOUND);
    EXPECT_NE(std::string(e.what()).find("tokenizer.model"), std::string::npos);
  }
  test::write_file(dir.path() / "tokenizer.model", "this is not a protobuf");
  try {
    Tokenizer::load(dir.path());
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), LMRT_STATUS_MODEL_ERROR);
    EXPECT_NE(std::string(e.what()).find("tokenizer.model"), std::string::npos) << e.what();
  }
}

TEST(SentencePieceTokenizer, MalformedTokenizerConfigNamesFileAndKey) {
  LMRT_REQUIRE_PATH(llama2_dir());
  test::TempDir dir;
  fs::copy_file(llama2_dir() / "tokenizer.model", dir.path() / "tokenizer.model");
  test::write_file(dir.path() / "tokenizer_config.json", "{\"add_bos_token\": \"yes\"}");
  try {
    Tokenizer::load(dir.path());
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), LMRT_STATUS_MODEL_ERROR);
    EXPECT_NE(std::string(e.what()).find("add_bos_token"), std::string::npos) << e.what();
  }
  test::write_file(dir.path() / "tokenizer_config.json", "{\"add_bos_token\": tru");
  try {
    Tokenizer::load(dir.path());
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), LMRT_STATUS_MODEL_ERROR);
    EXPECT_NE(std::string(e.what()).find("tokenizer_config.json"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace lmrt
