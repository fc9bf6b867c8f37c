// Named crash points for the tests of what a crash loses. A process started
// with SOULBOX_CRASH_AT=<name>[,<name>...] kills itself with SIGKILL when it
// reaches one of those points, as `kill -9` would at that instant: no
// destructors, no flush, no exit handlers. Unset (always, outside the
// tests), a point costs one branch on a flag read once.
#pragma once

namespace soulbox {

void crash_point(const char* name);

}  // namespace soulbox
