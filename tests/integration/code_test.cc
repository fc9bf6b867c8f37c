// Code contexts end to end: a real soulboxd, real sandboxes, the kernels in
// them, driven through the C++ client over the bus.
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "common/base64.h"
#include "tests/support/daemon_env.h"

namespace {

using namespace soulbox;
using namespace std::chrono_literals;
using nlohmann::json;
using test::Daemon;

std::string create_sandbox(Daemon& d, const std::string& tmpl = "base") {
  client::CreateOptions o;
  o.template_name = tmpl;
  o.memory_bytes = 1ull << 30;
  auto info = d.client().create(o);
  INFO((info ? "" : info.error().message));
  REQUIRE(info.ok());
  return info->id;
}

client::CodeRunResult run(Daemon& d, const std::string& sandbox, const std::string& code,
                          const std::string& context = "", const std::string& language = "", uint32_t timeout_ms = 0,
                          std::vector<std::string> env = {}) {
  client::CodeRunSpec spec;
  spec.code = code;
  spec.context_id = context;
  spec.language = language;
  spec.timeout_ms = timeout_ms;
  spec.env = std::move(env);
  auto r = d.client().run_code(sandbox, spec, 60000);
  INFO(code << " -> " << (r ? "" : r.error().message));
  REQUIRE(r.ok());
  return *r;
}

json error_of(const client::CodeRunResult& r) {
  return r.error.empty() ? json() : json::parse(r.error);
}

std::string main_text(const client::CodeRunResult& r) {
  for (const auto& text : r.results) {
    const json j = json::parse(text);
    if (j.value("is_main_result", false)) return j.value("text", "");
  }
  return "";
}

std::string context_of(Daemon& d, const std::string& sandbox, const std::string& language) {
  client::CodeContextSpec spec;
  spec.language = language;
  auto c = d.client().create_context(sandbox, spec);
  INFO((c ? "" : c.error().message));
  REQUIRE(c.ok());
  CHECK(c->language == language);
  return c->id;
}

TEST_CASE("a python context keeps its state and streams output and reports errors with tracebacks", "[code]") {
  Daemon d;
  const std::string sb = create_sandbox(d);
  auto first = run(d, sb, "x = 41");
  CHECK(first.error.empty());
  CHECK(first.results.empty());
  CHECK(first.execution_count == 1);

  std::vector<agentproto::CodeEventKind> kinds;
  client::CodeRunSpec spec;
  spec.code = "import sys, time\nprint('a', flush=True)\ntime.sleep(0.2)\nprint('b', file=sys.stderr)\nx + 1";
  auto second = d.client().run_code(sb, spec, 20000, [&](const client::CodeEventData& e) { kinds.push_back(e.kind); });
  REQUIRE(second.ok());
  CHECK(second->out == "a\n");
  CHECK(second->err == "b\n");
  CHECK(main_text(*second) == "42");
  CHECK(second->execution_count == 2);
  // Output before the result, in the order the cell wrote them.
  REQUIRE(kinds.size() >= 4);
  CHECK(kinds.front() == agentproto::CodeEventKind::ExecutionCount);
  CHECK(kinds.back() == agentproto::CodeEventKind::Result);

  auto bad = run(d, sb, "def f():\n    return 1 / 0\n\nf()");
  const json err = error_of(bad);
  CHECK(err["name"] == "ZeroDivisionError");
  CHECK(err["value"] == "division by zero");
  CHECK(err["traceback"].get<std::string>().find("return 1 / 0") != std::string::npos);
  CHECK(err["traceback"].get<std::string>().find("in f") != std::string::npos);

  auto syntax = run(d, sb, "def (");
  CHECK(error_of(syntax)["name"] == "SyntaxError");

  // Env vars per cell: set for the cell, gone after.
  auto with_env = run(d, sb, "import os\nos.environ.get('CELL_VAR')", "", "", 0, {"CELL_VAR=only-here"});
  CHECK(main_text(with_env) == "only-here");
  auto after = run(d, sb, "import os\nos.environ.get('CELL_VAR') is None");
  CHECK(main_text(after) == "True");

  // A cell larger than the kernel's request pipe (64 KiB) goes in pieces.
  CHECK(main_text(run(d, sb, "len('" + std::string(300000, 'a') + "')")) == "300000");

  // State survives errors; top-level await works.
  CHECK(main_text(run(d, sb, "import asyncio\nawait asyncio.sleep(0.01)\nx * 2")) == "82");
}

TEST_CASE("matplotlib figures come back as PNG and SVG with chart data and DataFrames as HTML", "[code]") {
  Daemon d;
  const std::string sb = create_sandbox(d);
  // The seed's sine-wave example.
  auto plot = run(d, sb,
                  "import numpy as np\nimport matplotlib.pyplot as plt\n"
                  "x = np.linspace(0, 2 * np.pi, 100)\ny = np.sin(x)\n"
                  "plt.plot(x, y, label='sin(x)')\nplt.title('Sine wave')\nplt.xlabel('x')\nplt.ylabel('sin(x)')\n"
                  "plt.show()");
  INFO(plot.err << plot.error);
  REQUIRE(plot.error.empty());
  REQUIRE(plot.results.size() == 1);
  const json figure = json::parse(plot.results[0]);
  CHECK(figure["is_main_result"] == false);
  auto png = base64_decode(figure["png"].get<std::string>());
  REQUIRE(png.ok());
  REQUIRE(png->size() > 1000);
  CHECK(png->compare(0, 8, "\x89PNG\r\n\x1a\n") == 0);
  // A decoder (Pillow, on the host) reads the whole image.
  const std::string file = "/tmp/soulbox-code-test-" + std::to_string(::getpid()) + ".png";
  std::ofstream(file, std::ios::binary) << *png;
  FILE* p = ::popen(("/usr/bin/python3 -c \"from PIL import Image; im = Image.open('" + file +
                     "'); im.load(); print(im.format, im.size[0] > 100, im.size[1] > 100)\" 2>&1")
                        .c_str(),
                    "r");
  char buf[256] = {};
  const size_t n = std::fread(buf, 1, sizeof buf - 1, p);
  ::pclose(p);
  std::remove(file.c_str());
  CHECK(std::string(buf, n) == "PNG True True\n");
  CHECK(figure["svg"].get<std::string>().find("<svg") != std::string::npos);
  const json chart = figure["chart"];
  CHECK(chart["type"] == "line");
  CHECK(chart["title"] == "Sine wave");
  CHECK(chart["x_label"] == "x");
  REQUIRE(chart["elements"].size() == 1);
  CHECK(chart["elements"][0]["label"] == "sin(x)");
  CHECK(chart["elements"][0]["points"].size() == 100);

  auto bars = run(d, sb, "import matplotlib.pyplot as plt\nplt.bar(['a', 'b', 'c'], [3, 5, 1])\nplt.title('Bars');");
  REQUIRE(bars.results.size() == 1);  // a figure left open shows at the cell's end; ";" hid the title
  const json bar_chart = json::parse(bars.results[0])["chart"];
  CHECK(bar_chart["type"] == "bar");
  REQUIRE(bar_chart["elements"].size() == 3);
  CHECK(bar_chart["elements"][1]["label"] == "b");
  CHECK(bar_chart["elements"][1]["value"] == 5.0);

  auto scatter = run(d, sb, "import matplotlib.pyplot as plt\nplt.scatter([1, 2, 3], [4, 5, 6], label='pts');");
  REQUIRE(scatter.results.size() == 1);
  const json scatter_chart = json::parse(scatter.results[0])["chart"];
  CHECK(scatter_chart["type"] == "scatter");
  CHECK(scatter_chart["elements"][0]["points"] ==
        json::array({json::array({1.0, 4.0}), json::array({2.0, 5.0}), json::array({3.0, 6.0})}));
  auto pie = run(d, sb, "import matplotlib.pyplot as plt\nplt.pie([1, 3], labels=['a', 'b']);");
  REQUIRE(pie.results.size() == 1);
  const json pie_chart = json::parse(pie.results[0])["chart"];
  CHECK(pie_chart["type"] == "pie");
  REQUIRE(pie_chart["elements"].size() == 2);
  CHECK(pie_chart["elements"][1]["label"] == "b");
  CHECK(pie_chart["elements"][1]["angle"] == 270.0);

  auto frame = run(d, sb, "import pandas as pd\npd.DataFrame({'name': ['ada', 'alan'], 'born': [1815, 1912]})");
  REQUIRE(frame.results.size() == 1);
  const json table = json::parse(frame.results[0]);
  CHECK(table["is_main_result"] == true);
  CHECK(table["html"].get<std::string>().find("<table") != std::string::npos);
  CHECK(table["html"].get<std::string>().find("alan") != std::string::npos);
  CHECK(table["text"].get<std::string>().find("1912") != std::string::npos);

  auto shown = run(d, sb, "display({'k': 1})\nprint('after')");
  REQUIRE(shown.results.size() == 1);
  CHECK(json::parse(shown.results[0])["is_main_result"] == false);
  CHECK(shown.out == "after\n");

  // Files the cell made are its artifacts.
  auto files = run(d, sb, "open('table.csv', 'w').write('a,b\\n1,2\\n')\nopen('notes.txt', 'w').write('n')");
  REQUIRE(files.artifacts.size() == 2);
  bool csv = false;
  for (const auto& a : files.artifacts)
    if (a.path == "/home/user/table.csv") csv = a.mime == "text/csv" && a.size == 8;
  CHECK(csv);
  CHECK(run(d, sb, "1").artifacts.empty());
}

TEST_CASE("a cell's artifacts are what changed while it ran, not another context's files or ones written before",
          "[code]") {
  Daemon d;
  const std::string sb = create_sandbox(d);
  const std::string js = context_of(d, sb, "javascript");  // its baseline predates the python cell's file
  auto paths = [](const client::CodeRunResult& r) {
    std::set<std::string> out;
    for (const auto& a : r.artifacts) out.insert(a.path);
    return out;
  };
  using Paths = std::set<std::string>;
  CHECK(paths(run(d, sb, "open('yy.txt', 'w').write('y')", "", "python")) == Paths{"/home/user/yy.txt"});
  CHECK(paths(run(d, sb, "1 + 1", js)).empty());  // another context's file, made before this cell
  // A file written through the file API between cells is nobody's artifact.
  REQUIRE(d.client().write_file(sb, "/home/user/uploaded.csv", "a,b\n1,2\n").ok());
  CHECK(paths(run(d, sb, "2 + 2", "", "python")).empty());
  CHECK(paths(run(d, sb, "3 + 3", js)).empty());
  // What a cell changes while it runs is its own, in whichever context.
  CHECK(paths(run(d, sb, "require('fs').writeFileSync('from_js.txt', 'j')", js)) == Paths{"/home/user/from_js.txt"});
  CHECK(paths(run(d, sb, "open('yy.txt', 'a').write('more')", "", "python")) == Paths{"/home/user/yy.txt"});
  CHECK(paths(run(d, sb, "4 + 4", js)).empty());
}

TEST_CASE("javascript and bash and ruby contexts keep their state", "[code]") {
  Daemon d;
  const std::string sb = create_sandbox(d);
  const std::string js = context_of(d, sb, "javascript");
  run(d, sb, "let n = 20\nconst add = (a, b) => a + b", js);
  CHECK(main_text(run(d, sb, "add(n, 22)", js)) == "42");
  auto awaited = run(d, sb, "const wait = (ms) => new Promise(r => setTimeout(r, ms))\nawait wait(10)\nn + 1", js);
  CHECK(main_text(awaited) == "21");
  auto logged = run(d, sb, "console.log('hello', n); ({a: 1})", js);
  CHECK(logged.out == "hello 20\n");
  CHECK(main_text(logged) == "{ a: 1 }");
  auto thrown = run(d, sb, "null.x", js);
  CHECK(error_of(thrown)["name"] == "TypeError");
  CHECK(main_text(run(d, sb, "n", js)) == "20");

  const std::string sh = context_of(d, sb, "bash");
  run(d, sb, "cd /tmp && COUNT=3 && greet() { echo \"hi $1\"; }", sh);
  CHECK(run(d, sb, "echo $PWD $COUNT; greet bash", sh).out == "/tmp 3\nhi bash\n");
  auto failed = run(d, sb, "ls /nonexistent", sh);
  CHECK(error_of(failed)["name"] == "ExitStatus");
  CHECK(failed.err.find("nonexistent") != std::string::npos);

  const std::string rb = context_of(d, sb, "ruby");
  run(d, sb, "total = [1, 2, 3].sum", rb);
  CHECK(main_text(run(d, sb, "total * 7", rb)) == "42");
  CHECK(error_of(run(d, sb, "raise ArgumentError, 'nope'", rb))["name"] == "ArgumentError");

  // The default context of a language starts on first use.
  CHECK(main_text(run(d, sb, "6 * 7", "", "js")) == "42");
}

TEST_CASE("a java context keeps its state and reports compile errors and exceptions and stops on timeouts", "[code]") {
  Daemon d;
  const std::string sb = create_sandbox(d);
  const std::string java = context_of(d, sb, "java");
  auto declared = run(d, sb, "int x = 5;\nint triple(int a) { return a * 3; }", java);
  INFO(declared.err << declared.error);
  CHECK(declared.error.empty());
  CHECK(main_text(declared).empty());  // declarations have no value
  CHECK(main_text(run(d, sb, "triple(x)", java)) == "15");
  auto printed = run(d, sb, "System.out.println(\"hi \" + x);\nx + 1", java);
  CHECK(printed.out == "hi 5\n");
  CHECK(main_text(printed) == "6");
  auto thrown = run(d, sb, "int y = 1 / 0;", java);
  CHECK(error_of(thrown)["name"] == "java.lang.ArithmeticException");
  CHECK(error_of(thrown)["value"] == "/ by zero");
  auto rejected = run(d, sb, "undefinedVariable + 1", java);
  CHECK(error_of(rejected)["name"] == "CompilationError");
  CHECK_THAT(error_of(rejected)["value"].get<std::string>(), Catch::Contains("cannot find symbol"));
  CHECK(main_text(run(d, sb, "System.getenv(\"CELL_ONLY\")", java, "", 0, {"CELL_ONLY=yes"})) == "\"yes\"");
  CHECK(main_text(run(d, sb, "System.getenv(\"CELL_ONLY\")", java)) == "null");
  auto loop = run(d, sb, "while (true) {}", java, "", 1000);
  CHECK(loop.timed_out);
  CHECK_FALSE(loop.restarted);  // interrupted, not replaced: the state stays
  CHECK(main_text(run(d, sb, "x", java)) == "5");
  CHECK(run(d, sb, "x", java).execution_count == 10);
}

TEST_CASE("an interrupt or a timeout stops a runaway cell and the context still works", "[code]") {
  Daemon d;
  const std::string sb = create_sandbox(d);
  const std::string py = context_of(d, sb, "python");
  run(d, sb, "kept = 'state'", py);

  auto timed = run(d, sb, "while True:\n    pass", py, "", 500);
  CHECK(timed.timed_out);
  CHECK_FALSE(timed.restarted);
  CHECK(error_of(timed)["name"] == "TimeoutError");
  CHECK(main_text(run(d, sb, "kept", py)) == "state");

  client::CodeRunSpec spin;
  spin.code = "import time\nwhile True:\n    time.sleep(0.01)";
  spin.context_id = py;
  auto running = d.client().start_code(sb, spin);
  REQUIRE(running.ok());
  std::this_thread::sleep_for(300ms);
  REQUIRE(d.client().interrupt_context(sb, py).ok());
  auto stopped = (*running)->wait(10000);
  REQUIRE(stopped.ok());
  CHECK(stopped->interrupted);
  CHECK(error_of(*stopped)["name"] == "KeyboardInterrupt");
  CHECK(main_text(run(d, sb, "kept", py)) == "state");

  // A cell that ignores SIGINT: after the grace period the kernel is replaced.
  auto stubborn =
      run(d, sb, "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass", py, "", 300);
  CHECK(stubborn.timed_out);
  CHECK(stubborn.restarted);
  CHECK(error_of(stubborn)["name"] == "TimeoutError");
  CHECK(main_text(run(d, sb, "'kept' in globals()", py)) == "False");  // a fresh kernel
  CHECK(main_text(run(d, sb, "1 + 1", py)) == "2");

  // A kernel that dies is replaced, and says so.
  auto died = run(d, sb, "import os\nos._exit(7)", py);
  CHECK(died.restarted);
  CHECK(error_of(died)["name"] == "KernelDied");
  CHECK(main_text(run(d, sb, "2 + 2", py)) == "4");

  const std::string js = context_of(d, sb, "javascript");
  run(d, sb, "var js_kept = 5", js);
  auto js_loop = run(d, sb, "while (true) {}", js, "", 500);
  CHECK(js_loop.timed_out);
  CHECK_FALSE(js_loop.restarted);
  CHECK(main_text(run(d, sb, "js_kept", js)) == "5");

  const std::string sh = context_of(d, sb, "bash");
  run(d, sb, "SH_KEPT=yes", sh);
  auto sh_loop = run(d, sb, "while :; do :; done", sh, "", 500);
  CHECK(sh_loop.timed_out);
  CHECK_FALSE(sh_loop.restarted);
  auto sh_sleep = run(d, sb, "sleep 30; echo not-reached", sh, "", 500);
  CHECK(sh_sleep.timed_out);
  CHECK(sh_sleep.out.empty());
  CHECK(run(d, sb, "echo $SH_KEPT", sh).out == "yes\n");
}

TEST_CASE("contexts are listed and restarted and removed and bad requests are refused", "[code]") {
  Daemon d;
  const std::string sb = create_sandbox(d);
  client::CodeContextSpec spec;
  spec.language = "python";
  spec.cwd = "/tmp";
  spec.env = {"CTX_VAR=v1"};
  auto made = d.client().create_context(sb, spec);
  REQUIRE(made.ok());
  CHECK(made->cwd == "/tmp");
  CHECK(main_text(run(d, sb, "import os\n(os.getcwd(), os.environ['CTX_VAR'])", made->id)) == "('/tmp', 'v1')");
  run(d, sb, "y = 1", made->id);

  auto listed = d.client().contexts(sb);
  REQUIRE(listed.ok());
  REQUIRE(listed->size() == 1);
  CHECK((*listed)[0].id == made->id);
  CHECK((*listed)[0].ready);
  CHECK((*listed)[0].execution_count == 2);

  auto restarted = d.client().restart_context(sb, made->id);
  REQUIRE(restarted.ok());
  CHECK(restarted->id == made->id);
  CHECK(error_of(run(d, sb, "y", made->id))["name"] == "NameError");

  REQUIRE(d.client().remove_context(sb, made->id).ok());
  client::CodeRunSpec gone;
  gone.code = "1";
  gone.context_id = made->id;
  auto refused = d.client().run_code(sb, gone);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code == ErrorCode::not_found);
  CHECK(refused.error().message == "Context " + made->id + " not found");
  CHECK(d.client().remove_context(sb, made->id).error().code == ErrorCode::not_found);
  CHECK(d.client().interrupt_context(sb, "nope").error().code == ErrorCode::not_found);

