// Helpers for the config tests: a scratch folder for YAML files, and catching
// the CONFIG_ERROR a call throws.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include <unistd.h>

#include "lmrt/core/config.hpp"
#include "lmrt/core/error.hpp"

namespace lmrt::test {

// A fresh folder under the gtest temp dir, removed at the end of the test.
class ScratchDir {
 public:
  ScratchDir() {
    static std::atomic<int> counter{0};
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = std::filesystem::path(::testing::TempDir()) /
            ("lmrt-config-" + std::string(info ? info->name() : "x") + "-" + std::to_string(::getpid()) + "-" +
             std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path write(const std::string& name, const std::string& text) const {
    auto p = path_ / name;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }

 private:
  std::filesystem::path path_;
};

// The message of the CONFIG_ERROR that `fn` throws; fails the test if it throws
// anything else or nothing.
inline std::string config_error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const lmrt::Error& e) {
    EXPECT_EQ(e.code(), LMRT_STATUS_CONFIG_ERROR) << e.what();
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected lmrt::Error(CONFIG_ERROR), got std::exception: " << e.what();
    return e.what();
  }
  ADD_FAILURE() << "expected a CONFIG_ERROR, nothing was thrown";
  return {};
}

}  // namespace lmrt::test
