// soulbox run: a cell in a code context (POST /execute, docs/code-interpreter.md).
// In a fresh sandbox (removed after), or with --sandbox in that sandbox's
// context of the language, so state persists from one run to the next.
// Languages without a kernel (lua, perl) run as a file in a fresh sandbox.
#include <algorithm>
#include <iostream>
#include <iterator>
#include <map>

#include "cli/soulbox/commands.h"

namespace soulbox::cli {
namespace {

using json = nlohmann::json;

// What a result shows in a terminal: its text, or the formats it carries.
void print_result(const json& line) {
  if (line.value("is_main_result", false) && line.contains("text")) {
    std::cout << line.value("text", "") << "\n";
    return;
  }
  std::string formats;
  for (const char* f : {"text", "html", "markdown", "svg", "png", "jpeg", "pdf", "latex", "json", "chart"})
    if (line.contains(f)) formats += std::string(formats.empty() ? "" : " ") + f;
  std::cerr << "[display: " << formats << "]\n";
  if (line.contains("text") && !line.contains("png")) std::cout << line.value("text", "") << "\n";
}

// Prints the cell's lines as they come; true when it raised an error.
Result<bool> execute(Context& c, const ApiClient::Sandbox& box, const json& body) {
  bool failed = false;
  auto done = c.api.execute(box, body, [&](const json& line) {
    const std::string type = line.value("type", "");
    if (c.json) {
      std::cout << line.dump() << "\n" << std::flush;
    } else if (type == "stdout") {
      std::cout << line.value("text", "") << std::flush;
    } else if (type == "stderr") {
      std::cerr << line.value("text", "") << std::flush;
    } else if (type == "result") {
      print_result(line);
    } else if (type == "error") {
      std::cerr << line.value("traceback", line.value("name", "") + ": " + line.value("value", "")) << "\n";
    } else if (type == "artifacts") {
      for (const auto& a : line.value("artifacts", json::array()))
        std::cerr << "[artifact: " << a.value("path", "") << " " << a.value("mime_type", "") << " "
                  << a.value("size", 0) << " B]\n";
    }
    if (type == "error") failed = true;
    return true;
  });
  if (!done) return done.error();
  return failed;
}

// lua and perl have no kernel: the code goes to a file that runs once.
int run_file(Context& c, const ApiClient::Sandbox& box, const std::string& program, const std::string& ext,
             const std::string& code) {
  const std::string path = "/tmp/main." + ext;
  if (auto up = c.api.upload(box, path, code, {}); !up) return fail("run", up.error());
  return exec_command(c, box.id, {program, path}, false);
}

}  // namespace

int run_code(Context& c, const RunArgs& a) {
  static const std::map<std::string, std::pair<std::string, std::string>> file_runners = {{"lua", {"lua5.4", "lua"}},
                                                                                          {"perl", {"perl", "pl"}}};
  static const char* kernels[] = {"python", "javascript", "js", "bash", "ruby", "java"};
  const bool has_kernel = std::find(std::begin(kernels), std::end(kernels), a.language) != std::end(kernels);
  const auto file_runner = file_runners.find(a.language);
  if (!has_kernel && file_runner == file_runners.end())
    return fail("run", Error{ErrorCode::invalid_argument, "unknown language '" + a.language +
                                                              "' (python, javascript, bash, ruby, java, lua, perl)"});
  if (!has_kernel && !a.sandbox.empty())
    return fail("run",
                Error{ErrorCode::invalid_argument, a.language + " has no code context: run it without --sandbox"});
  if (a.timeout_s < 1 || a.timeout_s > kMaxCellTimeoutS)
    return fail("run", Error{ErrorCode::invalid_argument, "--timeout must be 1 to " + std::to_string(kMaxCellTimeoutS) +
                                                              " seconds (24 h, a cell's limit)"});
  if (!a.context.empty() && a.sandbox.empty())
    return fail("run", Error{ErrorCode::invalid_argument, "--context needs --sandbox"});
  const std::string code =
      a.code == "-" ? std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>()) : a.code;

  ApiClient::Sandbox box;
  if (!a.sandbox.empty()) {
    auto opened = c.api.open(a.sandbox);
    if (!opened) return fail("run", opened.error());
    box = *opened;
  } else {
    auto made =
        c.api.call("POST", "/v2/sandboxes", json{{"templateID", kDefaultTemplate}, {"timeout", a.timeout_s + 30}});
    if (!made) return fail("run", made.error());
    box = {made->value("sandboxID", ""), made->value("envdAccessToken", "")};
  }
  int exit_code = 1;
  if (has_kernel) {
    json body{{"code", code}, {"timeout_ms", uint64_t(a.timeout_s) * 1000}};
    if (a.context.empty())
      body["language"] = a.language;
    else
      body["context_id"] = a.context;
    auto failed = execute(c, box, body);
    exit_code = !failed ? fail("run", failed.error()) : (*failed ? 1 : 0);
  } else {
    exit_code = run_file(c, box, file_runner->second.first, file_runner->second.second, code);
  }
  if (a.sandbox.empty()) (void)c.api.call("DELETE", "/sandboxes/" + box.id);
  return exit_code;
}

}  // namespace soulbox::cli
