// soulbox cp [-r] <src> <dst>: one side is "<sandbox-id>:<path>", the other
// a local path; directories with -r.
#include "cli/soulbox/copy_transfers.h"

namespace soulbox::cli {

int copy(Context& c, const std::string& from, const std::string& to, bool recursive, bool progress) {
  const auto src = remote_of(from), dst = remote_of(to);
  if (src && dst) return fail("cp", Error{ErrorCode::invalid_argument, "copy between two sandboxes is not supported"});
  if (!src && !dst) return fail("cp", Error{ErrorCode::invalid_argument, "one side must be <sandbox-id>:<path>"});
  return dst ? copy_up(c, from, *dst, recursive, progress) : copy_down(c, *src, to, recursive, progress);
}

}  // namespace soulbox::cli
