#include "jobs/acked_leftovers.h"

#include <chrono>
#include <thread>

#include "common/log.h"

namespace soulbox::jobs {

Result<Sweep> remove_acked_leftovers(bus::JetStream& js, const WorkQueue& queue) {
  auto stream = js.stream_state(queue.stream);
  if (!stream) return stream.error();
  Sweep sweep;
  sweep.last_seq = stream->last_seq;
  sweep.empty = stream->messages == 0;
  if (sweep.empty) return sweep;
  auto consumer = js.consumer_state(queue.stream, queue.durable);
  if (!consumer && consumer.error().code == ErrorCode::not_found)
    return Error{ErrorCode::unavailable, queue.stream + " holds jobs for a consumer that does not exist yet"};
  if (!consumer) return consumer.error();
  sweep.ack_floor = consumer->ack_floor_stream_seq;
  if (stream->first_seq > sweep.ack_floor) return sweep;  // the usual case: nothing acked is left
  auto purged = js.purge_below(queue.stream, queue.filter, sweep.ack_floor + 1);
  if (!purged) return purged.error();
  sweep.removed = *purged;
  if (sweep.removed)
    logger("jobs")->warn("removed {} acked job(s) that {} still held at or below the ack floor (sequence {})",
                         sweep.removed, queue.stream, sweep.ack_floor);
  return sweep;
}

void remove_acked_leftovers_after_reconnects(bus::Connection& connection, const WorkQueue& queue,
                                             const std::atomic<bool>& stopping, int sweep_ms) {
  constexpr int kPollMs = 100;  // how soon a reconnect or a stop is noticed
  std::unique_ptr<bus::JetStream> js;
  bool round_open = true;  // at start
  uint64_t round_reconnects = connection.reconnects();
  uint64_t round_last_seq = 0;  // 0: not read yet this round
  auto next_sweep = std::chrono::steady_clock::now();
  while (!stopping) {
    if (const uint64_t reconnects = connection.reconnects(); reconnects != round_reconnects) {
      round_open = true;
      round_reconnects = reconnects;
      round_last_seq = 0;
      next_sweep = std::chrono::steady_clock::now();
    }
    if (round_open && std::chrono::steady_clock::now() >= next_sweep) {
      next_sweep = std::chrono::steady_clock::now() + std::chrono::milliseconds(sweep_ms);
      if (!js)
        if (auto opened = bus::JetStream::open(connection)) js = std::move(*opened);
      auto sweep =
          js ? remove_acked_leftovers(*js, queue) : Result<Sweep>(Error{ErrorCode::unavailable, "no JetStream"});
      if (!sweep) {
        logger("jobs")->debug("acked leftovers in {}: {}; trying again", queue.stream, sweep.error().message);
      } else {
        if (!round_last_seq) round_last_seq = sweep->last_seq;
        round_open = !sweep->empty && sweep->ack_floor < round_last_seq;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(kPollMs));
  }
}

}  // namespace soulbox::jobs
