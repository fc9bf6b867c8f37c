// The peers SoulBox is measured against in the same run: plain posix_spawn
// and bubblewrap (--unshare-all), each running /bin/true or idling.
#pragma once
#include <sys/types.h>

#include <string>
#include <vector>

namespace soulbox::bench {

// posix_spawn + waitpid of argv; returns the exit status.
int spawn_wait(const std::vector<std::string>& argv);
// Starts argv without waiting (for idle-memory peers); the child first joins
// the cgroup.procs file given, so all its memory is charged there.
pid_t spawn_in_cgroup(const std::vector<std::string>& argv, const std::string& cgroup_procs);

std::vector<std::string> bwrap_argv(const std::vector<std::string>& command);
bool have_bwrap();

}  // namespace soulbox::bench
