# SoulBox's Python kernel: one persistent namespace per code context.
#
# The agent starts it with fd 3 = events (to the agent), fd 4 = requests
# (from the agent), stdin = /dev/null, stdout/stderr = pipes the agent
# streams while a cell runs (kernels/README.md has the protocol).
# A request is NUL-terminated fields: op, code, the number of env vars, then
# each KEY=VALUE. Events are lines "<kind> <json>": ready, result, error,
# end; and "out <n>"/"err <n>" lines followed by n bytes of what the cell
# printed. Python-level output travels on fd 3 with the events, so a quick
# cell's output and its end leave in one write (one wake-up of the agent);
# fds 1 and 2 carry what subprocesses and C code write. SIGINT interrupts
# the running cell (KeyboardInterrupt).
import ast
import asyncio
import base64
import builtins
import inspect
import io
import json
import linecache
import os
import signal
import sys
import time
import traceback
import types

EVENTS_FD, REQUESTS_FD = 3, 4
_count = 0
_namespace = {"__name__": "__main__", "__builtins__": builtins}
_sources = {}  # cell name -> its code
_loop = None


def _write_events(data):
    while data:  # a signal may cut a large write short
        data = data[os.write(EVENTS_FD, data):]


def _event(kind, payload=None):
    line = kind if payload is None else kind + " " + json.dumps(payload, default=str)
    return (line + "\n").encode()


def _emit(kind, payload=None):
    """An event, after what the cell printed before it (one write)."""
    _write_events(_pending_output() + _event(kind, payload))


class _CellStream(io.TextIOBase):
    """sys.stdout/sys.stderr: text the cell prints, held until an event or
    the cell's end goes out (one write for both), or sent at a newline once
    the cell has run 50 ms (long cells stream), or past 64 KiB."""

    def __init__(self, kind, fd):
        super().__init__()
        self._kind, self._fd, self._parts, self._size = kind, fd, [], 0

    def writable(self):
        return True

    @property
    def encoding(self):
        return "utf-8"

    def fileno(self):
        return self._fd  # for subprocess(stdout=sys.stdout) and faulthandler

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError("write() argument must be str, not %s" % type(text).__name__)
        self._parts.append(text)
        self._size += len(text)
        if self._size > 65536 or ("\n" in text and time.monotonic() - _cell_started > 0.05):
            self.flush()
        return len(text)

    def take(self):
        if not self._parts:
            return b""
        text = "".join(self._parts)
        self._parts, self._size = [], 0
        # Events of at most 1 MiB (256 Ki characters): one huge print must
        # not become an event larger than the agent takes.
        events = []
        for start in range(0, len(text), 1 << 18):
            data = text[start:start + (1 << 18)].encode("utf-8", "replace")
            events.append(b"%s %d\n" % (self._kind, len(data)) + data)
        return b"".join(events)

    def flush(self):
        data = self.take()
        if data:
            _write_events(data)


_stdout = _CellStream(b"out", 1)
_stderr = _CellStream(b"err", 2)
_cell_started = 0.0


def _pending_output():
    return _stdout.take() + _stderr.take()


def _flush_streams():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass


# ---- rich results -----------------------------------------------------------

_REPR_METHODS = [("_repr_html_", "html"), ("_repr_markdown_", "markdown"), ("_repr_svg_", "svg"),
                 ("_repr_png_", "png"), ("_repr_jpeg_", "jpeg"), ("_repr_pdf_", "pdf"),
                 ("_repr_latex_", "latex"), ("_repr_json_", "json"), ("_repr_javascript_", "javascript")]
_MIME_KEYS = {"text/plain": "text", "text/html": "html", "text/markdown": "markdown", "image/svg+xml": "svg",
              "image/png": "png", "image/jpeg": "jpeg", "application/pdf": "pdf", "text/latex": "latex",
              "application/json": "json", "application/javascript": "javascript"}


def _text_of(obj):
    text = repr(obj)
    if isinstance(obj, str) and len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1]  # E2B gives strings without their quotes
    return text


def _encoded(key, value):
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode() if key in ("png", "jpeg", "pdf") else value.decode("utf-8", "replace")
    return value


