// soulboxd, its launcher and the embedded nats-server must outlive any
// sandbox when memory runs short: the node's state, the bus and every other
// sandbox depend on them. They are started with oom_score_adj -1000 (the
// OOM killer never picks them) where the host allows it; the launcher gives
// each sandbox +300 (isolation/launcher.cc), which protects them even where
// it does not.
#pragma once
#include "common/result.h"

namespace soulbox::daemon {

// Sets this process's oom_score_adj to -1000; what it starts afterwards
// inherits it. Needs CAP_SYS_RESOURCE (some container hosts drop it even
// for root: then it fails and soulboxd says so at start).
Status protect_from_oom_killer();

}  // namespace soulbox::daemon
