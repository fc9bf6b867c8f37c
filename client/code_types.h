// What the client's code-context calls take and give (docs/code-interpreter.md).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "messages/agent_protocol.h"

namespace soulbox::client {

struct CodeContextSpec {
  std::string language;              // python (default), javascript, bash, ruby
  std::string cwd;                   // default: the user's home
  std::string user;                  // "" = user, or "root"
  std::vector<std::string> env;      // KEY=VALUE
  std::vector<std::string> preload;  // python modules imported ahead
  bool make_default = false;
};

struct CodeContextInfo {
  std::string id, language, cwd;
  int pid = 0;
  bool is_default = false, ready = false, busy = false;
  uint32_t execution_count = 0;
};

struct CodeRunSpec {
  std::string code;
  std::string context_id;  // empty: the default context of `language`
  std::string language;
  std::vector<std::string> env;  // KEY=VALUE for this cell only
  uint32_t timeout_ms = 0;       // 0: none
};

struct CodeEventData {
  agentproto::CodeEventKind kind = agentproto::CodeEventKind::Stdout;
  std::string data;  // output bytes, or a result's / an error's JSON object
  uint32_t execution_count = 0;
};
using CodeEventCallback = std::function<void(const CodeEventData&)>;

struct CodeArtifact {
  std::string path, mime;
  uint64_t size = 0;
};

struct CodeRunResult {
  std::string out, err;              // the cell's stdout and stderr
  std::vector<std::string> results;  // JSON objects, in order
  std::string error;                 // the error's JSON object ("" when none)
  uint32_t execution_count = 0;
  bool timed_out = false, interrupted = false, restarted = false;
  uint64_t wall_us = 0;
  std::vector<CodeArtifact> artifacts;
};

}  // namespace soulbox::client
