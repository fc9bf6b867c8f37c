// soulbox-agent: PID 1 inside every sandbox. Started only by the launcher,
// with the host channel on fd 3.
#include <fcntl.h>
#include <sys/prctl.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "agent/agent.h"

int main(int argc, char** argv) {
  soulbox::agent::AgentOptions options;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--output-limit=", 0) == 0) options.output_limit = std::strtoull(arg.c_str() + 15, nullptr, 10);
  }
  if (options.output_limit == 0) options.output_limit = 16ull << 20;
  // The launcher hands fd 3 over without close-on-exec; no user process may
  // inherit the host channel.
  ::fcntl(soulbox::agentproto::kChannelFd, F_SETFD, FD_CLOEXEC);
  ::prctl(PR_SET_NAME, "soulbox-agent");  // exec'd from a memfd, it would be "memfd:soulbox-a"
  soulbox::agent::Agent agent(soulbox::agentproto::kChannelFd, options);
  return agent.run();
}
