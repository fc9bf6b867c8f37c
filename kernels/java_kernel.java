// SoulBox's Java kernel: one JShell per code context (classes, methods and
// variables persist); the value of a cell's last expression as the result.
// Run by the source launcher (java --source 17 /dev/fd/5). Protocol:
// kernels/README.md.

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.reflect.Field;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import jdk.jshell.Diag;
import jdk.jshell.EvalException;
import jdk.jshell.JShell;
import jdk.jshell.Snippet;
import jdk.jshell.SnippetEvent;
import jdk.jshell.SourceCodeAnalysis;

public class SoulboxJavaKernel {
  static OutputStream events;
  static InputStream requests;
  static JShell shell;
  static volatile boolean interrupted;

  static String json(String s) {
    StringBuilder out = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      if (c == '"' || c == '\\') out.append('\\').append(c);
      else if (c < 0x20) out.append(String.format("\\u%04x", (int) c));
      else out.append(c);
    }
    return out.append('"').toString();
  }

  static void emit(String kind, String payload) throws IOException {
    // What the cell printed goes first: the agent reads it before the event.
    System.out.flush();
    System.err.flush();
    String line = payload == null ? kind + "\n" : kind + " " + payload + "\n";
    events.write(line.getBytes(StandardCharsets.UTF_8));
    events.flush();
  }

  static void error(String name, String value, String traceback) throws IOException {
    emit("error", "{\"name\":" + json(name) + ",\"value\":" + json(value) + ",\"traceback\":" + json(traceback) + "}");
  }

  // The kernel's pipe at fd n. (Opening /dev/fd/n would be refused: the
  // agent made the pipes, and the kernel runs as another user.)
  static FileDescriptor descriptor(int n) throws ReflectiveOperationException {
    FileDescriptor d = new FileDescriptor();
    Field fd = FileDescriptor.class.getDeclaredField("fd");
    fd.setAccessible(true);
    fd.setInt(d, n);
    return d;
  }

  // One NUL-terminated field; the agent closing the pipe ends the kernel.
  static String field() throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    for (int b; (b = requests.read()) != 0; ) {
      if (b < 0) System.exit(0);
      bytes.write(b);
    }
    return bytes.toString(StandardCharsets.UTF_8);
  }

  // System.getenv's map, made writable: a cell's env entries are set for the
  // cell (processes the cell starts with ProcessBuilder do not see them).
  @SuppressWarnings("unchecked")
  static Map<String, String> environment() {
    try {
      Map<String, String> view = System.getenv();
      Field inner = view.getClass().getDeclaredField("m");
      inner.setAccessible(true);
      return (Map<String, String>) inner.get(view);
    } catch (ReflectiveOperationException | RuntimeException e) {
      return new HashMap<>();  // without --add-opens: entries are not applied
    }
  }

  static boolean isExpression(Snippet s) {
    return s.subKind() == Snippet.SubKind.TEMP_VAR_EXPRESSION_SUBKIND
        || s.subKind() == Snippet.SubKind.VAR_VALUE_SUBKIND;
  }

  static String traceback(EvalException e) {
    StringBuilder t = new StringBuilder(e.getExceptionClassName());
    if (e.getMessage() != null) t.append(": ").append(e.getMessage());
    for (StackTraceElement f : e.getStackTrace()) t.append("\n\tat ").append(f);
    return t.toString();
  }

  // Runs the cell's snippets in order; stops at the first that fails.
  static void execute(String code) throws IOException {
    SourceCodeAnalysis analysis = shell.sourceCodeAnalysis();
    String rest = code, lastValue = null;
    while (!rest.isBlank()) {
      SourceCodeAnalysis.CompletionInfo info = analysis.analyzeCompletion(rest);
      boolean complete = info.completeness().isComplete();
      String source = complete ? info.source() : rest;
      rest = complete ? info.remaining() : "";
      lastValue = null;
      for (SnippetEvent e : shell.eval(source)) {
        if (interrupted) {
          error("Interrupted", "the cell was interrupted", "Interrupted: the cell was interrupted");
          return;
        }
        if (e.exception() instanceof EvalException) {
          EvalException x = (EvalException) e.exception();
          error(x.getExceptionClassName(), x.getMessage() == null ? "" : x.getMessage(), traceback(x));
          return;
        }
        if (e.exception() != null) {
          error(e.exception().getClass().getSimpleName(), String.valueOf(e.exception().getMessage()),
              e.exception().toString());
          return;
        }
        if (e.status() == Snippet.Status.REJECTED) {
          List<Diag> diags = shell.diagnostics(e.snippet()).collect(Collectors.toList());
          String value = diags.stream().map(d -> d.getMessage(null)).collect(Collectors.joining("\n"));
          error("CompilationError", value, "CompilationError: " + value + "\n" + e.snippet().source());
          return;
        }
        if (e.causeSnippet() == null && isExpression(e.snippet())) lastValue = e.value();
      }
    }
    if (lastValue != null) emit("result", "{\"text\":" + json(lastValue) + ",\"is_main_result\":true}");
  }

  public static void main(String[] args) throws Exception {
    events = new FileOutputStream(descriptor(3));
    requests = new BufferedInputStream(new FileInputStream(descriptor(4)));
    shell = JShell.builder().executionEngine("local").build();
    shell.eval("1");  // compiles once now: the first cell would wait for it
    sun.misc.Signal.handle(new sun.misc.Signal("INT"), s -> {
      interrupted = true;
      shell.stop();
    });
    Map<String, String> env = environment();
    emit("ready", null);
    while (true) {
      String op = field(), code = field();
      int count = Integer.parseInt(field());
      Map<String, String> saved = new HashMap<>();
      for (int i = 0; i < count; i++) {
        String[] kv = field().split("=", 2);
        saved.put(kv[0], env.get(kv[0]));
        env.put(kv[0], kv.length > 1 ? kv[1] : "");
      }
      if (!op.equals("x")) continue;
      interrupted = false;
      try {
        execute(code);
      } catch (RuntimeException e) {  // JShell's own failures end the cell, not the kernel
        error(e.getClass().getSimpleName(), String.valueOf(e.getMessage()), e.toString());
      } finally {
        saved.forEach((k, v) -> {
          if (v == null) env.remove(k);
          else env.put(k, v);
        });
      }
      emit("end", null);
    }
  }
}