def _bundle(obj):
    """The MIME bundle of an object, in E2B's result field names."""
    if _is_figure(obj):
        return _figure_bundle(obj)
    data = {}
    extra = {}
    if not isinstance(obj, type):
        mimebundle = getattr(obj, "_repr_mimebundle_", None)
        if callable(mimebundle):
            try:
                got = mimebundle()
                got = got[0] if isinstance(got, tuple) else got
                for mime, value in (got or {}).items():
                    key = _MIME_KEYS.get(mime)
                    if key:
                        data[key] = _encoded(key, value)
                    else:
                        extra[mime] = value
            except Exception:
                pass
        for method, key in _REPR_METHODS:
            fn = getattr(obj, method, None)
            if key in data or not callable(fn):
                continue
            try:
                value = fn()
            except Exception:
                continue
            if isinstance(value, tuple):
                value = value[0]
            if value is not None:
                data[key] = _encoded(key, value)
    data.setdefault("text", _text_of(obj))
    if extra:
        data["extra"] = extra
    return data


def _publish(obj, main):
    bundle = _bundle(obj)
    bundle["is_main_result"] = main
    _emit("result", bundle)


def display(*objs, **_):
    """Jupyter's display(): each object as a rich result now."""
    for obj in objs:
        _publish(obj, False)


# ---- matplotlib: figures as PNG and SVG, with chart data ---------------------

def _is_figure(obj):
    mpl_figure = sys.modules.get("matplotlib.figure")
    return mpl_figure is not None and isinstance(obj, mpl_figure.Figure)


def _figure_bundle(fig):
    png, svg = io.BytesIO(), io.BytesIO()
    fig.savefig(png, format="png", bbox_inches="tight")
    fig.savefig(svg, format="svg", bbox_inches="tight")
    bundle = {"text": "<Figure size %dx%d with %d Axes>" % (fig.bbox.width, fig.bbox.height, len(fig.axes)),
              "png": base64.b64encode(png.getvalue()).decode(), "svg": svg.getvalue().decode()}
    try:
        chart = _chart_of_figure(fig)
        if chart:
            bundle["chart"] = chart
    except Exception:
        pass
    return bundle


def _show_figures(*_, **__):
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is None:
        return
    for number in pyplot.get_fignums():
        fig = pyplot.figure(number)
        _publish(fig, False)
    pyplot.close("all")


class _InlineBackend:
    """Finds and loads "soulbox_inline", the matplotlib backend the kernel
    names in MPLBACKEND: Agg drawing, and show() publishes the figures."""

    def find_spec(self, name, path=None, target=None):
        if name != "soulbox_inline":
            return None
        import importlib.machinery
        return importlib.machinery.ModuleSpec(name, self)

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        from matplotlib.backends import backend_agg
        module.FigureCanvas = backend_agg.FigureCanvasAgg
        module.FigureManager = backend_agg.FigureManager
        module.new_figure_manager = backend_agg.new_figure_manager
        module.show = _show_figures


def _install_inline_backend():
    sys.meta_path.append(_InlineBackend())
    os.environ["MPLBACKEND"] = "module://soulbox_inline"


def _label(text_obj):
    return text_obj.get_text() if text_obj is not None else ""


def _axis_fields(ax, with_ticks):
    fields = {"title": ax.get_title() or None, "x_label": ax.get_xlabel() or None,
              "y_label": ax.get_ylabel() or None, "x_unit": None, "y_unit": None}
    if with_ticks:
        fields.update({
            "x_ticks": [float(t) for t in ax.get_xticks()], "x_scale": ax.get_xscale(),
            "x_tick_labels": [t.get_text() for t in ax.get_xticklabels()],
            "y_ticks": [float(t) for t in ax.get_yticks()], "y_scale": ax.get_yscale(),
            "y_tick_labels": [t.get_text() for t in ax.get_yticklabels()]})
    return fields


