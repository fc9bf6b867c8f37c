// The `soulbox` CLI's view of a SoulBox gateway: E2B's HTTP API and
// SoulBox's /v1/ extensions over keep-alive HTTP/1.1 (Boost.Beast), with
// Connect server streams read message by message.
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "common/result.h"

namespace soulbox::cli {

struct ApiConfig {
  std::string api_url = "http://127.0.0.1:3000";
  std::string api_key;
  bool verbose = false;  // each request on stderr
};

// Bytes done and total (0 when unknown), for progress bars.
using Progress = std::function<void(uint64_t done, uint64_t total)>;

class ApiClient {
 public:
  explicit ApiClient(ApiConfig config);
  ~ApiClient();

  // Control plane (API key): the JSON answer, or the error's message.
  Result<nlohmann::json> call(const std::string& method, const std::string& target,
                              const nlohmann::json& body = nullptr);
  // A header of the last answer (name lower-cased), e.g. "x-next-token".
  std::string last_header(const std::string& name) const {
    auto it = last_headers_.find(name);
    return it == last_headers_.end() ? "" : it->second;
  }

  // In-sandbox API of one sandbox (its access token, from connect()).
  struct Sandbox {
    std::string id, token;
  };
  Result<Sandbox> open(const std::string& id);
  Result<nlohmann::json> rpc(const Sandbox& s, const std::string& method, const nlohmann::json& message);
  // A Connect server stream: `on_message` gets each message; false stops.
  Status stream(const Sandbox& s, const std::string& method, const nlohmann::json& message,
                const std::function<bool(const nlohmann::json&)>& on_message);
  // POST /execute of the code interpreter (port 49999): `on_line` gets each
  // NDJSON line before end_of_execution; false stops.
  Status execute(const Sandbox& s, const nlohmann::json& body,
                 const std::function<bool(const nlohmann::json&)>& on_line);
  Status upload(const Sandbox& s, const std::string& path, const std::string& data, const Progress& progress);
  // `size`: what a Stat or ListDir said the file holds, the progress bar's
  // total when the answer is streamed without a length (0: unknown).
  Result<std::string> download(const Sandbox& s, const std::string& path, uint64_t size, const Progress& progress);
  // filesystem.Filesystem/Stat's entry (a symlink's own); not_found when
  // nothing is there.
  Result<nlohmann::json> stat(const Sandbox& s, const std::string& path);
  // filesystem.Filesystem/MakeDir, parents too; one that exists is fine.
  Status make_dir(const Sandbox& s, const std::string& path);

 private:
  struct Connection;
  // Takes what arrived of a streamed body: true for more, false when done.
  using StreamConsumer = std::function<Result<bool>(std::string& pending)>;
  Status post_stream(const std::string& target, const std::map<std::string, std::string>& headers,
                     const std::string& body, const StreamConsumer& consume);
  Result<std::string> request(const std::string& method, const std::string& target,
                              const std::map<std::string, std::string>& headers, const std::string& body, int* status,
                              const Progress& progress = {});
  std::map<std::string, std::string> envd_headers(const Sandbox& s, const std::string& content_type) const;

  ApiConfig config_;
  std::string host_;
  uint16_t port_ = 0;
  std::unique_ptr<Connection> conn_;
  std::map<std::string, std::string> last_headers_;
};

}  // namespace soulbox::cli
