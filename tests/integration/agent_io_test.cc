// The host's agent reader against an agent that floods its channel: the
// test holds the agent's end of real socketpairs and writes frames itself.
// Harmless if the reader were broken: every flood is bounded in bytes, and
// the writers give up when the reader stops reading.
#include "actors/agent_io.h"

#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <caf/all.hpp>
#include <catch2/catch.hpp>
#include <thread>

#include "actors/messages.h"
#include "common/unique_fd.h"

namespace {

using namespace soulbox;
using namespace soulbox::actors;
namespace ap = agentproto;

std::string frame(uint64_t id) {
  flatbuffers::FlatBufferBuilder fbb;
  auto body = ap::CreateHello(fbb, ap::kProtocolVersion, fbb.CreateString("flood"));
  ap::FinishFrameBuffer(fbb, ap::CreateFrame(fbb, id, ap::Body::Hello, body.Union()));
  return ap::encode_frame(fbb);
}

std::string frames(uint64_t id, size_t bytes) {
  const std::string one = frame(id);
  std::string out;
  while (out.size() + one.size() <= bytes) out += one;
  return out;
}

// The host's end (watched by AgentIo) and the agent's end (written here).
struct Channel {
  unique_fd host, agent;
  explicit Channel(int buffer_bytes = 0) {
    int sv[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    host.reset(sv[0]);
    agent.reset(sv[1]);
    if (buffer_bytes) {  // room to queue a whole flood before the host reads
      REQUIRE(::setsockopt(agent.get(), SOL_SOCKET, SO_SNDBUFFORCE, &buffer_bytes, sizeof buffer_bytes) == 0);
      REQUIRE(::setsockopt(host.get(), SOL_SOCKET, SO_RCVBUFFORCE, &buffer_bytes, sizeof buffer_bytes) == 0);
    }
  }
  void write_all(const std::string& bytes) {
    REQUIRE(::send(agent.get(), bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL) == ssize_t(bytes.size()));
  }
};

// Writes frames to `fd` until told to stop, the budget is spent or the
// reader went away; never blocks for long.
class Flooder {
 public:
  Flooder(int fd, size_t budget) : thread_([this, fd, budget] { run(fd, budget); }) {}
  ~Flooder() { stop(); }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  size_t written() const { return written_; }

