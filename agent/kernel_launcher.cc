#include "agent/kernel_launcher.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>

#include "agent/kernel_sources.h"
#include "agent/process_env.h"
#include "agent/replies.h"
#include "agent/spawn.h"

namespace soulbox::agent {
namespace {

const std::vector<KernelLanguage>& languages() {
  static const std::vector<KernelLanguage> table = {
      {"python", {"python3", "-c"}, kernel_sources::python},
      {"javascript", {"node", "-e"}, kernel_sources::javascript},
      {"bash", {"bash", "--noprofile", "--norc", "-c"}, kernel_sources::bash},
      {"ruby", {"ruby", "-e"}, kernel_sources::ruby},
      // Serial GC: fewer threads and less memory in a small sandbox. The
      // kernel wraps fds 3 and 4 (java.io) and makes System.getenv's map
      // writable for a cell's env entries (java.util).
      {"java",
       {"java", "--source", "17", "-XX:+UseSerialGC", "--add-opens", "java.base/java.io=ALL-UNNAMED", "--add-opens",
        "java.base/java.util=ALL-UNNAMED"},
       kernel_sources::java,
       true},
  };
  return table;
}

// A file in memory holding `text` (a kernel's source for interpreters that
// take a file; they open /dev/fd/5 anew, from its start).
Result<unique_fd> memory_file(const char* name, const char* text) {
  unique_fd fd(::memfd_create(name, MFD_CLOEXEC));
  if (!fd) return sys_error("memfd_create", errno, code_for_errno(errno));
  const size_t size = std::strlen(text);
  for (size_t done = 0; done < size;) {
    const ssize_t n = ::write(fd.get(), text + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error("write the kernel's source", errno, code_for_errno(errno));
    done += size_t(n);
  }
  return fd;
}

// One pipe; `agent_reads` picks which end stays with the agent (non-blocking).
Status open_pipe(unique_fd& agent_end, unique_fd& kernel_end, bool agent_reads) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return sys_error("pipe", errno, code_for_errno(errno));
  agent_end.reset(fds[agent_reads ? 0 : 1]);
  kernel_end.reset(fds[agent_reads ? 1 : 0]);
  ::fcntl(agent_end.get(), F_SETFL, O_NONBLOCK);
  return {};
}

}  // namespace

std::string canonical_language(const std::string& name) {
  static const std::map<std::string, std::string> aliases = {
      {"", "python"},         {"python", "python"},     {"python3", "python"},
      {"py", "python"},       {"js", "javascript"},     {"javascript", "javascript"},
      {"node", "javascript"}, {"nodejs", "javascript"}, {"bash", "bash"},
      {"sh", "bash"},         {"shell", "bash"},        {"ruby", "ruby"},
      {"rb", "ruby"},         {"java", "java"},
  };
  auto it = aliases.find(name);
  return it == aliases.end() ? "" : it->second;
}

const KernelLanguage* kernel_language(const std::string& canonical) {
  for (const auto& language : languages())
    if (canonical == language.name) return &language;
  return nullptr;
}

std::string served_languages() {
  std::string names;
  for (const auto& language : languages()) names += (names.empty() ? "" : ", ") + std::string(language.name);
  return names;
}

Result<KernelProcess> launch_kernel(const KernelSpec& spec) {
  std::vector<std::string> env = default_env(spec.user, false);
  apply_env(env, spec.env);
  if (!spec.preload.empty()) {
    std::string joined;
    for (const auto& module : spec.preload) joined += (joined.empty() ? "" : ",") + module;
    apply_env(env, {"SOULBOX_PRELOAD=" + joined});
  }
  const std::string program = resolve_program(spec.language->argv[0], env);
  if (program.empty())
    return Error{ErrorCode::not_found, std::string(spec.language->argv[0]) + " is not installed in this sandbox, so " +
                                           spec.language->name + " contexts cannot start"};
  KernelProcess k;
  unique_fd events_w, requests_r, out_w, err_w;
  if (auto st = open_pipe(k.events, events_w, true); !st) return st.error();
  if (auto st = open_pipe(k.requests, requests_r, false); !st) return st.error();
  if (auto st = open_pipe(k.out, out_w, true); !st) return st.error();
  if (auto st = open_pipe(k.err, err_w, true); !st) return st.error();
  unique_fd dev_null(::open("/dev/null", O_RDONLY | O_CLOEXEC));

  std::vector<std::string> args(spec.language->argv.begin(), spec.language->argv.end());
  unique_fd source_file;
  if (spec.language->source_as_file) {
    auto file = memory_file(spec.language->name, spec.language->source);
    if (!file) return file.error();
    source_file = std::move(*file);
    args.emplace_back("/dev/fd/5");
  } else {
    args.emplace_back(spec.language->source);
  }
  std::vector<char*> argv = exec_array(args), envp = exec_array(env);
  SpawnRequest req;
  req.path = program.c_str();
  req.argv = argv.data();
  req.envp = envp.data();
  req.cwd = spec.cwd.c_str();
  req.uid = spec.user.uid;
  req.gid = spec.user.gid;
  req.stdin_fd = dev_null.get();
  req.stdout_fd = out_w.get();
  req.stderr_fd = err_w.get();
  req.extra_fds[0] = events_w.get();
  req.extra_fds[1] = requests_r.get();
  req.extra_fds[2] = source_file.get();  // -1 when the source is an argument
  // A cell's memory bomb is the kernel's: the OOM killer takes it (and the
  // context restarts), not the sandbox's agent, whatever their sizes.
  req.oom_score_adj = "500";
  int err = 0;
  SpawnStep failed_step;
  k.pid = spawn_process(req, &err, &failed_step);
  if (k.pid < 0)
    return Error{code_for_errno(err),
                 spawn_failure(std::string("start the ") + spec.language->name + " kernel", req, err, failed_step)};
  return k;
}

}  // namespace soulbox::agent