  client::CodeContextSpec cobol;
  cobol.language = "cobol";
  auto unknown = d.client().create_context(sb, cobol);
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().code == ErrorCode::invalid_argument);
  CHECK(unknown.error().message.find("python, javascript, bash, ruby") != std::string::npos);

  client::CodeContextSpec bad_cwd;
  bad_cwd.cwd = "/does/not/exist";
  CHECK(d.client().create_context(sb, bad_cwd).error().code == ErrorCode::not_found);
  client::CodeContextSpec bad_preload;
  bad_preload.preload = {"os; import shutil"};
  CHECK(d.client().create_context(sb, bad_preload).error().code == ErrorCode::invalid_argument);

  // A kernel that dies while it starts (here: a preloaded module exits) is
  // not restarted in a loop: its cells fail saying so, the next one retries.
  REQUIRE(d.client().write_file(sb, "/home/user/boom.py", "import os\nos._exit(3)\n").ok());
  client::CodeContextSpec doomed;
  doomed.preload = {"boom"};
  auto broken = d.client().create_context(sb, doomed);
  REQUIRE(broken.ok());
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto died = run(d, sb, "1", broken->id);
    CHECK(error_of(died)["name"] == "KernelDied");
    CHECK(error_of(died)["value"].get<std::string>().find("before it was ready") != std::string::npos);
  }
  REQUIRE(d.client().remove_context(sb, broken->id).ok());

  client::CodeRunSpec nul;
  nul.code = std::string("print(1)\0", 9);
  CHECK(d.client().run_code(sb, nul).error().code == ErrorCode::invalid_argument);
  // The sandbox is unharmed.
  CHECK(main_text(run(d, sb, "3 * 3")) == "9");
}

