// The ops on sb.v1.sbx.<id>.<op> (docs/bus.md): the names clients send and
// the sandbox actor serves. What each op takes, needs and records is its row
// in the sandbox actor's op table (actors/sandbox_ops.cc).
#pragma once

namespace soulbox::busproto::op {

// Answered by the sandbox actor itself (also while the sandbox is paused).
inline constexpr const char* info = "info";
inline constexpr const char* metrics = "metrics";
inline constexpr const char* kill = "kill";
inline constexpr const char* pause = "pause";
inline constexpr const char* resume = "resume";
inline constexpr const char* timeout = "timeout";

// Processes.
inline constexpr const char* exec = "exec";
inline constexpr const char* attach = "attach";
inline constexpr const char* stdin_ = "stdin";
inline constexpr const char* signal = "signal";
inline constexpr const char* resize = "resize";
inline constexpr const char* ps = "ps";
inline constexpr const char* output = "output";
inline constexpr const char* killall = "killall";

// Files.
inline constexpr const char* read = "read";
inline constexpr const char* write = "write";
inline constexpr const char* upload = "upload";
inline constexpr const char* ls = "ls";
inline constexpr const char* stat = "stat";
inline constexpr const char* mkdir = "mkdir";
inline constexpr const char* rm = "rm";
inline constexpr const char* mv = "mv";
inline constexpr const char* watch = "watch";
inline constexpr const char* unwatch = "unwatch";

// Code contexts and cells.
inline constexpr const char* code = "code";
inline constexpr const char* ctx_create = "ctx-create";
inline constexpr const char* ctx_list = "ctx-list";
inline constexpr const char* ctx_restart = "ctx-restart";
inline constexpr const char* ctx_remove = "ctx-remove";
inline constexpr const char* ctx_interrupt = "ctx-interrupt";

}  // namespace soulbox::busproto::op
