// The safetensors reader on hand-built files (good and malformed), the writer
// round trip, and sharded checkpoints.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "lmrt/core/half.hpp"
#include "lmrt/core/safetensors.hpp"
#include "lmrt/core/safetensors_writer.hpp"
#include "model_test_util.hpp"

namespace {

using lmrt::SafetensorsCheckpoint;
using lmrt::SafetensorsFile;
using lmrt::test::expect_error;
using lmrt::test::floats_bytes;
using lmrt::test::safetensors_bytes;
using lmrt::test::TempDir;
using lmrt::test::write_bytes;

TEST(SafetensorsReader, ReadsHandBuiltFile) {
  TempDir tmp;
  // "b" comes first in the data section; "a" is 2x2 f32, "c" is 3 i64, "e" is an empty tensor.
  const std::string data = floats_bytes({5, 6}) + floats_bytes({1, 2, 3, 4}) + std::string("\x07\0\0\0\0\0\0\0", 8) +
                           std::string(16, '\0');
  const std::string header =
      R"({"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2,2],"data_offsets":[8,24]},)"
      R"("b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
      R"("c":{"dtype":"I64","shape":[3],"data_offsets":[24,48]},"e":{"dtype":"BF16","shape":[0,4],"data_offsets":[48,48]}}  )";
  write_bytes(tmp / "x.safetensors", safetensors_bytes(header, data));
  SafetensorsFile f(tmp / "x.safetensors");
  ASSERT_EQ(f.tensors().size(), 4u);
  EXPECT_EQ(f.tensors()[0].name, "a");  // sorted
  const auto& a = f.at("a");
  EXPECT_EQ(a.dtype, LMRT_DTYPE_F32);
  EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(a.nbytes, 16u);
  float av[4];
  std::memcpy(av, a.data, 16);
  EXPECT_EQ(av[0], 1.0f);
  EXPECT_EQ(av[3], 4.0f);
  float bv[2];
  std::memcpy(bv, f.at("b").data, 8);
  EXPECT_EQ(bv[1], 6.0f);
  int64_t c0;
  std::memcpy(&c0, f.at("c").data, 8);
  EXPECT_EQ(c0, 7);
  EXPECT_EQ(f.at("c").dtype, LMRT_DTYPE_I64);
  EXPECT_EQ(f.at("e").nbytes, 0u);
  EXPECT_EQ(f.find("__metadata__"), nullptr);
  expect_error([&] { f.at("zzz"); }, {"x.safetensors", "zzz"}, LMRT_STATUS_NOT_FOUND);

  // Moving keeps the mapping alive and the pointers valid.
  const std::byte* data_ptr = a.data;
  SafetensorsFile g = std::move(f);
  EXPECT_EQ(g.at("a").data, data_ptr);
}

TEST(SafetensorsReader, OverlappingTensorsAreAllowed) {
  TempDir tmp;
  const std::string header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})";
  write_bytes(tmp / "o.safetensors", safetensors_bytes(header, floats_bytes({1, 2})));
  SafetensorsFile f(tmp / "o.safetensors");
  float b;
  std::memcpy(&b, f.at("b").data, 4);
  EXPECT_EQ(b, 2.0f);
}

struct BadCase {
  const char* label;
  std::string bytes;
  std::vector<std::string> expected;  // substrings of the message (besides the file name)
};

