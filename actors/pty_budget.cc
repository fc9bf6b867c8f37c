#include "actors/pty_budget.h"

#include <fstream>

namespace soulbox::actors {
namespace {

uint64_t read_number(const std::string& path, uint64_t fallback) {
  std::ifstream in(path);
  uint64_t value = 0;
  return in >> value ? value : fallback;
}

}  // namespace

PtyPool read_pty_pool(const std::string& proc_dir) {
  PtyPool pool;
  pool.max = read_number(proc_dir + "/max", pool.max);
  pool.reserve = read_number(proc_dir + "/reserve", pool.reserve);
  return pool;
}

uint64_t sandboxes_within_pty_pool(const PtyPool& pool, uint32_t ptys_per_sandbox) {
  if (ptys_per_sandbox == 0 || pool.max <= pool.reserve) return 0;
  return (pool.max - pool.reserve) / ptys_per_sandbox;
}

}  // namespace soulbox::actors
