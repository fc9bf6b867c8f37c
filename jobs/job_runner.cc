#include "jobs/job_runner.h"

#include "common/wall_clock.h"
#include "jobs/job_environment.h"

namespace soulbox::jobs {
namespace bp = busproto;

namespace {

std::string str(const flatbuffers::String* s) {
  return s ? s->str() : std::string();
}

JobOutcome failed(const Error& e, bool retry) {
  JobOutcome o;
  o.status = "failed";
  o.error_code = e.code;
  o.error_message = e.message;
  o.retry = retry;
  return o;
}

// Errors of the platform, not of the job: another delivery may succeed.
bool transient(ErrorCode code) {
  return code == ErrorCode::resource_exhausted || code == ErrorCode::unavailable || code == ErrorCode::timeout;
}

Result<ProcessSpec> process_of(const bp::ExecuteJob& job, const std::string& tenant, uint32_t attempt,
                               const RunnerSettings& settings) {
  ProcessSpec spec;
  const std::string language = str(job.language());
  if (!language.empty()) {
    auto argv = interpreter_for(language, "/home/user/.job/main");
    if (!argv) return argv.error();
    spec.argv = *argv;
  } else if (job.command() && job.command()->size()) {
    for (const auto* a : *job.command()) spec.argv.push_back(a->str());
  } else {
    return Error{ErrorCode::invalid_argument, "a job needs a language and code, or a command"};
  }
  if (job.env())
    for (const auto* kv : *job.env()) {
      if (auto ok = check_job_env_name(str(kv->key())); !ok) return ok.error();
      spec.env.push_back(str(kv->key()) + "=" + str(kv->value()));
    }
  for (auto& entry : delivery_environment(tenant, str(job.job_id()), attempt)) spec.env.push_back(std::move(entry));
  spec.stdin_open = job.stdin() && job.stdin()->size();
  spec.timeout_ms = job.timeout_ms() ? job.timeout_ms() : settings.default_timeout_ms;
  spec.output_limit = settings.output_limit;
  spec.tag = "job";
  return spec;
}

}  // namespace

Result<std::vector<std::string>> interpreter_for(const std::string& language, const std::string& script) {
  if (language == "python") return std::vector<std::string>{"/usr/bin/python3", script};
  if (language == "node") return std::vector<std::string>{"/usr/bin/node", script};
  if (language == "bash") return std::vector<std::string>{"/bin/bash", script};
  if (language == "sh") return std::vector<std::string>{"/bin/sh", script};
  if (language == "ruby") return std::vector<std::string>{"/usr/bin/ruby", script};
  if (language == "perl") return std::vector<std::string>{"/usr/bin/perl", script};
  if (language == "lua") return std::vector<std::string>{"/usr/bin/lua5.4", script};
  return Error{ErrorCode::invalid_argument,
               "unknown language '" + language + "' (python, node, bash, sh, ruby, perl, lua)"};
}

JobOutcome run_job(client::Client& client, const bp::ExecuteJob& job, const std::string& tenant,
                   const std::string& node, uint32_t attempt, const RunnerSettings& settings,
                   const std::function<void()>& still_working) {
  auto spec = process_of(job, tenant, attempt, settings);
  if (!spec) return failed(spec.error(), false);
  client::CreateOptions create;
  create.tenant = tenant;
  create.node = node;
  create.memory_bytes = job.memory_bytes();
  create.cpus = job.cpus();
  create.timeout_ms = uint64_t(spec->timeout_ms) + 60000;  // outlives the run; killed right after anyway
  create.metadata = {{"job", str(job.job_id())}};
  auto sandbox = client.create(create);
  if (!sandbox) return failed(sandbox.error(), transient(sandbox.error().code));
  JobOutcome out;
  out.started_unix_ms = unix_ms_now();
  auto fail_and_kill = [&](const Error& e, bool retry) {
    (void)client.kill(sandbox->id);
    return failed(e, retry);
  };
  if (job.language() && job.code())
    if (auto w = client.write_file(sandbox->id, "/home/user/.job/main", job.code()->str()); !w)
      return fail_and_kill(w.error(), transient(w.error().code));
  if (job.files())
    for (const auto* f : *job.files()) {
      const std::string data =
          f->data() ? std::string(reinterpret_cast<const char*>(f->data()->data()), f->data()->size()) : std::string();
      if (auto w = client.write_file(sandbox->id, f->path()->str(), data, f->mode()); !w)
        return fail_and_kill(w.error(), transient(w.error().code));
    }
  auto exec = client.start(sandbox->id, *spec);
  if (!exec) return fail_and_kill(exec.error(), transient(exec.error().code));
  if (spec->stdin_open) {
    const std::string input(reinterpret_cast<const char*>(job.stdin()->data()), job.stdin()->size());
    (void)client.send_stdin(sandbox->id, (*exec)->pid(), input, true);
  }
  // Waits in slices, telling the caller it is still working in between.
  for (;;) {
    auto r = (*exec)->wait(settings.keepalive_ms);
    if (r) {
      out.process = *r;
      break;
    }
    if (r.error().code != ErrorCode::timeout) return fail_and_kill(r.error(), transient(r.error().code));
    if (still_working) still_working();
  }
  if (job.artifacts())
    for (const auto* path : *job.artifacts()) {
      auto data = client.read_file(sandbox->id, path->str());
      if (data) out.artifacts.emplace_back(path->str(), std::move(*data));
    }
  out.finished_unix_ms = unix_ms_now();
  (void)client.kill(sandbox->id);
  return out;
}

}  // namespace soulbox::jobs
