// The hand-written pre-tokenizer scanner against the real regexes: Python's `re` runs the
// same patterns with \p{L}/\p{N}/\s spelled out as explicit classes from unicodedata
// (an independent implementation of the regex semantics), on tricky strings and on
// calibration text.
#include "tokenizer/split_pattern.hpp"

#include <nlohmann/json.hpp>

#include "tokenizer_test_support.hpp"

namespace lmrt {
namespace {

constexpr const char* kPythonReference = R"PY(
import json, re, sys, unicodedata
def body(pred):
    out, start = [], None
    for cp in range(0x110001):
        ok = cp < 0x110000 and pred(cp)
        if ok and start is None: start = cp
        if not ok and start is not None:
            out.append('\\U%08X-\\U%08X' % (start, cp - 1)); start = None
    return ''.join(out)
L = body(lambda c: unicodedata.category(chr(c)).startswith('L'))
N = body(lambda c: unicodedata.category(chr(c)).startswith('N'))
S = '\\t\\n\\x0b\\x0c\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000'
contractions = "'s|'t|'re|'ve|'m|'ll|'d"
patterns = {
  'qwen2': "(?i:%s)|[^\\r\\n%s%s]?[%s]+|[%s]| ?[^%s%s%s]+[\\r\\n]*|[%s]*[\\r\\n]+|[%s]+(?![^%s])|[%s]+" % (contractions, L, N, L, N, S, L, N, S, S, S, S),
  'llama3': "(?i:%s)|[^\\r\\n%s%s]?[%s]+|[%s]{1,3}| ?[^%s%s%s]+[\\r\\n]*|[%s]*[\\r\\n]+|[%s]+(?![^%s])|[%s]+" % (contractions, L, N, L, N, S, L, N, S, S, S, S),
  'gpt2': "%s| ?[%s]+| ?[%s]+| ?[^%s%s%s]+|[%s]+(?![^%s])|[%s]+" % (contractions, L, N, S, L, N, S, S, S),
}
req = json.load(open(sys.argv[1], encoding='utf-8'))
rx = re.compile(patterns[req['pattern']])
json.dump([rx.findall(t) for t in req['texts']], sys.stdout)
)PY";

std::vector<std::string> inputs() {
  std::vector<std::string> t = {
      "Hello world", "I'm here, you're there; they'LL see's", "  leading and trailing  ", "a   b\t\tc",
      "line one\n\nline two\r\n  indented\n", "12345 numbers 1,234.5 and ١٢٣ (Arabic-Indic)",
      "你好，世界！这是中文。", "emoji 😀👍🏽 and ZWJ 👨‍👩‍👧", "mixed中文English123混合", "tabs\tand\u00a0nbsp",
      "punctuation!!! ...??? --- ''", "'s at start", " \n \n x", "trailing spaces   ", "\n", "", "x",
      "Ünïcödé lëttérs and ǅ titlecase", "math ∑ x² ≤ ½", "don't DON'T Don't", "$100.00 @user #tag"};
  const auto calib = test::testdata() / "calib";
  for (auto [name, n] : {std::pair{"wikitext2.test.raw.txt", 300}, {"tinyshakespeare.txt", 100}, {"ptb.valid.txt", 50}}) {
    for (auto& line : test::read_lines(calib / name, n)) t.push_back(line + "\n");
  }
  return t;
}

class SplitPatternTest : public ::testing::TestWithParam<std::pair<const char*, SplitPattern>> {};

TEST_P(SplitPatternTest, MatchesPythonRegex) {
  if (!test::has_program("python3")) GTEST_SKIP() << "python3 not found: no regex reference";
  const auto texts = inputs();
  test::TempDir dir;
  const auto req = dir.path() / "req.json";
  test::write_file(req, nlohmann::json{{"pattern", GetParam().first}, {"texts", texts}}.dump());
  test::write_file(dir.path() / "ref.py", kPythonReference);
  auto out = test::run_command("python3 " + (dir.path() / "ref.py").string() + " " + req.string());
  ASSERT_TRUE(out) << "the Python reference failed";
  const auto expected = nlohmann::json::parse(*out);
  ASSERT_EQ(expected.size(), texts.size());
  for (std::size_t i = 0; i < texts.size(); ++i) {
    std::vector<std::string_view> parts;
    split_by_pattern(texts[i], GetParam().second, parts);
    EXPECT_EQ(std::vector<std::string>(parts.begin(), parts.end()), expected[i].get<std::vector<std::string>>())
        << "text: " << texts[i];
  }
}

INSTANTIATE_TEST_SUITE_P(Patterns, SplitPatternTest,
                         ::testing::Values(std::pair{"qwen2", SplitPattern::Qwen2}, std::pair{"llama3", SplitPattern::Llama3},
                                           std::pair{"gpt2", SplitPattern::Gpt2}),
                         [](const auto& info) { return std::string(info.param.first); });

TEST(SplitPattern, RecognizesOnlyKnownPatterns) {
  EXPECT_EQ(recognize_split_pattern(
                R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"),
            SplitPattern::Qwen2);
  EXPECT_FALSE(recognize_split_pattern(R"(\w+|\s+)"));
}

}  // namespace
}  // namespace lmrt