TEST_CASE("the code-interpreter-v1 template starts warm python and javascript contexts", "[code]") {
  Daemon d;
  const std::string sb = create_sandbox(d, "code-interpreter-v1");
  std::vector<client::CodeContextInfo> contexts;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline) {
    auto listed = d.client().contexts(sb);
    REQUIRE(listed.ok());
    contexts = *listed;
    if (contexts.size() == 2 && contexts[0].ready && contexts[1].ready) break;
    std::this_thread::sleep_for(50ms);
  }
  REQUIRE(contexts.size() == 2);
  std::set<std::string> languages;
  for (const auto& c : contexts) {
    CHECK(c.is_default);
    CHECK(c.ready);
    languages.insert(c.language);
  }
  CHECK(languages == std::set<std::string>{"javascript", "python"});
  // numpy and matplotlib are imported ahead: the first plot needs no import time.
  auto warm = run(d, sb, "import sys\n'matplotlib.pyplot' in sys.modules and 'numpy' in sys.modules");
  CHECK(main_text(warm) == "True");
  CHECK(main_text(run(d, sb, "[1, 2].map(x => x * 2)", "", "javascript")) == "[ 2, 4 ]");

  client::CreateOptions unknown;
  unknown.template_name = "no-such-template";
  auto refused = d.client().create(unknown);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message.find("code-interpreter-v1") != std::string::npos);
}

}  // namespace

