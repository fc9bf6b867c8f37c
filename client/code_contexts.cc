// The client's code-context calls: ops ctx-* and code on sb.v1.sbx.<id>
// (docs/bus.md, docs/code-interpreter.md).
#include <chrono>
#include <utility>

#include "bus/subjects.h"
#include "client/client.h"
#include "client/reply_fields.h"
#include "messages/sandbox_op_names.h"

namespace soulbox::client {
namespace ap = agentproto;
namespace bp = busproto;
namespace subjects = bus::subjects;

namespace {

CodeContextInfo info_of(const ap::CtxInfo& i) {
  return CodeContextInfo{str(i.context_id()), str(i.language()), str(i.cwd()), i.pid(),
                         i.is_default(),      i.ready(),         i.busy(),     i.execution_count()};
}

flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<flatbuffers::String>>> strings(
    flatbuffers::FlatBufferBuilder& b, const std::vector<std::string>& v) {
  return v.empty() ? 0 : b.CreateVectorOfStrings(v);
}

void apply_end(const ap::CodeEnd& end, CodeRunResult& r) {
  r.timed_out = end.timed_out();
  r.interrupted = end.interrupted();
  r.restarted = end.restarted();
  r.wall_us = end.wall_us();
  if (end.execution_count()) r.execution_count = end.execution_count();
  if (end.artifacts())
    for (const auto* a : *end.artifacts())
      r.artifacts.push_back(CodeArtifact{str(a->path()), str(a->mime()), a->size()});
}

}  // namespace

Result<CodeRunResult> CodeExecution::wait(int timeout_ms, const CodeEventCallback& on_event,
                                          const std::function<void()>& on_batch_end) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  if (started_count_) {  // the cell started at once: its count came with CodeStarted
    partial_.execution_count = std::exchange(started_count_, 0);
    if (on_event) on_event(CodeEventData{ap::CodeEventKind::ExecutionCount, "", partial_.execution_count});
  }
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    auto event = events_->pop(int(std::max<int64_t>(0, left.count())));
    if (!event) return event.error();
    const bp::Reply& r = event->get();
    if (r.code() != 0) return Error{ErrorCode(r.code()), r.message() ? r.message()->str() : "the cell's stream failed"};
    if (const auto* e = r.body_as_CodeEvent()) {
      take(*e, on_event);
      if (on_batch_end) on_batch_end();
    } else if (const auto* end = r.body_as_CodeEnd()) {
      apply_end(*end, partial_);
      return partial_;
    } else if (const auto* burst = r.body_as_CodeEvents()) {
      if (burst->events())
        for (const auto* one : *burst->events()) take(*one, on_event);
      if (on_batch_end && !burst->end()) on_batch_end();
      if (burst->end()) {
        apply_end(*burst->end(), partial_);
        return partial_;
      }
    }
  }
}

void CodeExecution::take(const ap::CodeEvent& e, const CodeEventCallback& on_event) {
  CodeEventData data{e.kind(), bytes_of(e.data()), e.execution_count()};
  if (on_event) on_event(data);
  switch (data.kind) {
    case ap::CodeEventKind::Stdout:
      partial_.out += data.data;
      break;
    case ap::CodeEventKind::Stderr:
      partial_.err += data.data;
      break;
    case ap::CodeEventKind::Result:
      partial_.results.push_back(std::move(data.data));
      break;
    case ap::CodeEventKind::Error:
      partial_.error = std::move(data.data);
      break;
    case ap::CodeEventKind::ExecutionCount:
      partial_.execution_count = data.execution_count;
      break;
  }
}