TEST(SafetensorsReader, MalformedFilesGiveClearErrors) {
  TempDir tmp;
  const std::string good_tensor = R"("w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
  const std::string full = safetensors_bytes("{" + good_tensor + "}", floats_bytes({1, 2}));
  const std::vector<BadCase> cases = {
      {"empty", "", {"truncated", "0 bytes"}},
      {"short", std::string("\x10\0\0", 3), {"truncated"}},
      {"header_past_eof", safetensors_bytes("", "").replace(0, 1, "\xff"), {"header length 255", "exceeds the file size"}},
      {"truncated_data", full.substr(0, full.size() - 3), {"tensor 'w'", "out of range"}},
      {"truncated_header", full.substr(0, 20), {"header length", "exceeds"}},
      {"bad_json", safetensors_bytes("{\"w\": {\"dtype\": ", ""), {"bad JSON header"}},
      {"not_object", safetensors_bytes("[1,2]", ""), {"not a JSON object"}},
      {"entry_not_object", safetensors_bytes(R"({"w": 3})", ""), {"tensor 'w'", "not a JSON object"}},
      {"missing_dtype", safetensors_bytes(R"({"w":{"shape":[2],"data_offsets":[0,8]}})", floats_bytes({1, 2})),
       {"tensor 'w'", "no \"dtype\""}},
      {"missing_shape", safetensors_bytes(R"({"w":{"dtype":"F32","data_offsets":[0,8]}})", floats_bytes({1, 2})),
       {"tensor 'w'", "no \"shape\""}},
      {"missing_offsets", safetensors_bytes(R"({"w":{"dtype":"F32","shape":[2]}})", floats_bytes({1, 2})),
       {"tensor 'w'", "no \"data_offsets\""}},
      {"unsupported_dtype", safetensors_bytes(R"({"w":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}})", floats_bytes({1, 2})),
       {"tensor 'w'", "unsupported dtype F64"}},
      {"unknown_dtype", safetensors_bytes(R"({"w":{"dtype":"Q4","shape":[1],"data_offsets":[0,8]}})", floats_bytes({1, 2})),
       {"tensor 'w'", "unsupported dtype Q4"}},
      {"negative_dim", safetensors_bytes(R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", floats_bytes({1, 2})),
       {"tensor 'w'", "non-negative integer"}},
      {"offsets_out_of_range", safetensors_bytes(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", floats_bytes({1, 2})),
       {"tensor 'w'", "[0, 16]", "out of range", "8 bytes"}},
      {"offsets_reversed", safetensors_bytes(R"({"w":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", floats_bytes({1, 2})),
       {"tensor 'w'", "begin > end"}},
      {"offsets_bad_form", safetensors_bytes(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", floats_bytes({1, 2})),
       {"tensor 'w'", "[begin, end]"}},
      {"shape_offset_mismatch", safetensors_bytes(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", floats_bytes({1, 2})),
       {"tensor 'w'", "span 8 bytes", "shape [3] of F32 needs 12"}},
      {"shape_overflow",
       safetensors_bytes(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", floats_bytes({1, 2})),
       {"tensor 'w'", "overflows"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.label);
    const auto path = tmp / (std::string(c.label) + ".safetensors");
    write_bytes(path, c.bytes);
    std::vector<std::string> parts = c.expected;
    parts.push_back(path.string());
    try {
      SafetensorsFile f(path);
      ADD_FAILURE() << "no error";
    } catch (const lmrt::Error& e) {
      EXPECT_EQ(e.code(), LMRT_STATUS_MODEL_ERROR) << e.what();
      for (const auto& p : parts) EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what() << "\nmissing: " << p;
    }
  }
}

TEST(SafetensorsReader, MissingFileIsNotFound) {
  TempDir tmp;
  expect_error([&] { SafetensorsFile f(tmp / "none.safetensors"); }, {"none.safetensors", "cannot open"},
               LMRT_STATUS_NOT_FOUND);
}

TEST(SafetensorsWriter, RoundTripsAndAlignsTensors) {
  TempDir tmp;
  lmrt::SafetensorsWriter w;
  const std::vector<uint16_t> half = {1, 2, 3};
  const std::vector<float> f = {1.5f, -2.5f};
  const std::vector<int8_t> bytes = {-1, 2, 3};
  w.add("half", LMRT_DTYPE_F16, {3}, half.data(), 6);
  w.add("bytes", LMRT_DTYPE_I8, {1, 3}, bytes.data(), 3);
  w.add_borrowed("float", LMRT_DTYPE_F32, {2}, f.data(), 8);
  w.set_metadata("note", "hello");
  expect_error([&] { w.add("half", LMRT_DTYPE_F16, {3}, half.data(), 6); }, {"duplicate", "half"}, LMRT_STATUS_INVALID_ARGUMENT);
  expect_error([&] { w.add("bad", LMRT_DTYPE_F32, {3}, f.data(), 8); }, {"bad", "8 bytes", "needs 12"},
               LMRT_STATUS_INVALID_ARGUMENT);
  w.write(tmp / "w.safetensors");

  const std::string raw = lmrt::test::read_bytes(tmp / "w.safetensors");
  uint64_t n = 0;
  std::memcpy(&n, raw.data(), 8);
  EXPECT_EQ(n % 8, 0u);  // header padded to 8 bytes
  const auto header = nlohmann::json::parse(raw.substr(8, n));
  EXPECT_EQ(header["__metadata__"]["format"], "pt");
  EXPECT_EQ(header["__metadata__"]["note"], "hello");

  SafetensorsFile r(tmp / "w.safetensors");
  ASSERT_EQ(r.tensors().size(), 3u);
  EXPECT_EQ(std::memcmp(r.at("half").data, half.data(), 6), 0);
  EXPECT_EQ(std::memcmp(r.at("float").data, f.data(), 8), 0);
  EXPECT_EQ(std::memcmp(r.at("bytes").data, bytes.data(), 3), 0);
  EXPECT_EQ(r.at("bytes").shape, (std::vector<int64_t>{1, 3}));
  for (const auto& t : r.tensors()) {
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data) % lmrt::dtype_size(t.dtype), 0u) << t.name << " is misaligned";
  }
}

TEST(SafetensorsCheckpoint, ShardedMatchesSingle) {
  TempDir tmp;
  lmrt::SafetensorsWriter w;
  std::vector<std::vector<float>> values;
  for (int i = 0; i < 5; ++i) {
    values.push_back(std::vector<float>(10 + i, static_cast<float>(i)));
    w.add("t" + std::to_string(i), LMRT_DTYPE_F32, {10 + i}, values.back().data(), values.back().size() * 4);
  }
  std::filesystem::create_directories(tmp / "single");
  std::filesystem::create_directories(tmp / "sharded");
  w.write(tmp / "single" / "model.safetensors");
  w.write_sharded(tmp / "sharded", 3);
  EXPECT_TRUE(std::filesystem::exists(tmp / "sharded" / "model-00003-of-00003.safetensors"));

  SafetensorsCheckpoint single(tmp / "single"), sharded(tmp / "sharded");
  EXPECT_FALSE(single.sharded());
  EXPECT_TRUE(sharded.sharded());
  EXPECT_EQ(sharded.files().size(), 3u);
  ASSERT_EQ(single.names(), sharded.names());
  for (const auto& name : single.names()) {
    const auto* a = single.find(name);
    const auto* b = sharded.find(name);
    ASSERT_EQ(a->nbytes, b->nbytes);
    EXPECT_EQ(std::memcmp(a->data, b->data, a->nbytes), 0) << name;
  }
  std::ifstream in(tmp / "sharded" / "model.safetensors.index.json");
  const auto index = nlohmann::json::parse(in);
  EXPECT_EQ(index["metadata"]["total_size"].get<uint64_t>(), w.total_bytes());
}

TEST(SafetensorsCheckpoint, IndexErrors) {
  TempDir tmp;
  lmrt::SafetensorsWriter w;
  const std::vector<float> v = {1, 2};
  w.add("a", LMRT_DTYPE_F32, {2}, v.data(), 8);
  w.add("b", LMRT_DTYPE_F32, {2}, v.data(), 8);
  w.write_sharded(tmp.path(), 2);

  expect_error([&] { SafetensorsCheckpoint c(tmp / "nothing-here"); }, {"no model.safetensors"}, LMRT_STATUS_NOT_FOUND);

  std::filesystem::remove(tmp / "model-00002-of-00002.safetensors");
  expect_error([&] { SafetensorsCheckpoint c(tmp.path()); },
               {"model.safetensors.index.json", "shard file 'model-00002-of-00002.safetensors'", "does not exist"},
               LMRT_STATUS_NOT_FOUND);

  write_bytes(tmp / "model.safetensors.index.json",
              R"({"weight_map": {"a": "model-00001-of-00002.safetensors", "zz": "model-00001-of-00002.safetensors"}})");
  expect_error([&] { SafetensorsCheckpoint c(tmp.path()); }, {"tensor 'zz'", "does not hold it"}, LMRT_STATUS_MODEL_ERROR);

  write_bytes(tmp / "model.safetensors.index.json", R"({"weight_map": {"a": "../evil.safetensors"}})");
  expect_error([&] { SafetensorsCheckpoint c(tmp.path()); }, {"invalid shard file"}, LMRT_STATUS_MODEL_ERROR);

  write_bytes(tmp / "model.safetensors.index.json", R"({"weight_map": )");
  expect_error([&] { SafetensorsCheckpoint c(tmp.path()); }, {"model.safetensors.index.json", "bad JSON"},
               LMRT_STATUS_MODEL_ERROR);

  write_bytes(tmp / "model.safetensors.index.json", R"({"metadata": {}})");
  expect_error([&] { SafetensorsCheckpoint c(tmp.path()); }, {"no \"weight_map\""}, LMRT_STATUS_MODEL_ERROR);
}

}  // namespace
