// `lmrt generate MODEL --prompt TEXT | --prompts-file FILE`: batch generation.
// All prompts are submitted at once (the scheduler batches them); results are
// printed in input order.
#include "commands.hpp"

#include <condition_variable>
#include <fstream>
#include <iostream>
#include <mutex>

#include <nlohmann/json.hpp>

#include "lmrt/core/error.hpp"
#include "lmrt/core/log.hpp"
#include "lmrt/core/runtime.hpp"

namespace lmrt::app {
namespace {

const char* finish_name(lmrt_finish_reason r) {
  switch (r) {
    case LMRT_FINISH_STOP: return "stop";
    case LMRT_FINISH_LENGTH: return "length";
    case LMRT_FINISH_CANCELLED: return "cancelled";
    case LMRT_FINISH_ERROR: return "error";
    default: return "none";
  }
}

struct Result {
  std::string text;
  std::vector<int32_t> tokens;
  lmrt_finish_reason finish = LMRT_FINISH_NONE;
  std::string error;
  uint32_t input_tokens = 0, output_tokens = 0;
  bool done = false;
};

}  // namespace

void add_generate(CLI::App& app, Commands& cmds) {
  auto* cmd = app.add_subcommand("generate", "generate text for one or more prompts and print it");
  auto flags = std::make_shared<DeploymentFlags>(cmd, std::vector<std::string>{"model.", "engine."}, true);
  auto opts = std::make_shared<GenerateOptions>();
  cmd->add_option("--prompt", opts->prompts, "a prompt (repeatable)");
  cmd->add_option("--prompts-file", opts->prompts_file, "a file with one prompt per line")->check(CLI::ExistingFile);
  cmd->add_option("--max-new-tokens", opts->max_new_tokens, "tokens to generate at most");
  cmd->add_option("--min-new-tokens", opts->min_new_tokens, "tokens to generate at least");
  cmd->add_option("--temperature", opts->temperature, "sampling temperature; 0 = greedy");
  cmd->add_option("--top-p", opts->top_p, "nucleus sampling mass (0, 1]");
  cmd->add_option("--top-k", opts->top_k, "sample among the k most likely tokens; 0 = all");
  cmd->add_option("--min-p", opts->min_p, "drop tokens below min_p x the top probability");
  cmd->add_option("--repetition-penalty", opts->repetition_penalty, "penalty for repeated tokens; 1 = off");
  cmd->add_option("--seed", opts->seed, "random seed");
  cmd->add_option("--stop", opts->stop_words, "stop word (repeatable)");
  cmd->add_flag("--ignore-eos", opts->ignore_eos, "do not stop at EOS");
  cmd->add_flag("--json", opts->json, "print one JSON object per prompt");
  cmd->callback([cmd, flags, opts, &cmds] { cmds.exit_code = run_generate(*flags, *opts, cmd); });
}

int run_generate(const DeploymentFlags& flags, const GenerateOptions& o, CLI::App* cmd) {
  std::vector<std::string> prompts = o.prompts;
  if (!o.prompts_file.empty()) {
    std::ifstream in(o.prompts_file);
    std::string line;
    while (std::getline(in, line))
      if (!line.empty()) prompts.push_back(line);
  }
  if (prompts.empty()) fail(LMRT_STATUS_INVALID_ARGUMENT, "generate: give --prompt TEXT or --prompts-file FILE");

  Deployment d = flags.build_or_bundled_model();
  log::set_level(d.log_level());
  Runtime runtime(d);
  GenerationParams gen = runtime.default_generation();
  if (cmd->count("--max-new-tokens")) gen.max_new_tokens = o.max_new_tokens;
  if (cmd->count("--min-new-tokens")) gen.min_new_tokens = o.min_new_tokens;
  if (cmd->count("--temperature")) gen.temperature = o.temperature;
  if (cmd->count("--top-p")) gen.top_p = o.top_p;
  if (cmd->count("--top-k")) gen.top_k = o.top_k;
  if (cmd->count("--min-p")) gen.min_p = o.min_p;
  if (cmd->count("--repetition-penalty")) gen.repetition_penalty = o.repetition_penalty;
  if (cmd->count("--seed")) gen.seed = o.seed;
  if (o.ignore_eos) gen.ignore_eos = true;
  for (const auto& s : o.stop_words) gen.stop_words.push_back(s);

  std::vector<Result> results(prompts.size());
  std::mutex mu;
  std::condition_variable cv;
  size_t remaining = prompts.size();
  for (size_t i = 0; i < prompts.size(); ++i) {
    RequestInput in;
    in.kind = LMRT_INPUT_MESSAGES;
    in.messages = {{"user", prompts[i]}};
    try {
      runtime.submit(in, gen, [&, i](const RuntimeEvent& e) {
        std::lock_guard lock(mu);
        Result& r = results[i];
        r.text += e.text;
        r.tokens.insert(r.tokens.end(), e.tokens.begin(), e.tokens.end());
        r.input_tokens = e.input_tokens;
        r.output_tokens = e.output_tokens;
        if (e.kind == LMRT_EVENT_FINISHED) {
          r.finish = e.finish_reason;
          r.error = e.error_message;
          r.done = true;
          --remaining;
          cv.notify_all();
        }
      });
    } catch (const Error& e) {
      std::lock_guard lock(mu);
      results[i].finish = LMRT_FINISH_ERROR;
      results[i].error = e.what();
      results[i].done = true;
      --remaining;
    }
  }
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return remaining == 0; });
  }
  int rc = 0;
  for (size_t i = 0; i < prompts.size(); ++i) {
    const Result& r = results[i];
    if (r.finish == LMRT_FINISH_ERROR) {
      rc = 1;
      std::cerr << "lmrt generate: prompt " << i + 1 << ": " << r.error << "\n";
    }
    if (o.json) {
      nlohmann::json j = {{"prompt", prompts[i]},         {"text", r.text},
                          {"token_ids", r.tokens},        {"finish_reason", finish_name(r.finish)},
                          {"input_tokens", r.input_tokens}, {"output_tokens", r.output_tokens}};
      if (!r.error.empty()) j["error"] = r.error;
      std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    } else if (r.finish != LMRT_FINISH_ERROR) {
      std::cout << r.text << "\n";
    }
  }
  std::cout.flush();
  return rc;
}

}  // namespace lmrt::app
