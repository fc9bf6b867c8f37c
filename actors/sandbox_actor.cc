// The sandbox actor's behaviour: what it is spawned with and which message
// goes where. Its parts: sandbox_ops (the op table, dispatch, roles),
// sandbox_requests and sandbox_uploads (ops the agent serves),
// sandbox_replies (the agent's answers), sandbox_lifecycle (start, expiry,
// pause, end) and sandbox_metrics (usage samples).
#include "actors/sandbox_actor.h"

#include "actors/sandbox_lifecycle.h"
#include "actors/sandbox_metrics.h"
#include "actors/sandbox_ops.h"
#include "actors/sandbox_replies.h"
#include "common/log.h"

namespace soulbox::actors {

caf::behavior sandbox_actor(SandboxSelf* self, std::shared_ptr<NodeContext> ctx, caf::actor node,
                            SandboxSettings settings, SandboxHandle handle) {
  auto& st = self->state;
  st.ctx = std::move(ctx);
  st.node = std::move(node);
  st.settings = std::move(settings);
  st.handle = std::move(handle);
  st.created_unix_ms = st.handle.created_unix_ms ? st.handle.created_unix_ms : unix_ms_now();
  st.metrics = MetricsRing(st.ctx->settings.metrics_keep);
  st.cgroup = st.ctx->cgroups->open(st.settings.id);
  // An exit message (node shutdown) ends the sandbox before the actor goes.
  self->set_exit_handler([self](const caf::exit_msg& msg) {
    end_sandbox(self, end_reason::node_shutdown);
    self->quit(msg.reason);
  });
  return {
      [=](start_atom, const std::string& reply_to, const std::string& request_id, bool pool_hit) {
        start_sandbox(self, reply_to, request_id, pool_hit);
      },
      [=](bus_atom, const bus::Message& m) { on_bus_request(self, m); },
      [=](agent_atom, const std::string& frames) { on_agent_frames(self, frames); },
      [=](agent_eof_atom) { end_sandbox(self, end_reason::agent_died); },
      [=](agent_broken_atom, const std::string& why) {
        logger("sandbox")->error("{}: its agent sent {}; ending it", self->state.settings.id, why);
        end_sandbox(self, end_reason::agent_broken);
      },
      [=](expire_atom, uint64_t generation) { on_expiry_check(self, generation); },
      [=](sample_atom) { sample_usage(self); },
      [=](stop_atom, const std::string& reason) { end_sandbox(self, reason); },
  };
}

}  // namespace soulbox::actors