Result<CodeContextInfo> Client::create_context(const std::string& id, const CodeContextSpec& spec) {
  if (auto ok = subjects::check_token("sandbox id", id); !ok) return ok.error();
  auto r = call(subjects::sandbox_op(id, bp::op::ctx_create), [&](flatbuffers::FlatBufferBuilder& b) {
    auto create =
        ap::CreateCtxCreate(b, b.CreateString(spec.language), b.CreateString(spec.cwd), b.CreateString(spec.user),
                            strings(b, spec.env), strings(b, spec.preload), spec.make_default);
    return std::make_pair(bp::Body::CtxCreate, create.Union());
  });
  if (!r) return r.error();
  const auto* info = r->get().body_as_CtxInfo();
  if (!info) return wrong_body("CtxInfo", r->get());
  return info_of(*info);
}

Result<std::vector<CodeContextInfo>> Client::contexts(const std::string& id) {
  if (auto ok = subjects::check_token("sandbox id", id); !ok) return ok.error();
  auto r = call(subjects::sandbox_op(id, bp::op::ctx_list), [](flatbuffers::FlatBufferBuilder& b) {
    return std::make_pair(bp::Body::CtxList, ap::CreateCtxList(b).Union());
  });
  if (!r) return r.error();
  const auto* list = r->get().body_as_CtxListReply();
  if (!list) return wrong_body("CtxListReply", r->get());
  std::vector<CodeContextInfo> out;
  if (list->contexts())
    for (const auto* c : *list->contexts()) out.push_back(info_of(*c));
  return out;
}

Result<CodeContextInfo> Client::restart_context(const std::string& id, const std::string& context_id) {
  if (auto ok = subjects::check_token("sandbox id", id); !ok) return ok.error();
  auto r = call(subjects::sandbox_op(id, bp::op::ctx_restart), [&](flatbuffers::FlatBufferBuilder& b) {
    return std::make_pair(bp::Body::CtxRestart, ap::CreateCtxRestart(b, b.CreateString(context_id)).Union());
  });
  if (!r) return r.error();
  const auto* info = r->get().body_as_CtxInfo();
  if (!info) return wrong_body("CtxInfo", r->get());
  return info_of(*info);
}

Status Client::remove_context(const std::string& id, const std::string& context_id) {
  return simple(id, bp::op::ctx_remove, [&](flatbuffers::FlatBufferBuilder& b) {
    return std::make_pair(bp::Body::CtxRemove, ap::CreateCtxRemove(b, b.CreateString(context_id)).Union());
  });
}

Status Client::interrupt_context(const std::string& id, const std::string& context_id) {
  return simple(id, bp::op::ctx_interrupt, [&](flatbuffers::FlatBufferBuilder& b) {
    return std::make_pair(bp::Body::CtxInterrupt, ap::CreateCtxInterrupt(b, b.CreateString(context_id)).Union());
  });
}

Result<std::unique_ptr<CodeExecution>> Client::start_code(const std::string& id, const CodeRunSpec& spec) {
  auto exec = std::make_unique<CodeExecution>();
  auto token = open_events(id, exec->events_, exec->subscription_);
  if (!token) return token.error();
  auto r = call(subjects::sandbox_op(id, bp::op::code), [&](flatbuffers::FlatBufferBuilder& b) {
    auto run = ap::CreateCodeRun(b, b.CreateString(spec.code), b.CreateString(spec.context_id),
                                 b.CreateString(spec.language), strings(b, spec.env), spec.timeout_ms);
    return std::make_pair(bp::Body::CodeExecute, bp::CreateCodeExecute(b, run, b.CreateString(*token)).Union());
  });
  if (!r) return r.error();
  const auto* started = r->get().body_as_CodeStarted();
  if (!started) return wrong_body("CodeStarted", r->get());
  exec->context_id_ = str(started->context_id());
  exec->started_count_ = started->execution_count();
  return exec;
}

Result<CodeRunResult> Client::run_code(const std::string& id, const CodeRunSpec& spec, int wait_ms,
                                       const CodeEventCallback& on_event) {
  auto exec = start_code(id, spec);
  if (!exec) return exec.error();
  return (*exec)->wait(wait_ms, on_event);
}

}  // namespace soulbox::client
