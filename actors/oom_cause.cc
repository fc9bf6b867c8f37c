#include "actors/oom_cause.h"

namespace soulbox::actors {

OomCause oom_cause(uint64_t peak, uint64_t limit) {
  if (limit == 0 || peak >= limit - limit / 50) return OomCause::own_limit;
  return OomCause::node_memory;
}

std::string describe(OomCause cause, uint64_t limit) {
  if (cause == OomCause::own_limit) return "its memory limit of " + std::to_string(limit >> 20) + " MiB";
  return "the node's memory for sandboxes, which together used all of it";
}

}  // namespace soulbox::actors
