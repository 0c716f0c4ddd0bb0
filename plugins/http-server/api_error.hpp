// An error a client caused or must see, in OpenAI's shape:
//   {"error": {"message": ..., "type": ..., "param": ..., "code": ...}}
// Handlers throw ApiError; the server turns it into the JSON body and the HTTP status.
#pragma once

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace lmrt::http {

class ApiError : public std::runtime_error {
 public:
  ApiError(int status, std::string message, std::string type, std::string param = {}, std::string code = {})
      : std::runtime_error(std::move(message)), status_(status), type_(std::move(type)), param_(std::move(param)),
        code_(std::move(code)) {}

  int status() const noexcept { return status_; }
  const std::string& type() const noexcept { return type_; }

  nlohmann::json to_json() const {
    nlohmann::json e = {{"message", what()}, {"type", type_}, {"param", nullptr}, {"code", nullptr}};
    if (!param_.empty()) e["param"] = param_;
    if (!code_.empty()) e["code"] = code_;
    return {{"error", e}};
  }

 private:
  int status_;
  std::string type_, param_, code_;
};

// The common cases, named as OpenAI names them.
inline ApiError invalid_request(std::string message, std::string param = {}) {
  return ApiError(400, std::move(message), "invalid_request_error", std::move(param));
}
inline ApiError model_not_found(const std::string& model) {
  return ApiError(404, "The model '" + model + "' does not exist", "invalid_request_error", "model",
                  "model_not_found");
}

}  // namespace lmrt::http
