// The `soulbox` CLI's commands, each a function of its parsed options that
// returns the process's exit code (errors are printed by the command).
#pragma once
#include <string>
#include <vector>

#include "cli/soulbox/api_client.h"

namespace soulbox::cli {

struct Context {
  ApiClient& api;
  bool json = false;  // --json: machine-readable output
};

// Prints "soulbox: <what>: <message>" with a hint for the usual causes; returns 1.
int fail(const std::string& what, const Error& e);
// Prints "soulbox: <what>: warning: <message>" (the command goes on).
void warn(const std::string& what, const std::string& message);

// What the CLI names when no template is given: E2B requires templateID on
// every create, and E2B's SDKs name this one by default too.
constexpr const char* kDefaultTemplate = "base";

// A sandbox's lifetime as the API takes it: at least a second, at most 30
// days (the gateway refuses more). The node ends it sooner, at its
// --max-lifetime (a day by default), which the CLI learns after the create.
constexpr int kMaxLifetimeS = 30 * 86400;
constexpr int kDefaultLifetimeS = 300;
// A cell's limit in `run` (the code interpreter's: 24 h).
constexpr int kMaxCellTimeoutS = 86400;

struct CreateArgs {
  std::string template_name = kDefaultTemplate;
  int timeout_s = kDefaultLifetimeS;
  std::vector<std::string> metadata, env;  // k=v
};
int sandbox_create(Context& c, const CreateArgs& a);
int sandbox_list(Context& c);
int sandbox_info(Context& c, const std::string& id);
int sandbox_kill(Context& c, const std::string& id);
int sandbox_pause(Context& c, const std::string& id);
int sandbox_resume(Context& c, const std::string& id);

int exec_command(Context& c, const std::string& id, const std::vector<std::string>& argv, bool interactive);
struct RunArgs {
  std::string language = "python";
  std::string code;     // "-": read from stdin
  std::string sandbox;  // set: run in this sandbox's contexts (state persists); else a fresh sandbox
  std::string context;  // a context id in --sandbox
  int timeout_s = 60;
};
int run_code(Context& c, const RunArgs& a);
int copy(Context& c, const std::string& from, const std::string& to, bool recursive, bool progress);
int logs(Context& c, const std::string& id, int pid, int tail, bool follow);

}  // namespace soulbox::cli