 private:
  void run(int fd, size_t budget) {
    const std::string chunk = frames(1, 64u << 10);
    size_t at = 0;
    while (!stop_ && written_ < budget) {
      const ssize_t n = ::send(fd, chunk.data() + at, chunk.size() - at, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n > 0) {
        written_ += size_t(n);
        at = (at + size_t(n)) % chunk.size();
        continue;
      }
      if (n < 0 && errno != EAGAIN && errno != EINTR) return;  // the host closed its end
      struct pollfd p {
        fd, POLLOUT, 0
      };
      ::poll(&p, 1, 100);
    }
  }
  std::atomic<bool> stop_{false};
  std::atomic<size_t> written_{0};
  std::thread thread_;
};

// What one owner got from AgentIo.
struct Received {
  std::vector<size_t> batch_bytes;
  size_t bytes = 0;
  std::vector<uint64_t> ids;  // of the frames, in order (only when asked)
  std::string broken;         // the reason, once broken
  bool eof = false;
  bool timed_out = false;
};

// Receives one message for `self` (waits at most 30 s: a liveness guard).
void receive_one(caf::scoped_actor& self, Received& r, bool keep_ids) {
  self->receive(
      [&](agent_atom, const std::string& batch) {
        r.batch_bytes.push_back(batch.size());
        r.bytes += batch.size();
        if (!keep_ids) return;
        ap::FrameReader reader;
        reader.append(batch.data(), batch.size());
        const ap::Frame* f = nullptr;
        while (reader.next(f) == ap::FrameReader::Status::frame) r.ids.push_back(f->id());
      },
      [&](agent_broken_atom, const std::string& why) { r.broken = why; }, [&](agent_eof_atom) { r.eof = true; },
      caf::after(std::chrono::seconds(30)) >> [&] { r.timed_out = true; });
}

struct Io {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  std::unique_ptr<AgentIo> io;
  explicit Io(AgentIoLimits limits) {
    auto started = AgentIo::start(limits);
    REQUIRE(started.ok());
    io = std::move(*started);
  }
};

TEST_CASE("a flooding agent is read in bounded turns while another channel is served", "[agent_io]") {
  AgentIoLimits limits;
  limits.read_bytes_per_turn = 64u << 10;
  limits.max_frames_per_second = 0;  // fairness alone, without the flood cut-off
  Io io(limits);
  caf::scoped_actor flood_owner{io.sys}, quiet_owner{io.sys};
  Channel flood(8 << 20), quiet;
  // 2 MiB already waiting when the host starts reading, more arriving after.
  const std::string queued = frames(1, 2u << 20);
  flood.write_all(queued);
  REQUIRE(io.io->watch(quiet.host.get(), caf::actor_cast<caf::actor>(quiet_owner)).ok());
  REQUIRE(io.io->watch(flood.host.get(), caf::actor_cast<caf::actor>(flood_owner)).ok());
  Flooder flooder(flood.agent.get(), 64u << 20);
  Received flooded, served;
  receive_one(flood_owner, flooded, false);
  REQUIRE_FALSE(flooded.timed_out);

  quiet.write_all(frame(2));  // while the flood goes on
  while (served.ids.empty() && !served.timed_out) receive_one(quiet_owner, served, true);
  CHECK(served.ids == std::vector<uint64_t>{2});
  flooder.stop();

  // Every whole frame written arrives, without further writes waking the
  // reader: what a turn leaves unread is read at the next one.
  const size_t sent = queued.size() + flooder.written() - flooder.written() % frame(1).size();
  while (flooded.bytes < sent && !flooded.timed_out) receive_one(flood_owner, flooded, false);
  CHECK(flooded.bytes == sent);
  // A turn reads at most its share (plus the rest of a frame begun before).
  const size_t largest = *std::max_element(flooded.batch_bytes.begin(), flooded.batch_bytes.end());
  CHECK(largest <= limits.read_bytes_per_turn + frame(1).size());
  CHECK(flooded.broken.empty());
  io.io->forget(flood.host.get());
  io.io->forget(quiet.host.get());
}

TEST_CASE("an agent sending more frames per second than the limit is cut off as broken", "[agent_io]") {
  AgentIoLimits limits;
  limits.max_frames_per_second = 20000;  // far below what this flood sends
  Io io(limits);
  caf::scoped_actor flood_owner{io.sys}, quiet_owner{io.sys};
  Channel flood, quiet;
  REQUIRE(io.io->watch(flood.host.get(), caf::actor_cast<caf::actor>(flood_owner)).ok());
  REQUIRE(io.io->watch(quiet.host.get(), caf::actor_cast<caf::actor>(quiet_owner)).ok());
  Flooder flooder(flood.agent.get(), 256u << 20);
  Received flooded;
  while (flooded.broken.empty() && !flooded.eof && !flooded.timed_out) receive_one(flood_owner, flooded, false);
  CHECK_THAT(flooded.broken, Catch::Contains("frames"));
  CHECK_FALSE(flooded.eof);  // one end notice, the reason
  flood.host.reset();        // what the owner does: the flooder's writes now fail
  flooder.stop();
  CHECK(flooder.written() < (256u << 20));  // cut off, not done

  // The reader goes on serving the others.
  quiet.write_all(frame(3));
  Received served;
  while (served.ids.empty() && !served.timed_out) receive_one(quiet_owner, served, true);
  CHECK(served.ids == std::vector<uint64_t>{3});
  io.io->forget(quiet.host.get());
}

TEST_CASE("a busy agent under the frame limit is not cut off", "[agent_io]") {
  AgentIoLimits limits;
  limits.max_frames_per_second = 20000;
  Io io(limits);
  caf::scoped_actor owner{io.sys};
  Channel channel(1 << 20);
  REQUIRE(io.io->watch(channel.host.get(), caf::actor_cast<caf::actor>(owner)).ok());
  // Fewer frames than the limit, as fast as they can go.
  const std::string burst = frames(4, 10000 * frame(4).size());
  channel.write_all(burst);
  Received got;
  while (got.bytes < burst.size() && got.broken.empty() && !got.timed_out) receive_one(owner, got, false);
  CHECK(got.bytes == burst.size());
  CHECK(got.broken.empty());
  io.io->forget(channel.host.get());
}

}  // namespace
