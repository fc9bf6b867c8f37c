// Pure logic of the actors: metrics ring, pool targets, placement, and the
// bus <-> agent re-packing.
#include <catch2/catch.hpp>

#include "actors/agent_forward.h"
#include "actors/metrics_ring.h"
#include "actors/node_status.h"
#include "actors/placement.h"
#include "actors/pool_policy.h"
#include "messages/agent_protocol.h"

namespace {

using namespace soulbox;
using namespace soulbox::actors;
namespace ap = agentproto;
namespace bp = busproto;

TEST_CASE("the metrics ring keeps the newest samples in order and filters by time", "[actors]") {
  MetricsRing ring(3);
  for (int64_t t = 1; t <= 5; ++t) ring.add(MetricsPoint{t * 1000, float(t)});
  auto all = ring.range(0, 0);
  REQUIRE(all.size() == 3);
  CHECK(all[0].unix_ms == 3000);
  CHECK(all[2].unix_ms == 5000);
  auto some = ring.range(4000, 4500);
  REQUIRE(some.size() == 1);
  CHECK(some[0].cpu_percent == 4.0f);
  CHECK(ring.range(6000, 0).empty());
}

TEST_CASE("pool strategies size the pool from recent demand within min and max", "[actors]") {
  PoolConfig fixed;
  fixed.min_warm = 2;
  fixed.max_size = 6;
  PoolDemand demand;
  const int64_t now = 1000000;
  for (int i = 0; i < 10; ++i) demand.record(now - 200000 + i);  // a burst 200 s ago
  CHECK(demand.target(fixed, now) == 2);
  PoolConfig historical = fixed;
  historical.strategy = PoolStrategy::historical;
  CHECK(demand.target(historical, now) == 6);  // the burst, capped at max
  PoolConfig dynamic = fixed;
  dynamic.strategy = PoolStrategy::dynamic;
  CHECK(demand.target(dynamic, now) == 2);  // nothing in the last 10 s
  for (int i = 0; i < 3; ++i) demand.record(now - 1000 + i);
  CHECK(demand.target(dynamic, now) == 5);              // ceil(3 * 1.5)
  CHECK(demand.target(historical, now + 400000) == 2);  // everything forgotten
  CHECK_FALSE(parse_pool_strategy("lifo").ok());
  CHECK(*parse_pool_strategy("dynamic") == PoolStrategy::dynamic);
}

NodeView node(const std::string& name, uint64_t free_gib, int64_t now) {
  NodeView n;
  n.name = name;
  n.status = "healthy";
  n.region = "eu";
  n.cpu_capacity = 2;
  n.cpu_free = 2;
  n.memory_capacity_bytes = 16ull << 30;
  n.memory_free_bytes = free_gib << 30;
  n.seen_unix_ms = now;
  n.reported_unix_ms = now;
  return n;
}

TEST_CASE("placement packs or spreads, honours constraints and reserves what it hands out", "[actors]") {
  const int64_t now = 5000000;
  std::map<std::string, NodeView> nodes;
  observe(nodes, node("full", 2, now), {}, now);
  observe(nodes, node("empty", 15, now), {}, now);
  PlacementRequest req;
  req.memory_bytes = 1ull << 30;
  PlacementOptions pack;
  CHECK(*place(nodes, req, pack, now) == "full");
  PlacementOptions spread;
  spread.strategy = PlacementStrategy::spread;
  CHECK(*place(nodes, req, spread, now) == "empty");
  // "full" had 2 GiB and holds one 1 GiB reservation: a 1.5 GiB request no longer fits there.
  PlacementRequest big = req;
  big.memory_bytes = 3ull << 29;
  CHECK(*place(nodes, big, pack, now) == "empty");
  PlacementRequest labelled = req;
  labelled.node_selector = {{"gpu", "a100"}};
  CHECK(place(nodes, labelled, pack, now).error().code == ErrorCode::resource_exhausted);
  nodes["empty"].labels["gpu"] = "a100";
  CHECK(*place(nodes, labelled, pack, now) == "empty");
  PlacementRequest preferred = req;
  preferred.prefer_node = "empty";
  CHECK(*place(nodes, preferred, pack, now) == "empty");
  // Silent, draining and out-of-region nodes are skipped.
  nodes["empty"].status = "draining";
  nodes["full"].seen_unix_ms = now - 60000;
  auto none = place(nodes, req, pack, now);
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().message.find("retry") != std::string::npos);
  CHECK_FALSE(parse_placement_strategy("random").ok());
}