namespace {

TEST_CASE("hostile cells cannot reach the agent or the host and their bombs stay inside the sandbox",
          "[code][security]") {
  Daemon d;
  client::CreateOptions o;
  o.memory_bytes = 256ull << 20;
  o.pids = 64;
  auto made = d.client().create(o);
  REQUIRE(made.ok());
  const std::string sb = made->id;

  // The kernel holds no socket (the agent's channel is one), runs as the
  // sandbox's user, and can neither signal nor trace the agent (PID 1).
  auto fds = run(d, sb,
                 "import os\n"
                 "sorted(set(os.readlink('/proc/self/fd/' + f).split(':')[0] for f in os.listdir('/proc/self/fd')))");
  INFO(main_text(fds));
  CHECK(main_text(fds).find("socket") == std::string::npos);
  CHECK(main_text(run(d, sb, "import os\n(os.getuid(), os.getgid())")) == "(1000, 1000)");
  CHECK(error_of(run(d, sb, "import os, signal\nos.kill(1, signal.SIGKILL)"))["name"] == "PermissionError");
  CHECK(main_text(run(d, sb,
                      "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
                      "(libc.ptrace(16, 1, 0, 0), ctypes.get_errno())")) == "(-1, 1)");  // PTRACE_ATTACH: EPERM
  auto sysrq = run(d, sb, "import os\nos.open('/proc/sysrq-trigger', os.O_WRONLY)");     // opened, never written
  CHECK_FALSE(sysrq.error.empty());

  // A cell that forges kernel events (fd 3) harms only its own context: an
  // output announced larger than the agent takes gets the kernel replaced
  // at once, saying why, instead of the context waiting forever. What the
  // kernel writes after the forgery (its own result and end, often before
  // the kill lands) must not end the cell as a success: tried a few times,
  // since that race goes either way.
  for (int attempt = 0; attempt < 4; ++attempt) {
    auto forged = run(d, sb, "import os\nos.write(3, b'out 999999999\\n')\n1");
    CHECK(forged.restarted);
    CHECK(error_of(forged)["name"] == "KernelDied");
    CHECK_THAT(error_of(forged)["value"].get<std::string>(), Catch::Contains("event protocol"));
    CHECK(main_text(run(d, sb, "'after the forgery'")) == "after the forgery");
  }

  // A cell that closes the kernel's events pipe gets it replaced at once
  // (it could never say the cell ended), in every language.
  auto closed = run(d, sb, "import os\nos.close(3)");
  CHECK(closed.restarted);
  CHECK_THAT(error_of(closed)["value"].get<std::string>(), Catch::Contains("events pipe (fd 3) was closed"));
  const std::string closer = context_of(d, sb, "bash");
  auto shell_closed = run(d, sb, "exec 3>&-", closer);
  CHECK(shell_closed.restarted);
  CHECK(error_of(shell_closed)["name"] == "KernelDied");
  CHECK(run(d, sb, "echo fresh", closer).out == "fresh\n");

  // One print larger than the cell's output limit (16 MiB) travels in
  // pieces, is cut at the limit with a notice, and the kernel goes on.
  auto flood = run(d, sb, "print('y' * (40 << 20))\n'printed'");
  CHECK(flood.error.empty());
  CHECK(flood.out.size() == (16u << 20));
  CHECK_THAT(flood.err, Catch::Contains("output passed 16 MiB"));
  CHECK(main_text(flood) == "printed");

  // The kernel is the OOM killer's choice, not the agent.
  CHECK(main_text(run(d, sb, "open('/proc/self/oom_score_adj').read().strip()")) == "500");
  // A memory bomb (at most 2 GiB, the sandbox has 256 MiB) ends in the
  // kernel: the OOM killer or a MemoryError; the context and sandbox go on.
  auto bomb = run(d, sb, "x = []\nfor i in range(64):\n    x.append(b'\\x01' * (32 << 20))");
  const std::string bomb_error = error_of(bomb)["name"];
  CHECK((bomb_error == "KernelDied" || bomb_error == "MemoryError"));
  CHECK(main_text(run(d, sb, "1 + 1")) == "2");
  auto info = d.client().info(sb);
  REQUIRE(info.ok());
  CHECK(info->state == busproto::SandboxState::Running);

  // Processes a context starts count against the sandbox's pids limit (200
  // asked for, 64 allowed: the rest refused), and the kernel goes on.
  auto spawned = run(d, sb,
                     "import subprocess\nprocs, refused = [], 0\nfor i in range(200):\n"
                     "    try:\n        procs.append(subprocess.Popen(['sleep', '30']))\n"
                     "    except OSError:\n        refused += 1\n"
                     "n = len(procs)\nfor p in procs:\n    p.kill()\n    p.wait()\n"
                     "(n > 0, n < 64, refused > 0)");
  INFO(spawned.err << spawned.error);
  CHECK(main_text(spawned) == "(True, True, True)");
  CHECK(main_text(run(d, sb, "'still here'")) == "still here");
  const std::string sh = context_of(d, sb, "bash");
  CHECK(run(d, sb, "echo alive", sh).out == "alive\n");
}

}  // namespace
