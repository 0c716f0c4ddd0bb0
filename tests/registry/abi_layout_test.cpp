// The frozen layouts are static asserts (abi_layout.h); including it here makes
// every test build check them, in C++ and (abi_layout_check.c) in C.
#include "lmrt/abi_layout.h"

#include <gtest/gtest.h>

extern "C" int lmrt_abi_layout_checked_in_c(void);

TEST(AbiLayout, CAndCppAgree) { EXPECT_EQ(lmrt_abi_layout_checked_in_c(), int(sizeof(lmrt_engine_api))); }

TEST(AbiLayout, VersionPacking) {
  EXPECT_EQ(LMRT_VERSION_MAJOR(LMRT_ABI_VERSION), 1u);
  EXPECT_EQ(LMRT_VERSION_MINOR(LMRT_ABI_VERSION), 1u);  // 1.1: lmrt_step_batch.flags
  EXPECT_EQ(LMRT_MAKE_VERSION(2, 5), (2u << 16) | 5u);
}

TEST(AbiLayout, EveryTableStartsWithItsSize) {
  // Rule 3: the reader checks struct_size first, so it must be at offset 0 everywhere.
  EXPECT_EQ(offsetof(lmrt_host_api, struct_size), 0u);
  EXPECT_EQ(offsetof(lmrt_engine_api, struct_size), 0u);
  EXPECT_EQ(offsetof(lmrt_frontend_api, struct_size), 0u);
  EXPECT_EQ(offsetof(lmrt_runtime_api, struct_size), 0u);
  EXPECT_EQ(offsetof(lmrt_plugin_descriptor, struct_size), 0u);
  EXPECT_EQ(offsetof(lmrt_step_seq, struct_size), 0u);
  EXPECT_EQ(offsetof(lmrt_event, struct_size), 0u);
}
