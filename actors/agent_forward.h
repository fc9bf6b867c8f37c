// Translation between bus messages and agent frames. Operations inside a
// sandbox use the agent's own tables on the bus (messages/bus_bodies.fbs),
// so forwarding re-packs a table from one buffer into the other with a new
// frame id; nothing is interpreted here.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "messages/bus_codec.h"

namespace soulbox::actors {

// Request bodies a client may send to sb.v1.sbx.<id>.<op> that go to the
// agent as they are.
#define SOULBOX_FORWARDED_REQUESTS(X) \
  X(ProcInput)                        \
  X(ProcSignal)                       \
  X(ProcResize)                       \
  X(ProcList)                         \
  X(ProcOutputQuery)                  \
  X(KillAll)                          \
  X(FileRead)                         \
  X(FileWrite)                        \
  X(FileList)                         \
  X(FileStat)                         \
  X(MakeDir)                          \
  X(Remove)                           \
  X(Rename)                           \
  X(WatchStop)                        \
  X(CtxCreate)                        \
  X(CtxList)                          \
  X(CtxRestart)                       \
  X(CtxRemove)                        \
  X(CtxInterrupt)

// Agent bodies that travel back to clients as Reply bodies.
#define SOULBOX_FORWARDED_REPLIES(X) \
  X(Ok)                              \
  X(ProcOutput)                      \
  X(ProcEnd)                         \
  X(ProcListReply)                   \
  X(ProcOutputReply)                 \
  X(FileChunk)                       \
  X(FileListReply)                   \
  X(FileStatReply)                   \
  X(WatchEvent)                      \
  X(CtxInfo)                         \
  X(CtxListReply)                    \
  X(CodeEvent)                       \
  X(CodeEnd)

// The agent frame (length-prefixed, ready to send) for a forwardable body;
// nullopt when the envelope's body is not one of SOULBOX_FORWARDED_REQUESTS.
std::optional<std::string> forward_request(const busproto::Envelope& envelope, uint64_t frame_id);

// A process start, with the sandbox's environment under the caller's.
std::string process_start_frame(uint64_t frame_id, const agentproto::ProcStart& start,
                                const std::vector<std::string>& sandbox_env);
std::string watch_start_frame(uint64_t frame_id, const agentproto::WatchStart& watch);
std::string file_write_frame(uint64_t frame_id, const agentproto::FileWrite& write);
// A cell, with the sandbox's environment under the cell's own.
std::string code_run_frame(uint64_t frame_id, const agentproto::CodeRun& run,
                           const std::vector<std::string>& sandbox_env);

// The Reply carrying an agent frame's body: an ErrorReply becomes the
// Reply's code and message; a body outside SOULBOX_FORWARDED_REPLIES an
// internal error.
std::string reply_from_agent(const agentproto::Frame& frame, const std::string& request_id);

// A Reply with a FileChunk holding `data` (file reads are gathered into one).
std::string file_data_reply(const std::string& request_id, const std::string& data);

}  // namespace soulbox::actors
