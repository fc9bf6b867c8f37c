// A sandbox's metrics: a sample of its usage every metrics interval into
// its ring (OOM kills logged and audited as they show up), and the op that
// reads the ring.
#pragma once
#include "actors/sandbox_ops.h"

namespace soulbox::actors {

// Takes one sample (while running) and schedules the next (until it ends).
void sample_usage(SandboxSelf* self);

void on_metrics_query(SandboxSelf* self, const OpRequest& request);

}  // namespace soulbox::actors
