// The engine's tuning and test knobs in the environment (docs/configuration.md lists them): unset or empty leaves
// the default; any other value that is not a valid one is a CONFIG_ERROR naming the variable and the value, raised
// before the engine touches a device.
#pragma once

namespace lmrt::tm {

// 0 or 1 into `value`.
void read_env_flag(const char* name, bool& value);

// An integer in [lo, hi] and a multiple of `step` into `value`; `must` says what is accepted ("an integer in
// [1, 64]"), for the message.
void read_env_int(const char* name, long lo, long hi, long step, const char* must, int& value);

}  // namespace lmrt::tm
