// Byte-level BPE (Qwen2 / Llama 3 style tokenizer.json).
//  - A tiny tokenizer.json built here, whose ids follow by hand from the BPE rules.
//  - The fixture trained with Hugging Face `tokenizers` by
//    scripts/fixtures/make_tokenizer_fixtures.py (skipped when it has not been generated).
#include <nlohmann/json.hpp>

#include "lmrt/core/tokenizer.hpp"
#include "tokenizer_test_support.hpp"

namespace lmrt {
namespace {

namespace fs = std::filesystem;
using Ids = std::vector<int32_t>;

constexpr const char* kQwen2Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kLlama3Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// GPT-2's bytes_to_unicode, written out here as the reference (openai/gpt-2 encoder.py).
std::string byte_char(int b) {
  std::vector<int> bs;
  for (int i = '!'; i <= '~'; ++i) bs.push_back(i);
  for (int i = 0xA1; i <= 0xAC; ++i) bs.push_back(i);
  for (int i = 0xAE; i <= 0xFF; ++i) bs.push_back(i);
  int cp = -1, n = 0;
  for (int i = 0; i < 256; ++i) {
    const bool printable = std::find(bs.begin(), bs.end(), i) != bs.end();
    const int c = printable ? i : 256 + n++;
    if (i == b) cp = c;
  }
  std::string s;
  if (cp < 0x80) s += static_cast<char>(cp);
  else {
    s += static_cast<char>(0xC0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return s;
}

// Vocabulary: id b = the character of byte b; merges below add ids 256...; three specials.
void write_tiny_tokenizer(const fs::path& dir, const char* regex, bool bos_template) {
  nlohmann::json vocab;
  for (int b = 0; b < 256; ++b) vocab[byte_char(b)] = b;
  const std::string G = byte_char(' '), C = byte_char('\n');
  const std::vector<std::pair<std::string, std::string>> merges = {
      {G, "t"}, {"h", "e"}, {G + "t", "he"}, {G, "c"}, {"a", "t"}, {G + "c", "at"}, {G, G},
      {G, "b"}, {"1", "2"}, {"'", "m"},      {C, C},   {byte_char(0xE4), byte_char(0xBD)}, {"a", "a"}};
  nlohmann::json jm = nlohmann::json::array();
  for (std::size_t i = 0; i < merges.size(); ++i) {
    vocab[merges[i].first + merges[i].second] = 256 + static_cast<int>(i);
    jm.push_back(merges[i].first + " " + merges[i].second);
  }
  nlohmann::json added = nlohmann::json::array();
  for (auto [id, text] : {std::pair{300, "<|im_start|>"}, {301, "<|im_end|>"}, {302, "<|endoftext|>"}}) {
    added.push_back({{"id", id}, {"content", text}, {"special", true}, {"lstrip", false}, {"rstrip", false},
                     {"normalized", false}, {"single_word", false}});
  }
  nlohmann::json post = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", false}};
  if (bos_template) {
    post = {{"type", "TemplateProcessing"},
            {"single", {{{"SpecialToken", {{"id", "<|endoftext|>"}, {"type_id", 0}}}}, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
            {"special_tokens", {{"<|endoftext|>", {{"id", "<|endoftext|>"}, {"ids", {302}}, {"tokens", {"<|endoftext|>"}}}}}}};
  }
  const nlohmann::json tok = {
      {"version", "1.0"},
      {"added_tokens", added},
      {"normalizer", {{"type", "NFC"}}},
      {"pre_tokenizer",
       {{"type", "Sequence"},
        {"pretokenizers",
         {{{"type", "Split"}, {"pattern", {{"Regex", regex}}}, {"behavior", "Isolated"}, {"invert", false}},
          {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", false}}}}}},
      {"post_processor", post},
      {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", false}}},
      {"model", {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"byte_fallback", false},
                 {"vocab", vocab}, {"merges", jm}}}};
  test::write_file(dir / "tokenizer.json", tok.dump(1));
}

TEST(ByteLevelTokenizer, HandDerivedIds) {
  test::TempDir dir;
  write_tiny_tokenizer(dir.path(), kQwen2Regex, false);
  const auto tok = Tokenizer::load(dir.path());
  // "the" -> t,h,e -> (h e) ; " cat" -> Ġ,c,a,t -> (Ġ c) (a t) (Ġc at)
  EXPECT_EQ(tok->encode("the cat", false), (Ids{'t', 257, 261}));
  EXPECT_EQ(tok->encode(" the", false), (Ids{258}));
  // "a   b" splits as "a", "  ", " b" (\s+(?!\S) leaves one space to the word).
  EXPECT_EQ(tok->encode("a   b", false), (Ids{'a', 262, 263}));
  // Qwen2 splits digits one by one, so the merge "1 2" never applies.
  EXPECT_EQ(tok->encode("12", false), (Ids{'1', '2'}));
  // Contractions split off, case-insensitively.
  EXPECT_EQ(tok->encode("I'm", false), (Ids{'I', 265}));
  EXPECT_EQ(tok->encode("I'M", false), (Ids{'I', '\'', 'M'}));
  EXPECT_EQ(tok->encode("a\n\nb", false), (Ids{'a', 266, 'b'}));
  // 你 = E4 BD A0: the merge of the first two bytes' characters, then A0 alone.
  EXPECT_EQ(tok->encode("你", false), (Ids{267, 0xA0}));
  // The lowest rank wins, not the leftmost pair: "aat" -> a, (a t).
  EXPECT_EQ(tok->encode("aat", false), (Ids{'a', 260}));
  // Special tokens are matched first; no BOS by default for byte-level.
  EXPECT_EQ(tok->encode("<|im_start|>user\nhi<|im_end|>", true), (Ids{300, 'u', 's', 'e', 'r', '\n', 'h', 'i', 301}));
  EXPECT_FALSE(tok->add_bos());
  EXPECT_EQ(tok->vocab_size(), 303);
  EXPECT_EQ(tok->id_to_piece(256), byte_char(' ') + "t");
}

TEST(ByteLevelTokenizer, Llama3PatternGroupsThreeDigits) {
  test::TempDir dir;
  write_tiny_tokenizer(dir.path(), kLlama3Regex, false);
  const auto tok = Tokenizer::load(dir.path());
  EXPECT_EQ(tok->encode("12", false), (Ids{264}));
  EXPECT_EQ(tok->encode("1212", false), (Ids{264, '1', '2'}));  // "121" + "2"
}

TEST(ByteLevelTokenizer, BosFromTemplateProcessing) {
  test::TempDir dir;
  write_tiny_tokenizer(dir.path(), kQwen2Regex, true);
  const auto tok = Tokenizer::load(dir.path());
  EXPECT_EQ(tok->encode("the", true), (Ids{302, 't', 257}));
  EXPECT_EQ(tok->encode("the", false), (Ids{'t', 257}));
  EXPECT_EQ(tok->bos_id(), 302);
}

TEST(ByteLevelTokenizer, DecodeRoundTripsAndSkipsSpecials) {
  test::TempDir dir;
  write_tiny_tokenizer(dir.path(), kQwen2Regex, false);
  const auto tok = Tokenizer::load(dir.path());
  for (const std::string text : {"the cat sat", "  leading spaces", "你好 😀 mixed\n\ttabs", "<|im_start|>x<|im_end|>"}) {
    EXPECT_EQ(tok->decode(tok->encode(text, false), false), text);
  }
  EXPECT_EQ(tok->decode(tok->encode("<|im_start|>hi<|im_end|>", false), true), "hi");
  EXPECT_FALSE(tok->strips_leading_space());
  EXPECT_EQ(tok->decode(Ids{258}, true), " the");
  // Half of a UTF-8 character decodes to U+FFFD.
  EXPECT_EQ(tok->decode(Ids{267}, true), "\uFFFD\uFFFD");
}

// The fixture made with Hugging Face `tokenizers` (scripts/fixtures/make_tokenizer_fixtures.py).
TEST(ByteLevelTokenizer, MatchesHuggingFaceFixture) {
  const fs::path dir = fs::path(LMRT_SOURCE_DIR) / "tests/fixtures/tokenizers/bytelevel";
  if (!fs::exists(dir / "tokenizer.json") || !fs::exists(dir / "expected.json")) {
    GTEST_SKIP() << "fixture not generated yet: run scripts/fixtures/make_tokenizer_fixtures.py (needs the "
                    "Hugging Face tokenizers and transformers packages) and commit "
                 << dir.string();
  }
  const auto tok = Tokenizer::load(dir);
  const auto expected = nlohmann::json::parse(test::read_file(dir / "expected.json"));
  ASSERT_FALSE(expected.at("cases").empty());
  for (const auto& c : expected.at("cases")) {
    const std::string text = c.at("text");
    const bool add_special = c.value("add_special_tokens", false);
    EXPECT_EQ(tok->encode(text, add_special), c.at("ids").get<Ids>()) << "text: " << text;
    if (c.contains("decoded")) EXPECT_EQ(tok->decode(c.at("ids").get<Ids>(), false), c.at("decoded").get<std::string>());
  }
}

}  // namespace
}  // namespace lmrt