def _number(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


def _chart_of_axes(ax):
    """E2B's chart data for one Axes: line, scatter, bar or pie."""
    from matplotlib.collections import PathCollection
    from matplotlib.patches import Rectangle, Wedge
    wedges = [p for p in ax.patches if isinstance(p, Wedge)]
    if wedges:
        texts = [t.get_text() for t in ax.texts]
        elements = [{"label": texts[i] if i < len(texts) else str(i), "angle": float(w.theta2 - w.theta1),
                     "radius": float(w.r)} for i, w in enumerate(wedges)]
        return {"type": "pie", "title": ax.get_title() or None, "elements": elements}
    bars = [p for p in ax.patches if isinstance(p, Rectangle)]
    if bars and ax.containers:
        labels = [t.get_text() for t in ax.get_xticklabels()]
        elements = []
        for container in ax.containers:
            group = container.get_label() or ""
            for i, bar in enumerate(container):
                elements.append({"label": labels[i] if i < len(labels) and labels[i] else str(i),
                                 "value": float(bar.get_height()), "group": group})
        return dict(_axis_fields(ax, False), type="bar", elements=elements)
    if ax.lines:
        elements = [{"label": line.get_label(),
                     "points": [[_number(x), _number(y)] for x, y in zip(line.get_xdata(), line.get_ydata())]}
                    for line in ax.lines]
        return dict(_axis_fields(ax, True), type="line", elements=elements)
    scatters = [c for c in ax.collections if isinstance(c, PathCollection)]
    if scatters:
        elements = [{"label": c.get_label(), "points": [[float(x), float(y)] for x, y in c.get_offsets()]}
                    for c in scatters]
        return dict(_axis_fields(ax, True), type="scatter", elements=elements)
    return None


def _chart_of_figure(fig):
    charts = [c for c in (_chart_of_axes(ax) for ax in fig.axes) if c]
    if not charts:
        return None
    if len(charts) == 1:
        return charts[0]
    title = fig._suptitle.get_text() if getattr(fig, "_suptitle", None) else None
    return {"type": "superchart", "title": title, "elements": charts}


# ---- running a cell ---------------------------------------------------------

def _error_of(exc):
    for name, source in _sources.items():
        linecache.cache.setdefault(name, (len(source), None, source.splitlines(True), name))
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != _cell_name():
        tb = tb.tb_next  # the kernel's own frames are not the user's concern
    lines = traceback.format_exception(type(exc), exc, tb)
    return {"name": type(exc).__name__, "value": str(exc), "traceback": "".join(lines)}


def _cell_name():
    return "<cell-%d>" % _count


def _run(code_obj):
    result = eval(code_obj, _namespace)
    if inspect.iscoroutine(result):  # top-level await
        global _loop
        if _loop is None:
            _loop = asyncio.new_event_loop()
        result = _loop.run_until_complete(result)
    return result


def _run_cell(code):
    name = _cell_name()
    _sources[name] = code  # for tracebacks (linecache), filled in when one is shown
    flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    if "\n" not in code.strip() and not code.rstrip().endswith(";"):
        try:  # one line that is an expression: one compile, no AST
            expression = compile(code, name, "eval", flags)
        except SyntaxError:
            expression = None
        if expression is not None:
            return _publish_value(_run(expression))
    tree = compile(code, name, "exec", ast.PyCF_ONLY_AST | flags)
    last = None
    # A trailing ";" hides the last value, as in Jupyter.
    if tree.body and isinstance(tree.body[-1], ast.Expr) and not code.rstrip().endswith(";"):
        last = ast.Expression(tree.body.pop().value)
    if tree.body:
        _run(compile(tree, name, "exec", flags))
    if last is not None:
        _publish_value(_run(compile(last, name, "eval", flags)))


def _publish_value(value):
    if value is not None:
        _namespace["_"] = value
        _publish(value, True)


def _execute(code, env):
    global _count, _cell_started
    _count += 1
    _cell_started = time.monotonic()
    saved = {key: os.environ.get(key) for key in env}
    if env:
        os.environ.update(env)
    try:
        _run_cell(code)
        if "matplotlib.pyplot" in sys.modules:
            _show_figures()  # figures left open show at the end, as in Jupyter
    except BaseException as exc:  # KeyboardInterrupt and SystemExit included
        _emit("error", _error_of(exc))
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    _emit("end")  # with what the cell printed last


class _Requests:
    """Requests from fd 4: NUL-terminated fields, split once per read."""

    def __init__(self):
        self.fields, self.partial = [], b""

    def field(self):
        while not self.fields:
            try:
                chunk = os.read(REQUESTS_FD, 1 << 16)
            except KeyboardInterrupt:
                continue  # an interrupt between cells has nothing to stop
            if not chunk:
                sys.exit(0)  # the agent closed the context
            *whole, self.partial = (self.partial + chunk).split(b"\0")
            self.fields = [f.decode("utf-8", "replace") for f in reversed(whole)]
        return self.fields.pop()


def main():
    sys.stdout, sys.stderr = _stdout, _stderr
    signal.signal(signal.SIGINT, signal.default_int_handler)
    builtins.display = display
    _install_inline_backend()
    sys.path.insert(0, os.getcwd())
    for module in filter(None, os.environ.pop("SOULBOX_PRELOAD", "").split(",")):
        try:
            __import__(module)  # warm in sys.modules; the cell still imports it by name
        except Exception as exc:
            print("soulbox kernel: preload %s failed: %s" % (module, exc), file=sys.stderr)
    requests = _Requests()
    _emit("ready")
    while True:
        op = requests.field()
        code = requests.field()
        env = {}
        for _ in range(int(requests.field() or 0)):
            key, _, value = requests.field().partition("=")
            env[key] = value
        if op == "x":
            _execute(code, env)


main()
