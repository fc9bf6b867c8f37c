// Writes the seed corpora of fuzz/corpus/ with the project's own encoders
// (FlatBuffers builders, encode_tenant, next_record, connect_frame, ...):
// small valid inputs each target's fuzzer starts from. Run by hand after a
// format changes:  cmake --build build-fuzz --target fuzz_make_seeds &&
// build-fuzz/fuzz/fuzz_make_seeds fuzz/corpus
// (the corpus also holds inputs that once crashed a target: never delete).
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <string>

#include "audit/audit_chain.h"
#include "gateway/connect_frame.h"
#include "messages/agent_protocol.h"
#include "messages/bus_codec.h"
#include "tenants/tenant_record.h"

namespace ap = soulbox::agentproto;
namespace bp = soulbox::busproto;
namespace fs = std::filesystem;

namespace {

fs::path root;

void seed(const std::string& target, const std::string& name, const std::string& bytes) {
  fs::create_directories(root / target);
  std::ofstream(root / target / name, std::ios::binary) << bytes;
}

template <class Build>
std::string agent_frame(uint64_t id, Build build) {
  flatbuffers::FlatBufferBuilder fbb;
  auto [type, body] = build(fbb);
  ap::FinishFrameBuffer(fbb, ap::CreateFrame(fbb, id, type, body));
  return ap::encode_frame(fbb);
}

void agent_frames() {
  const std::string hello = agent_frame(0, [](auto& fbb) {
    return std::make_pair(ap::Body::Hello,
                          ap::CreateHello(fbb, ap::kProtocolVersion, fbb.CreateString("0.1.0")).Union());
  });
  const std::string output = agent_frame(7, [](auto& fbb) {
    auto data = fbb.CreateVector(reinterpret_cast<const uint8_t*>("hello\n"), 6);
    return std::make_pair(ap::Body::ProcOutput, ap::CreateProcOutput(fbb, 42, ap::Stream::Stdout, data).Union());
  });
  const std::string end = agent_frame(7, [](auto& fbb) {
    return std::make_pair(ap::Body::ProcEnd, ap::CreateProcEnd(fbb, 42, 0, 0, 1500, 900, 2048).Union());
  });
  const std::string listing = agent_frame(9, [](auto& fbb) {
    auto e = ap::CreateFileEntry(fbb, fbb.CreateString("a.txt"), fbb.CreateString("/home/user/a.txt"));
    auto entries = fbb.CreateVector(std::vector<flatbuffers::Offset<ap::FileEntry>>{e});
    return std::make_pair(ap::Body::FileListReply, ap::CreateFileListReply(fbb, entries).Union());
  });
  const std::string error = agent_frame(11, [](auto& fbb) {
    return std::make_pair(ap::Body::ErrorReply, ap::CreateErrorReply(fbb, 5, fbb.CreateString("no such file")).Union());
  });
  // The first byte of an input sets the size of the pieces the stream arrives in.
  seed("agent_frame", "hello", std::string(1, '\xff') + hello);
  seed("agent_frame", "process", std::string(1, '\0') + output + end);
  seed("agent_frame", "files", std::string(1, '\x02') + listing + error);
}

void bus_messages() {
  flatbuffers::FlatBufferBuilder fbb;
  auto create = bp::CreateCreateSandbox(fbb, fbb.CreateString("base"), 256u << 20, 1.0f);
  auto roles = fbb.CreateVector(std::vector<flatbuffers::Offset<flatbuffers::String>>{fbb.CreateString("admin")});
  bp::FinishEnvelopeBuffer(
      fbb, bp::CreateEnvelope(fbb, fbb.CreateString("req-1"), fbb.CreateString("default"), fbb.CreateString("key:k1"),
                              0, fbb.CreateString("trace"), bp::Body::CreateSandbox, create.Union(), roles));
  seed("bus_message", "create_envelope", bp::finish(fbb));
  fbb.Clear();
  auto ref = bp::CreateSandboxRef(fbb);
  bp::FinishEnvelopeBuffer(
      fbb, bp::CreateEnvelope(fbb, fbb.CreateString("req-2"), 0, 0, 0, 0, bp::Body::SandboxRef, ref.Union()));
  seed("bus_message", "ref_envelope", bp::finish(fbb));
  seed("bus_message", "error_reply", bp::error_reply("req-1", soulbox::ErrorCode::not_found, "no such sandbox"));
}

// A request with its Content-Length.
std::string request(const std::string& head, const std::string& body) {
  return head + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

void http() {
  const std::string in_sandbox =
      "E2b-Sandbox-Id: sb-0123456789ab\r\nE2b-Sandbox-Port: 49983\r\nX-Access-Token: token\r\n";
  const std::string start =
      soulbox::gateway::connect_frame(R"({"process":{"cmd":"/bin/sh","args":["-c","ls"],"envs":{"A":"1"}},"tag":"t"})");
  const std::map<std::string, std::string> requests{
      {"create", request("POST /sandboxes HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer jwt\r\n"
                         "Content-Type: application/json\r\n",
                         R"({"templateID":"base","timeout":60,"metadata":{"a":"b"},"envVars":{"K":"V"}})")},
      {"list",
       "GET /v2/sandboxes?limit=10&metadata=a%3Db&state=running HTTP/1.1\r\nHost: localhost\r\n"
       "X-API-Key: e2b_0123\r\n\r\n"},
      {"timeout", request("POST /sandboxes/sb-0123456789ab/timeout HTTP/1.1\r\nAuthorization: Bearer jwt\r\n",
                          R"({"timeout":30})")},
      {"sign_chunked",
       "POST /v1/sandboxes/sb-0123456789ab/files/sign HTTP/1.1\r\nAuthorization: Bearer jwt\r\n"
       "Transfer-Encoding: chunked\r\n\r\n10\r\n{\"path\":\"a.txt\"}\r\n0\r\n\r\n"},
      {"process_start", request("POST /process.Process/Start HTTP/1.1\r\n" + in_sandbox +
                                    "Content-Type: application/connect+json\r\nAuthorization: Basic cm9vdDo=\r\n",
                                start)},
      {"files_get", "GET /files?path=%2Fhome%2Fuser%2Fa.txt&username=user HTTP/1.1\r\n" + in_sandbox + "\r\n"},
      {"files_upload", request("POST /files?path=up.txt HTTP/1.1\r\n" + in_sandbox +
                                   "Content-Type: multipart/form-data; boundary=XyZ\r\n",
                               "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"up.txt\"\r\n\r\n"
                               "hello\r\n--XyZ--\r\n")},
      {"host_routed",
       request("POST /filesystem.Filesystem/ListDir HTTP/1.1\r\nHost: 49983-sb-0123456789ab.example.com\r\n"
               "X-Access-Token: token\r\nContent-Type: application/json\r\n",
               R"({"path":"/tmp","depth":2})")},
      {"code_run", request("POST /execute HTTP/1.1\r\nE2b-Sandbox-Id: sb-0123456789ab\r\nE2b-Sandbox-Port: 49999\r\n"
                           "X-Access-Token: token\r\n",
                           R"J({"code":"print(1)","language":"python","env_vars":{"A":"1"},"timeout":1000})J")},
      {"tenant_upsert", request("PUT /v1/tenants/acme HTTP/1.1\r\nAuthorization: Bearer jwt\r\n",
                                R"({"maxConcurrent":5,"maxCpus":2.5,"auditRedact":true})")},
      {"key_create", request("POST /v1/tenants/acme/keys HTTP/1.1\r\nAuthorization: Bearer jwt\r\n",
                             R"({"roles":["developer"],"ttlS":3600})")},
  };
  for (const std::string target : {"http_request", "gateway_routes"})
    for (const auto& [name, bytes] : requests) seed(target, name, bytes);
}

void multipart() {
  seed("multipart", "one_file",
       "multipart/form-data; boundary=XyZ\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; "
       "filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nhello\r\n--XyZ--\r\n");
  seed("multipart", "two_files",
       "multipart/form-data; boundary=\"b 1\"\n--b 1\r\nContent-Disposition: form-data; name=\"file\"; "
       "filename=\"/tmp/x\"\r\n\r\n\r\n--b 1\r\nContent-Disposition: form-data; name=file; filename=y\r\n\r\n"
       "data\r\n--b 1--");
}

void connect_frames() {
  using soulbox::gateway::connect_frame;
  seed("connect_frame", "start", connect_frame(R"({"process":{"cmd":"ls","args":["-l"]},"stdin":true})"));
  seed("connect_frame", "stream",
       connect_frame(R"({"path":"/tmp","recursive":true})") + soulbox::gateway::connect_end());
}

void jwts() {
  // Even first byte: a token as it is; odd: "<header>\n<claims>", signed by the harness.
  seed("jwt", "hs256_claims",
       "\x01{\"alg\":\"HS256\",\"typ\":\"JWT\"}\n{\"sub\":\"ann\",\"tenant\":\"acme\",\"roles\":\"admin dev\","
       "\"iss\":\"https://issuer.example\",\"aud\":[\"soulbox\"],\"exp\":1800000000,\"nbf\":1600000000}");
  seed("jwt", "rs256_token",
       std::string("\x00", 1) + "eyJhbGciOiJSUzI1NiIsImtpZCI6InJzYTEifQ.eyJzdWIiOiJhbm4ifQ.c2lnbmF0dXJl");
  seed("jwt", "es256_token",
       std::string("\x00", 1) +
           "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbm4ifQ."
           "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
}

void signed_urls() {
  // First byte: bit 0 write, bit 1 the harness signs; then the query string.
  seed("signed_url", "signed",
       "\x02path=%2Fhome%2Fuser%2Fa.txt&signature=x&signature_expiration=4102444800&username=user");
  seed("signed_url", "single_use", "\x03path=a+b.txt&signature=x&signature_expiration=4102444800&nonce=00ff");
  seed("signed_url", "unsigned", "\x00path=/etc/passwd&signature=v1_AAAA");
}

void tenant_records() {
  namespace tn = soulbox::tenants;
  tn::TenantRecord t;
  t.name = "acme";
  t.quota.max_concurrent = 5;
  t.quota.max_cpus = 2.5;
  t.audit_policy = {86400, true};
  t.keys["k1"] = {"5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8", {"developer"}, 0, false};
  t.secrets["db"] = "sealed:AAAA";
  t.roles["reader"] = tn::Role{"reader", {"viewer"}, {*tn::parse_permission("sandbox.read")}};
  seed("tenant_record", "tenant", tn::encode_tenant(t));
  seed("tenant_record", "quota", tn::encode_quota(t.quota));
  seed("tenant_record", "policy", tn::encode_policy(t.audit_policy));
  tn::Usage u;
  u.running = 2;
  u.cpus = 1.5;
  seed("tenant_record", "usage", tn::encode_usage(u));
}

void audit_records() {
  namespace au = soulbox::audit;
  auto key = au::SigningKey::generate();
  std::string lines;
  const au::Record* prev = nullptr;
  au::Record last;
  for (int i = 0; i < 3; ++i) {
    au::Event e{"req-" + std::to_string(i),
                1700000000000 + i,
                "acme",
                "key:k1",
                "sandbox.create",
                "sandbox/sb-0123456789ab",
                "ok",
                "10.0.0.1",
                R"({"quota_ask":{"cpus":1}})"};
    last = *au::next_record(prev, e, **key);
    prev = &last;
    lines += au::encode_record(last) + "\n";
  }
  seed("audit_record", "chain", lines + au::encode_checkpoint(*au::make_checkpoint(last, **key)));
  au::erase_content(last);
  seed("audit_record", "erased", au::encode_record(last));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: fuzz_make_seeds <corpus dir>\n";
    return 2;
  }
  root = argv[1];
  agent_frames();
  bus_messages();
  http();
  multipart();
  connect_frames();
  jwts();
  signed_urls();
  tenant_records();
  audit_records();
  return 0;
}
