// One malloc setting for SoulBox's long-running, many-threaded processes
// (soulboxd, soulbox-gateway).
//
// glibc raises its mmap threshold to the largest block freed so far (up to
// 32 MiB) and from then on serves large buffers from its per-thread arenas,
// which keep what is freed. With a dozen threads handing MiB-sized output
// buffers to one another, soulboxd's RSS grew ~50 MiB with every 16 MiB
// output flood of a code cell (and stayed). A fixed threshold keeps blocks
// of 1 MiB and more in mappings of their own, returned when freed: RSS stays
// flat (measured: 26 -> 28 MiB over five floods). 256 KiB did as well for
// memory but cost POST /execute ~0.08 ms: something on that path allocates
// between the two, and an mmap per request is not free.
#pragma once
#include <malloc.h>

namespace soulbox {

inline void keep_large_blocks_out_of_arenas() {
  ::mallopt(M_MMAP_THRESHOLD, 1 << 20);
}

// glibc gives memory back to the kernel only from the top of each arena's
// heap; pages freed below a chunk still in use stay in RSS. Under a steady
// load of many short-lived sandboxes that is most of what is freed (the soak
// measured 6 MiB in use on 12-20 MiB of anonymous RSS). malloc_trim returns
// every free page of every arena (it takes each arena's lock briefly: about
// a millisecond for soulboxd's heap), so soulboxd calls it every 30 s.
inline void return_free_memory_to_kernel() {
  ::malloc_trim(0);
}

}  // namespace soulbox
