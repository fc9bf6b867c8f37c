// soulbox: the command line for SoulBox, over its HTTP API (the gateway).
//   soulbox init --api-url http://127.0.0.1:3000 --api-key sb_...
//   soulbox sandbox create|list|info|kill|pause|resume
//   soulbox exec [-i] <id> -- cmd ...     soulbox cp [-r] <src> <dst>
//   soulbox logs [-f] [--tail N] <id>     soulbox run [--sandbox ID] --lang python 'print(1)'
//   soulbox config
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/command_line.h"
#include "cli/soulbox/cli_config.h"
#include "cli/soulbox/commands.h"

using namespace soulbox;
using namespace soulbox::cli;

namespace {

int init(ApiConfig config, const std::string& path, const std::string& url, const std::string& key, bool json) {
  if (!url.empty()) config.api_url = url;
  if (!key.empty()) config.api_key = key;
  if (config.api_key.empty())
    return fail("init", Error{ErrorCode::invalid_argument, "give --api-key (soulboxd prints one at first start)"});
  ApiClient api(config);
  auto health = api.call("GET", "/health");
  if (!health) return fail("init: " + config.api_url + "/health", health.error());
  auto listed = api.call("GET", "/v2/sandboxes?limit=1");
  if (!listed) return fail("init: the key", listed.error());
  if (auto saved = save_config(path, config); !saved) return fail("init", saved.error());
  if (json)
    std::cout << nlohmann::json{{"config", path}, {"api_url", config.api_url}}.dump() << "\n";
  else
    std::cout << "soulbox: " << config.api_url << " answers and the key works; saved to " << path << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"soulbox: run code in SoulBox sandboxes"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("soulbox ") + SOULBOX_VERSION);
  std::string config_path = default_config_path();
  bool verbose = false, json = false;
  app.add_option("--config", config_path, "Config file")->capture_default_str();
  app.add_flag("-v,--verbose", verbose, "Print each HTTP request");
  app.add_flag("--json", json, "Machine-readable output");

  std::string init_url, init_key;
  auto* init_cmd = app.add_subcommand("init", "Point the CLI at SoulBox and save the key");
  init_cmd->add_option("--api-url", init_url, "Gateway URL (default http://127.0.0.1:3000)");
  init_cmd->add_option("--api-key", init_key, "API key (sb_<id>_<secret>)");
  auto* config_cmd = app.add_subcommand("config", "Show where the CLI connects");

  auto* sandbox = app.add_subcommand("sandbox", "Create and manage sandboxes");
  sandbox->require_subcommand(1);
  CreateArgs create_args;
  auto* create = sandbox->add_subcommand("create", "Create a sandbox; prints its id");
  create->add_option("-t,--template", create_args.template_name, "Template")->capture_default_str();
  create
      ->add_option("--timeout", create_args.timeout_s,
                   "Lifetime in seconds, 1 to 2592000 (the node ends it by its --max-lifetime, a day by default)")
      ->capture_default_str();
  create->add_option("-m,--metadata", create_args.metadata, "key=value (repeatable)");
  create->add_option("-e,--env", create_args.env, "KEY=value for every process (repeatable)");
  auto* list = sandbox->add_subcommand("list", "Your sandboxes");
  std::string id;
  auto* info = sandbox->add_subcommand("info", "A sandbox's details");
  auto* kill = sandbox->add_subcommand("kill", "End a sandbox");
  auto* pause = sandbox->add_subcommand("pause", "Freeze a sandbox");
  auto* resume = sandbox->add_subcommand("resume", "Thaw a paused sandbox");
  for (auto* sub : {info, kill, pause, resume}) sub->add_option("id", id, "Sandbox id")->required();

  bool interactive = false;
  std::vector<std::string> command;
  auto* exec = app.add_subcommand("exec", "Run a command in a sandbox: exec [-i] <id> -- cmd ...");
  exec->add_flag("-i,--interactive", interactive, "A terminal: raw mode, keystrokes, resize");
  exec->add_option("id", id, "Sandbox id")->required();
  exec->add_option("command", command, "The command and its arguments (after --)")->required();

  std::string from, to;
  bool recursive = false, quiet = false;
  auto* cp = app.add_subcommand("cp", "Copy files: cp [-r] <src> <dst>, one of them <sandbox-id>:<path>");
  cp->add_flag("-r,--recursive", recursive, "Directories");
  cp->add_flag("-q,--quiet", quiet, "No progress bars");
  cp->add_option("src", from)->required();
  cp->add_option("dst", to)->required();

  bool follow = false;
  int tail = 0, pid = 0;
  auto* logs_cmd = app.add_subcommand("logs", "What a sandbox's processes wrote");
  logs_cmd->add_flag("-f,--follow", follow, "Then follow the newest running process (or --pid)");
  logs_cmd->add_option("--tail", tail, "Only the last N lines of each");
  logs_cmd->add_option("--pid", pid, "One process");
  logs_cmd->add_option("id", id, "Sandbox id")->required();

  RunArgs run_args;
  auto* run = app.add_subcommand(
      "run",
      "Run code in a code context: run --lang python 'print(1)' (a fresh sandbox), or --sandbox ID to keep state");
  run->add_option("-l,--lang", run_args.language, "python, javascript, bash, ruby (code contexts); lua, perl (a file)")
      ->capture_default_str();
  run->add_option("-s,--sandbox", run_args.sandbox, "Run in this sandbox's context of the language (state persists)");
  run->add_option("--context", run_args.context, "Run in this context of --sandbox");
  run->add_option("--timeout", run_args.timeout_s, "The cell's limit in seconds, 1 to 86400")->capture_default_str();
  run->add_option("code", run_args.code, "The program, or - to read it from stdin")->required();

  if (auto done = parse_command_line(app, argc, argv, "soulbox")) return *done;

  auto config = load_config(config_path);
  if (!config) return fail("config", config.error());
  config->verbose = verbose;
  if (*init_cmd) return init(*config, config_path, init_url, init_key, json);
  if (*config_cmd) {
    const nlohmann::json shown{
        {"config", config_path}, {"api_url", config->api_url}, {"api_key", masked(config->api_key)}};
    std::cout << (json ? shown.dump() : shown.dump(2)) << "\n";
    return 0;
  }
  if (config->api_key.empty())
    return fail("config", Error{ErrorCode::permission_denied,
                                "no API key: run `soulbox init --api-key sb_...` or set "
                                "SOULBOX_API_KEY"});
  ApiClient api(*config);
  Context c{api, json};
  if (*create) return sandbox_create(c, create_args);
  if (*list) return sandbox_list(c);
  if (*info) return sandbox_info(c, id);
  if (*kill) return sandbox_kill(c, id);
  if (*pause) return sandbox_pause(c, id);
  if (*resume) return sandbox_resume(c, id);
  if (*exec) return exec_command(c, id, command, interactive);
  if (*cp) return copy(c, from, to, recursive, !quiet);
  if (*logs_cmd) return logs(c, id, pid, tail, follow);
  if (*run) return run_code(c, run_args);
  return 2;
}
