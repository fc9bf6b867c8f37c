// Acked jobs the server kept. nats-server 2.9.10's file store writes a
// stream's deletions to disk at most every 2 s; killed in between, it comes
// back with work-queue messages that were acked (so removed) before. Those
// at or below the consumer's ack floor are never delivered again and only
// take space, and SB_JOBS grows with every such restart. A node removes
// them when its jobs service starts and after each reconnect to the bus.
#pragma once
#include <atomic>
#include <cstdint>
#include <string>

#include "bus/jetstream.h"

namespace soulbox::jobs {

struct WorkQueue {
  std::string stream, durable, filter;
};

struct Sweep {
  uint64_t removed = 0;    // messages at or below the ack floor
  uint64_t ack_floor = 0;  // the consumer's, in stream sequence
  uint64_t last_seq = 0;   // the stream's newest message
  bool empty = false;      // the stream held nothing
};

// Removes the messages of the work queue at or below its consumer's ack
// floor. unavailable while messages wait for a consumer that does not
// exist yet (the workers create it).
Result<Sweep> remove_acked_leftovers(bus::JetStream& js, const WorkQueue& queue);

// Until `stopping`: sweeps at once and after every reconnect of
// `connection`. A kept message can also sit above the floor (acked after a
// job that was still held when the server died); it drops below once that
// job is acked, so a round of sweeps (one per `sweep_ms`) ends only when the
// floor has passed every message the stream held when the round began.
void remove_acked_leftovers_after_reconnects(bus::Connection& connection, const WorkQueue& queue,
                                             const std::atomic<bool>& stopping, int sweep_ms = 1000);

}  // namespace soulbox::jobs
