#include "actors/oom_cause.h"

namespace soulbox::actors {

OomCause oom_cause(bool own_limit_reached) {
  return own_limit_reached ? OomCause::own_limit : OomCause::node_memory;
}

std::string describe(OomCause cause, uint64_t limit) {
  if (cause == OomCause::own_limit) return "its memory limit of " + std::to_string(limit >> 20) + " MiB";
  return "the node's memory for sandboxes, which together used all of it";
}

}  // namespace soulbox::actors
