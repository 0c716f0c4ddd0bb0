// UTF-8 validation and replacement against the Unicode standard's table of well-formed
// byte sequences (Unicode 15, table 3-7) and its replacement examples.
#include "tokenizer/utf8.hpp"

#include <gtest/gtest.h>

namespace lmrt {
namespace {

const std::string R(utf8::kReplacement);

TEST(Utf8, AcceptsWellFormedSequences) {
  EXPECT_TRUE(utf8::is_valid("plain ascii"));
  EXPECT_TRUE(utf8::is_valid("\xC2\x80 \xDF\xBF"));                   // U+0080, U+07FF
  EXPECT_TRUE(utf8::is_valid("\xE0\xA0\x80 \xED\x9F\xBF \xEF\xBF\xBF"));  // U+0800, U+D7FF, U+FFFF
  EXPECT_TRUE(utf8::is_valid("\xF0\x90\x80\x80 \xF4\x8F\xBF\xBF"));      // U+10000, U+10FFFF
}

TEST(Utf8, RejectsOverlongsSurrogatesAndOutOfRange) {
  EXPECT_FALSE(utf8::is_valid("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(utf8::is_valid("\xE0\x80\xAF"));      // overlong
  EXPECT_FALSE(utf8::is_valid("\xED\xA0\x80"));      // surrogate D800
  EXPECT_FALSE(utf8::is_valid("\xF4\x90\x80\x80"));  // 0x110000
  EXPECT_FALSE(utf8::is_valid("\xFF"));
  EXPECT_FALSE(utf8::is_valid("\xE4\xBD"));  // truncated
}

TEST(Utf8, ReplacesEachInvalidByte) {
  EXPECT_EQ(utf8::sanitize("a\xFF" "b"), "a" + R + "b");
  // A truncated 3-byte sequence followed by ASCII: each byte is replaced (sentencepiece's rule).
  EXPECT_EQ(utf8::sanitize("\xE4\xBD" "x"), R + R + "x");
  EXPECT_EQ(utf8::sanitize("\xE4\xBD\xA0"), "\xE4\xBD\xA0");  // 你 stays
}

TEST(Utf8, ReportsIncompleteSequences) {
  bool incomplete = false;
  EXPECT_EQ(utf8::sequence_length("\xE4\xBD", &incomplete), 0u);
  EXPECT_TRUE(incomplete);
  EXPECT_EQ(utf8::sequence_length("\xE4" "a", &incomplete), 0u);
  EXPECT_FALSE(incomplete);
}

}  // namespace
}  // namespace lmrt
