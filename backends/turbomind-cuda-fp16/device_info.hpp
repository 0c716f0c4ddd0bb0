// What the CUDA runtime says about the devices on this machine.
#pragma once

#include <string>
#include <vector>

namespace lmrt::cuda {

struct DeviceInfo {
  int index = 0;
  std::string name;
  int sm_major = 0, sm_minor = 0;
  size_t total_bytes = 0, free_bytes = 0;
  int multiprocessors = 0;
};

struct DeviceQuery {
  std::vector<DeviceInfo> devices;
  int driver_version = 0;   // e.g. 13000; 0 when no driver
  int runtime_version = 0;  // the CUDA runtime this plugin was built with
  std::string error;        // why no device is usable, if none is
};

// Never throws; a machine without a driver or GPU gives an empty list and a reason.
DeviceQuery query_devices();

// Runs a tiny kernel on `device` and checks its result: proof that the code
// built for this architecture runs there.
bool smoke_test(int device, std::string* error);

}  // namespace lmrt::cuda
