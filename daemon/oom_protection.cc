#include "daemon/oom_protection.h"

#include <fcntl.h>
#include <unistd.h>

#include "common/unique_fd.h"

namespace soulbox::daemon {

Status protect_from_oom_killer() {
  unique_fd fd(::open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC));
  if (!fd || ::write(fd.get(), "-1000", 5) != 5) return sys_error("write /proc/self/oom_score_adj");
  return {};
}

}  // namespace soulbox::daemon
