// IncrementalDetokenizer: the pieces add up to Tokenizer::decode, each piece is valid
// UTF-8, and decode itself agrees with the sentencepiece library's DecodeIds.
#include "lmrt/core/detokenizer.hpp"

#include <sentencepiece_processor.h>

#include "lmrt/core/error.hpp"
#include "tokenizer/utf8.hpp"
#include "tokenizer_test_support.hpp"

namespace lmrt {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> sentencepiece_dirs() {
  return {test::testdata() / "tokenizers/internlm2", test::testdata() / "tokenizers/llama2",
          test::testdata() / "models/stories260k"};
}

// Random ids, half of them byte-fallback tokens (<0x..>) so that UTF-8 sequences are often
// split across tokens or broken.
std::vector<int32_t> random_ids(const Tokenizer& tok, std::mt19937& rng, const std::vector<int32_t>& byte_ids) {
  std::uniform_int_distribution<int> len(1, 24);
  std::uniform_int_distribution<int32_t> any(0, tok.vocab_size() - 1);
  std::vector<int32_t> ids(static_cast<std::size_t>(len(rng)));
  for (auto& id : ids) {
    id = (!byte_ids.empty() && rng() % 2) ? byte_ids[rng() % byte_ids.size()] : any(rng);
  }
  return ids;
}

std::vector<int32_t> byte_token_ids(const Tokenizer& tok) {
  std::vector<int32_t> ids;
  for (int b = 0x80; b < 0x100; ++b) {  // the bytes of multi-byte characters
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    if (auto id = tok.token_to_id(name)) ids.push_back(*id);
  }
  return ids;
}

void check_pieces_add_up(const Tokenizer& tok, const std::vector<int32_t>& ids, bool skip_special) {
  IncrementalDetokenizer detok(tok, {.skip_special_tokens = skip_special, .at_start = true});
  std::string joined;
  for (int32_t id : ids) {
    const std::string piece = detok.push(id);
    ASSERT_TRUE(utf8::is_valid(piece)) << "id " << id;
    joined += piece;
  }
  const std::string tail = detok.finish();
  ASSERT_TRUE(utf8::is_valid(tail));
  joined += tail;
  EXPECT_EQ(joined, tok.decode(ids, skip_special));
}

TEST(IncrementalDetokenizer, PiecesAddUpToDecodeOnRandomIds) {
  std::size_t tokenizers = 0;
  for (const auto& dir : sentencepiece_dirs()) {
    if (!fs::exists(dir)) continue;
    ++tokenizers;
    const auto tok = Tokenizer::load(dir);
    const auto bytes = byte_token_ids(*tok);
    std::mt19937 rng(1234);
    for (int i = 0; i < 400; ++i) {
      const auto ids = random_ids(*tok, rng, bytes);
      check_pieces_add_up(*tok, ids, i % 2 == 0);
      if (HasFatalFailure()) return;
    }
  }
  if (tokenizers == 0) GTEST_SKIP() << "no test data tokenizers under " << test::testdata().string();
}

TEST(IncrementalDetokenizer, PiecesAddUpOnRealText) {
  const auto dir = test::testdata() / "tokenizers/internlm2";
  LMRT_REQUIRE_PATH(dir);
  const auto tok = Tokenizer::load(dir);
  for (const std::string text : {"你好，世界！🌸 emoji 👨‍👩‍👧 and text", "<|im_start|>assistant\n好的<|im_end|>"}) {
    const auto ids = tok->encode(text, true);
    check_pieces_add_up(*tok, ids, false);
    check_pieces_add_up(*tok, ids, true);
  }
}

// decode agrees with the reference library on sequences of ordinary pieces (the library
// renders special tokens its own way, so they are left out).
TEST(IncrementalDetokenizer, DecodeMatchesSentencePieceLibrary) {
  std::size_t tokenizers = 0;
  for (const auto& dir : sentencepiece_dirs()) {
    if (!fs::exists(dir)) continue;
    ++tokenizers;
    sentencepiece::SentencePieceProcessor sp;
    ASSERT_TRUE(sp.Load((dir / "tokenizer.model").string()).ok());
    const auto tok = Tokenizer::load(dir);
    const auto bytes = byte_token_ids(*tok);
    std::mt19937 rng(99);
    for (int i = 0; i < 300; ++i) {
      auto ids = random_ids(*tok, rng, bytes);
      std::erase_if(ids, [&](int32_t id) { return tok->is_special(id) || tok->id_to_piece(id) != sp.IdToPiece(id); });
      EXPECT_EQ(tok->decode(ids, true), sp.DecodeIds(std::vector<int>(ids.begin(), ids.end()))) << dir.string();
    }
  }
  if (tokenizers == 0) GTEST_SKIP() << "no test data tokenizers under " << test::testdata().string();
}

TEST(IncrementalDetokenizer, LeadingSpaceRule) {
  const auto dir = test::testdata() / "tokenizers/llama2";
  LMRT_REQUIRE_PATH(dir);
  const auto tok = Tokenizer::load(dir);
  const int32_t hello = *tok->token_to_id("▁Hello");
  IncrementalDetokenizer mid_text(*tok);  // after a prompt
  EXPECT_EQ(mid_text.push(hello), " Hello");
  IncrementalDetokenizer from_scratch(*tok, {.skip_special_tokens = true, .at_start = true});
  EXPECT_EQ(from_scratch.push(hello), "Hello");
  EXPECT_EQ(from_scratch.push(hello), " Hello");
  EXPECT_EQ(tok->decode(std::vector<int32_t>{hello, hello}, true), "Hello Hello");
}

TEST(IncrementalDetokenizer, HoldsBackIncompleteCharacters) {
  const auto dir = test::testdata() / "models/stories260k";  // 512 pieces: Chinese is byte fallback
  LMRT_REQUIRE_PATH(dir);
  const auto tok = Tokenizer::load(dir);
  const auto ids = tok->encode("你", false);  // "▁" then <0xE4> <0xBD> <0xA0>
  ASSERT_EQ(ids.size(), 4u);
  EXPECT_EQ(tok->id_to_piece(ids[1]), "<0xE4>");
  IncrementalDetokenizer detok(*tok);
  EXPECT_EQ(detok.push(ids[0]), " ");
  EXPECT_EQ(detok.push(ids[1]), "");
  EXPECT_EQ(detok.push(ids[2]), "");
  EXPECT_EQ(detok.pending_bytes(), 2u);
  EXPECT_EQ(detok.push(ids[3]), "你");
  // A broken sequence: the held byte becomes U+FFFD once the next token cannot continue it.
  EXPECT_EQ(detok.push(ids[1]), "");
  EXPECT_EQ(detok.push(*tok->token_to_id("a")), "\uFFFDa");
  // finish() flushes what is still held.
  EXPECT_EQ(detok.push(ids[1]), "");
  EXPECT_EQ(detok.finish(), "\uFFFD");
  EXPECT_EQ(detok.pending_bytes(), 0u);
}

TEST(IncrementalDetokenizer, SkipsSpecialTokensWhenAsked) {
  const auto dir = test::testdata() / "tokenizers/internlm2";
  LMRT_REQUIRE_PATH(dir);
  const auto tok = Tokenizer::load(dir);
  IncrementalDetokenizer skip(*tok);
  IncrementalDetokenizer keep(*tok, {.skip_special_tokens = false, .at_start = false});
  EXPECT_EQ(skip.push(92542), "");
  EXPECT_EQ(keep.push(92542), "<|im_end|>");
}

TEST(IncrementalDetokenizer, OutOfRangeIdIsAnErrorAndKeepsState) {
  const auto dir = test::testdata() / "models/stories260k";
  LMRT_REQUIRE_PATH(dir);
  const auto tok = Tokenizer::load(dir);
  IncrementalDetokenizer detok(*tok);
  const auto ids = tok->encode("你", false);
  detok.push(ids[1]);
  try {
    detok.push(512);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), LMRT_STATUS_INVALID_ARGUMENT);
    EXPECT_NE(std::string(e.what()).find("512"), std::string::npos);
  }
  EXPECT_THROW(detok.push(-3), Error);
  EXPECT_EQ(detok.push(ids[2]), "");
  EXPECT_EQ(detok.push(ids[3]), "你");
}

}  // namespace
}  // namespace lmrt
