// The kernels behind code contexts (kernels/): which languages have one, and
// starting one as a process with its four pipes (kernels/README.md).
#pragma once
#include <sys/types.h>

#include <string>
#include <vector>

#include "agent/users.h"
#include "common/result.h"
#include "common/unique_fd.h"

namespace soulbox::agent {

struct KernelLanguage {
  const char* name;               // canonical: python, javascript, bash, ruby, java
  std::vector<const char*> argv;  // the kernel's source follows as the last argument
  const char* source;             // kernels/<language>_kernel.*, compiled in
  // The interpreter takes a file, not program text (Java's source launcher):
  // the source goes in a memfd at fd 5 and the last argument is /dev/fd/5.
  bool source_as_file = false;
};

// The canonical name of a language as E2B's SDKs and users spell it
// ("js", "node", "python3", "sh"...); "" when no kernel serves it.
std::string canonical_language(const std::string& name);
const KernelLanguage* kernel_language(const std::string& canonical);
// "python, javascript, bash, ruby, java" (for error messages).
std::string served_languages();

struct KernelSpec {
  const KernelLanguage* language = nullptr;
  std::string cwd;
  UserIdentity user{};
  std::vector<std::string> env;      // KEY=VALUE over the defaults
  std::vector<std::string> preload;  // python modules
};

// A running kernel: the agent's ends of its pipes (non-blocking,
// close-on-exec). It leads its own process group.
struct KernelProcess {
  pid_t pid = -1;
  unique_fd events;    // kernel fd 3 -> agent: "<kind> <json>\n" lines
  unique_fd requests;  // agent -> kernel fd 4: NUL-terminated fields
  unique_fd out, err;  // the cell's stdout and stderr
  // Its exit was collected: the pid may belong to another process now; only
  // its process group (kept while members live) may still be signalled.
  bool reaped = false;
};

Result<KernelProcess> launch_kernel(const KernelSpec& spec);

}  // namespace soulbox::agent