TEST_CASE("a heartbeat drops the reservations the node confirms and expired ones", "[actors]") {
  std::map<std::string, NodeView> nodes;
  PlacementOptions o;
  observe(nodes, node("n", 2, 1000), o, 1000);
  PlacementRequest req;
  req.memory_bytes = 1ull << 30;
  req.reservation_id = "a";
  REQUIRE(place(nodes, req, o, 1000).ok());
  req.reservation_id = "b";
  REQUIRE(place(nodes, req, o, 1000).ok());
  CHECK_FALSE(place(nodes, req, o, 1000).ok());  // 2 GiB reserved
  NodeView beat = node("n", 2, 1200);
  beat.consumed_reservations = {"a"};  // created: the figures include it (still 2 GiB free here)
  observe(nodes, beat, o, 1200);
  CHECK(place(nodes, req, o, 1200).ok());  // only "b" and the new one remain
  CHECK_FALSE(place(nodes, req, o, 1200).ok());
  observe(nodes, node("n", 2, 1000 + o.reservation_ttl_ms + 2000), o, 1000 + o.reservation_ttl_ms + 2000);
  CHECK(nodes["n"].reservations.empty());  // never confirmed: expired
}

TEST_CASE("bus bodies are re-packed into agent frames and agent answers into replies", "[actors]") {
  flatbuffers::FlatBufferBuilder fbb;
  auto signal = ap::CreateProcSignal(fbb, 42, 9);
  bp::FinishEnvelopeBuffer(
      fbb, bp::CreateEnvelope(fbb, fbb.CreateString("r1"), 0, 0, 0, 0, bp::Body::ProcSignal, signal.Union()));
  const std::string bytes = bp::finish(fbb);
  auto env = bp::open_envelope(bytes);
  REQUIRE(env.ok());
  auto frame = forward_request(**env, 77);
  REQUIRE(frame.has_value());
  ap::FrameReader reader;
  reader.append(frame->data(), frame->size());
  const ap::Frame* f = nullptr;
  REQUIRE(reader.next(f) == ap::FrameReader::Status::frame);
  CHECK(f->id() == 77);
  REQUIRE(f->body_as_ProcSignal());
  CHECK(f->body_as_ProcSignal()->pid() == 42);
  CHECK(f->body_as_ProcSignal()->signal() == 9);

  flatbuffers::FlatBufferBuilder other;
  bp::FinishEnvelopeBuffer(other,
                           bp::CreateEnvelope(other, other.CreateString("r2"), 0, 0, 0, 0, bp::Body::NodeHealthQuery,
                                              bp::CreateNodeHealthQuery(other).Union()));
  const std::string other_bytes = bp::finish(other);
  CHECK_FALSE(forward_request(**bp::open_envelope(other_bytes), 1).has_value());

  flatbuffers::FlatBufferBuilder err;
  ap::FinishFrameBuffer(
      err, ap::CreateFrame(
               err, 5, ap::Body::ErrorReply,
               ap::CreateErrorReply(err, uint16_t(ErrorCode::not_found), err.CreateString("no such process")).Union()));
  const std::string reply_bytes = reply_from_agent(*ap::GetFrame(err.GetBufferPointer()), "r1");
  auto reply = bp::open_reply(reply_bytes);
  REQUIRE(reply.ok());
  CHECK((*reply)->code() == uint16_t(ErrorCode::not_found));
  CHECK((*reply)->message()->str() == "no such process");
  CHECK((*reply)->request_id()->str() == "r1");

  const std::vector<std::string> sandbox_env = {"A=sandbox", "B=sandbox"};
  flatbuffers::FlatBufferBuilder ps;
  auto start = ap::CreateProcStart(ps, ps.CreateVectorOfStrings(std::vector<std::string>{"/bin/env"}),
                                   ps.CreateVectorOfStrings(std::vector<std::string>{"B=caller"}));
  ps.Finish(start);
  const std::string start_frame =
      process_start_frame(9, *flatbuffers::GetRoot<ap::ProcStart>(ps.GetBufferPointer()), sandbox_env);
  ap::FrameReader r2;
  r2.append(start_frame.data(), start_frame.size());
  REQUIRE(r2.next(f) == ap::FrameReader::Status::frame);
  std::vector<std::string> env_out;
  for (const auto* e : *f->body_as_ProcStart()->env()) env_out.push_back(e->str());
  CHECK(env_out == std::vector<std::string>{"A=sandbox", "B=caller"});
}

}  // namespace

namespace {

TEST_CASE("a node's status follows what it can still do", "[actors]") {
  soulbox::actors::NodeSignals s;
  s.memory_capacity_bytes = 100;
  s.memory_free_bytes = 50;
  CHECK(soulbox::actors::node_status(s) == "healthy");
  s.memory_free_bytes = 9;
  CHECK(soulbox::actors::node_status(s) == "degraded");
  s.bus_connected = false;
  CHECK(soulbox::actors::node_status(s) == "connecting");
  s.launcher_alive = false;
  CHECK(soulbox::actors::node_status(s) == "unhealthy");
  s.draining = true;
  CHECK(soulbox::actors::node_status(s) == "draining");
}

}  // namespace
