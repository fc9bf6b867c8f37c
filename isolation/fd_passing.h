// One message plus up to two file descriptors over a unix socket
// (SCM_RIGHTS): the netns pool and the launcher service pass namespaces,
// agent channels and pidfds this way.
#pragma once
#include <string>

#include "common/result.h"
#include "common/unique_fd.h"

namespace soulbox::isolation {

// Sends `data` (non-empty) with fds a and b (-1: none); never raises SIGPIPE.
Status send_with_fds(int sock, const std::string& data, int fd_a = -1, int fd_b = -1);

// Receives one message of at most `max_bytes` without waiting when
// `nonblocking`; fds arrive close-on-exec in *fd_a and *fd_b (extra ones are
// closed). An empty peer (EOF) is an `unavailable` error; nothing to read
// yet (nonblocking) is `timeout`.
Result<std::string> receive_with_fds(int sock, size_t max_bytes, bool nonblocking, unique_fd* fd_a,
                                     unique_fd* fd_b = nullptr);

}  // namespace soulbox::isolation
