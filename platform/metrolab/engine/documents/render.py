"""Render a .docx template with plain data, sandboxed and in a worker process.

The template runs in ``jinja2.sandbox.SandboxedEnvironment(autoescape=True)``
(without autoescape a value like ``A&B 公司`` breaks the document XML), with
``StrictUndefined`` so a misspelt variable is an error, not a blank. The sandbox
counts every loop iteration of a render (:data:`MAX_LOOP_ITERATIONS`) and the
characters it outputs (:data:`MAX_OUTPUT_CHARS`), so nested ``range(100000)`` loops
stop at once with a ``RenderLimit`` instead of running into the time limit. The render
itself happens in a warm worker process with a time limit and a memory limit: a
template that is slow some other way is killed and reported as ``RenderTimeout``.
Both are ``TemplateProblem``, a ``Refused``: callers answer 422 with the 中文 message.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import hashlib
import io
import os
import pickle
import queue
import struct
import subprocess
import sys
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, UndefinedError, nodes
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from metrolab.engine.documents.problems import RenderLimit, RenderTimeout, TemplateProblem
from metrolab.kernel.clock import local_date

# Image sizes in millimetres (width, height); None keeps the aspect ratio.
DEFAULT_IMAGE_SIZE: tuple[float | None, float | None] = (None, 11.0)  # a signature
IMAGE_SIZES: dict[str, tuple[float | None, float | None]] = {
    "qr_code": (22.0, None),
    "seal": (38.0, None),  # 检定专用章: a real one is about 40 mm across
}
WORKER_MEMORY_LIMIT = 1536 * 1024 * 1024  # bytes of address space per render worker
MAX_SEQUENCE = 100_000  # longest str / list a template may build with `*`
MAX_LOOP_ITERATIONS = 100_000  # per render, all loops together (a certificate needs hundreds)
MAX_OUTPUT_CHARS = 20_000_000  # per rendered part (a certificate's body XML is ~1 MB)
_COUNTED = "_metrolab_counted"  # the filter every {% for %} iterable goes through


class CertificateSandbox(SandboxedEnvironment):
    """The sandbox, stricter: unsafe attributes raise, no giant strings or powers, and loop
    iterations and output bounded per render (:meth:`start_render` resets the counts)."""

    intercepted_binops = frozenset({"*", "**"})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.filters[_COUNTED] = self._counted
        self.iterations_left = MAX_LOOP_ITERATIONS

    def start_render(self) -> None:
        self.iterations_left = MAX_LOOP_ITERATIONS

    def _counted(self, iterable: Any) -> Any:
        for item in iterable:
            self.iterations_left -= 1
            if self.iterations_left < 0:
                raise RenderLimit(
                    f"模板循环次数超过上限（{MAX_LOOP_ITERATIONS} 次），已停止",
                    f"more than {MAX_LOOP_ITERATIONS} loop iterations: stopped",
                )
            yield item

    def _generate(
        self,
        source: nodes.Template,
        name: str | None,
        filename: str | None,
        defer_init: bool = False,
    ) -> str:
        # Every loop's iterable is counted: `{% for i in x %}` runs as `for i in x|_counted`.
        for loop in source.find_all(nodes.For):
            loop.iter = nodes.Filter(loop.iter, _COUNTED, [], [], None, None, lineno=loop.lineno)
        return super()._generate(source, name, filename, defer_init)

    @staticmethod
    def concat(parts: Any) -> str:
        """``"".join`` that stops at :data:`MAX_OUTPUT_CHARS` (top-level output is streamed)."""
        out: list[str] = []
        size = 0
        for part in parts:
            size += len(part)
            if size > MAX_OUTPUT_CHARS:
                raise RenderLimit(
                    f"模板输出过大（超过 {MAX_OUTPUT_CHARS} 个字符），已停止",
                    f"template output over {MAX_OUTPUT_CHARS} characters: stopped",
                )
            out.append(part)
        return "".join(out)

    def unsafe_undefined(self, obj: Any, attribute: str) -> Any:
        raise SecurityError(
            f"access to attribute {attribute!r} of {type(obj).__name__!r} object is unsafe"
        )

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int) and abs(right) > 100:
            raise SecurityError("exponent too large")
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                sized = isinstance(seq, (str, list, tuple)) and isinstance(times, int)
                if sized and len(seq) * times > MAX_SEQUENCE:
                    raise SecurityError("sequence too long")
        return super().call_binop(context, operator, left, right)


def sandbox_environment() -> CertificateSandbox:
    return CertificateSandbox(autoescape=True, undefined=StrictUndefined)


def to_plain(value: Any) -> Any:
    """Plain template data: Decimal → str, date → parts; refuses anything else."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, Decimal):
        return str(value)  # keeps the reporting resolution: Decimal("0.50") → "0.50"
    if isinstance(value, float):
        raise TypeError("measured values are Decimal, never float")
    if isinstance(value, (date, datetime)):
        d = local_date(value)
        return {
            "iso": d.isoformat(),
            "year": f"{d.year:04d}",
            "month": f"{d.month:02d}",
            "day": f"{d.day:02d}",
            "zh": f"{d.year:04d}年{d.month:02d}月{d.day:02d}日",
        }
    if isinstance(value, Mapping):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        raise TypeError("pass images through render_docx(images=...), not in the context")
    raise TypeError(f"not plain template data: {type(value).__name__}")


_checked: dict[str, list[TemplateProblem]] = {}


def _static_problems(template: bytes) -> list[TemplateProblem]:
    """Container, syntax and sandbox checks; cached per template content."""
    from metrolab.engine.documents.lint import (
        PARSE_LOCK,
        check_container,
        sandbox_problems,
        template_sources,
    )

    key = hashlib.sha256(template).hexdigest()
    if key in _checked:
        return _checked[key]
    problems = check_container(template)
    if not problems:
        env = sandbox_environment()
        try:
            with PARSE_LOCK:
                sources = list(template_sources(template))
        except Exception as exc:  # noqa: BLE001 - a broken document inside a valid zip
            sources = []
            problems.append(
                TemplateProblem(f"无法读取 Word 文档：{exc}", f"cannot read the document: {exc}")
            )
        for source in sources:
            try:
                problems += sandbox_problems(env.parse(source.xml), source)
            except TemplateSyntaxError as exc:
                problems.append(
                    TemplateProblem(
                        f"模板语法错误：{exc.message}",
                        f"template syntax error: {exc.message}",
                        source.paragraph(exc.lineno),
                    )
                )
    if len(_checked) > 256:
        _checked.clear()
    _checked[key] = problems
    return problems


def document_title(data: dict[str, Any]) -> str | None:
    """The document's kind and number (“检定证书 JD2026-000123”), when the context has them: the
    title a PDF reader shows and a search finds, whatever the template's own title says."""
    cert = data.get("certificate")
    if not isinstance(cert, dict):
        return None
    words = [str(cert.get(key) or "").strip() for key in ("kind", "number")]
    return " ".join(w for w in words if w) or None


def check_ahead(template: bytes) -> None:
    """Run (and cache) a template's static checks before its first render: a worker's warm-up."""
    _static_problems(template)


def render_docx(
    template: bytes,
    context: dict[str, Any],
    images: dict[str, bytes] | None = None,
    timeout: float = 20,
    title: str | None = None,
) -> bytes:
    """The rendered .docx. ``images`` maps dotted context paths to PNG/JPEG bytes. ``title`` (the
    document properties' title, which becomes the PDF's): by default ``document_title(context)``.

    Raises ``TemplateProblem`` (``RenderTimeout`` when the time limit is hit).
    """
    problems = _static_problems(template)
    if problems:  # a fresh exception: the cached one must not collect tracebacks
        first = problems[0]
        raise TemplateProblem(first.message_zh, first.message_en, first.place)
    data = to_plain(context)
    for path in images or {}:
        _set_path(data, path, None)  # check the path exists before crossing the process line
    job = (template, data, dict(images or {}), title or document_title(data))
    status, *payload = _workers().run(job, timeout)
    if status == "ok":
        return payload[0]
    if status == "limit":
        raise RenderLimit(*payload)
    raise TemplateProblem(*payload)


def _set_path(data: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    target: Any = data
    for key in parents:
        if not isinstance(target, dict) or not isinstance(target.get(key), dict):
            raise TemplateProblem(
                f"图片位置 {path} 在数据中不存在", f"image path {path!r} not in the context"
            )
        target = target[key]
    target[last] = value


# --- the worker side -------------------------------------------------------------------


_compiled: dict[str, Any] = {}
_patched: dict[str, str] = {}
_worker_env: CertificateSandbox | None = None


class _CachingSandbox(CertificateSandbox):
    """Compiles each part's XML once per worker: the same template renders many times."""

    def from_string(self, source: Any, globals: Any = None, template_class: Any = None) -> Any:
        if globals is not None or template_class is not None or not isinstance(source, str):
            return super().from_string(source, globals, template_class)
        template = _compiled.get(source)
        if template is None:
            if len(_compiled) > 64:
                _compiled.clear()
            template = _compiled[source] = super().from_string(source)
        return template


def _render_in_worker(
    template: bytes, data: dict[str, Any], images: dict[str, bytes], title: str | None = None
) -> tuple:
    from docx.shared import Mm
    from docxtpl import DocxTemplate, InlineImage

    global _worker_env

    class _Template(DocxTemplate):
        def patch_xml(self, src_xml: str) -> str:  # pure function of its input: cache it
            patched = _patched.get(src_xml)
            if patched is None:
                if len(_patched) > 64:
                    _patched.clear()
                patched = _patched[src_xml] = super().patch_xml(src_xml)
            return patched

    if _worker_env is None:
        _worker_env = _CachingSandbox(autoescape=True, undefined=StrictUndefined)
    _worker_env.start_render()
    try:
        tpl = _Template(io.BytesIO(template))
        for path, blob in images.items():
            width, height = IMAGE_SIZES.get(path.rsplit(".", 1)[-1], DEFAULT_IMAGE_SIZE)
            image = InlineImage(
                tpl,
                io.BytesIO(blob),
                width=Mm(width) if width else None,
                height=Mm(height) if height else None,
            )
            _set_path(data, path, image)
        tpl.render(data, jinja_env=_worker_env, autoescape=True)
        if title:
            tpl.docx.core_properties.title = title
        out = io.BytesIO()
        tpl.save(out)
        return ("ok", out.getvalue())
    except RenderLimit as exc:
        return ("limit", exc.message_zh, exc.message_en, exc.place)
    except TemplateProblem as exc:
        return ("error", exc.message_zh, exc.message_en, exc.place)
    except SecurityError as exc:
        return ("error", f"模板试图越出沙箱，已拒绝：{exc}", f"sandbox violation: {exc}", "")
    except UndefinedError as exc:
        return ("error", f"模板使用了未定义的变量：{exc}", f"undefined variable: {exc}", "")
    except TemplateError as exc:
        lines = list(getattr(exc, "docx_context", []) or [])
        place = next((s.strip() for s in lines[3:4] if s.strip()), "")
        return ("error", f"模板错误：{exc}", f"template error: {exc}", place)
    except OverflowError as exc:
        return ("error", f"模板循环过大：{exc}", f"template loop too large: {exc}", "")
    except MemoryError:
        return ("error", "模板渲染内存超限", "template render ran out of memory", "")
    except Exception as exc:  # noqa: BLE001 - any other failure is the template's or the data's
        return ("error", f"渲染失败：{exc}", f"render failed: {type(exc).__name__}: {exc}", "")


def _send(stream: Any, obj: Any) -> None:
    blob = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(struct.pack("!I", len(blob)) + blob)
    stream.flush()


def _recv(stream: Any) -> Any:
    head = stream.read(4)
    if len(head) < 4:
        raise EOFError("worker closed the pipe")
    (size,) = struct.unpack("!I", head)
    blob = stream.read(size)
    if len(blob) < size:
        raise EOFError("worker closed the pipe")
    return pickle.loads(blob)  # noqa: S301 - our own worker process


def _exit_with_parent(parent: int) -> None:
    """A server killed mid-render (kill -9) must not leave its render running: idle, the worker
    ends with the pipe's EOF; busy, this notices the parent is gone."""
    import time

    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


# A 1×1 PNG: the warm-up's image, so the image path (InlineImage, the picture part) is warm too.
_WARM_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)


def warm_up_document() -> tuple[bytes, dict[str, Any], dict[str, bytes]]:
    """(template, context, images) of a throw-away document with text and an image: what the render
    process and a certificate worker render before their first job."""
    import docx

    blank = docx.Document()
    blank.add_paragraph("{{ text }} {{ picture }}")
    buf = io.BytesIO()
    blank.save(buf)
    return buf.getvalue(), {"text": "预热 warm-up", "picture": None}, {"picture": _WARM_PNG}


_ALREADY_COMPRESSED = (".png", ".jpeg", ".jpg", ".jpe", ".gif", ".emz", ".wmz")


def _lean_package_io() -> None:
    """The render process's python-docx, set for rendering many documents (half the CPU of a
    certificate's render; the output's parts are byte for byte the same):

    * styles stay bytes: docxtpl never touches them, and a Word ``styles.xml`` is ~350 KB that
      python-docx would parse on open and serialize on save, every render
      (``PartFactory.part_class_selector`` is python-docx's hook for choosing part classes);
    * the .docx is written with zlib level 1 and its pictures stored: the document is read once by
      LibreOffice, and PNG / JPEG are compressed already — deflating them again buys nothing.
    """
    import zipfile

    from docx.opc import phys_pkg
    from docx.opc.constants import CONTENT_TYPE
    from docx.opc.part import Part, PartFactory

    def keep_styles_as_bytes(content_type: str, reltype: str) -> type[Part] | None:
        return Part if content_type == CONTENT_TYPE.WML_STYLES else None

    def write_member(self: Any, pack_uri: Any, blob: bytes) -> None:
        name = pack_uri.membername
        if name.lower().endswith(_ALREADY_COMPRESSED):
            self._zipf.writestr(name, blob, compress_type=zipfile.ZIP_STORED)
        else:
            self._zipf.writestr(name, blob, compress_type=zipfile.ZIP_DEFLATED, compresslevel=1)

    PartFactory.part_class_selector = staticmethod(keep_styles_as_bytes)
    phys_pkg._ZipPkgWriter.write = write_member  # type: ignore[method-assign]  # noqa: SLF001 - no level option


def _warm_up() -> None:
    """Render the warm-up document before the first job: the imports and lazy paths of docxtpl,
    python-docx and Jinja cost a fresh process ~90 ms on its first render."""
    _render_in_worker(*warm_up_document())


def _worker_loop(parent: int) -> None:
    """``python -m metrolab.engine.documents.render PARENT_PID``: serve jobs on stdin/stdout."""
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    if WORKER_MEMORY_LIMIT and sys.platform.startswith("linux"):
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY_LIMIT, WORKER_MEMORY_LIMIT))
    _lean_package_io()
    _warm_up()
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print() must not corrupt the protocol
    while True:
        try:
            job = _recv(stdin)
        except EOFError:
            return
        _send(stdout, _render_in_worker(*job))


class _Worker:
    """A render process of its own (not multiprocessing: no re-import of ``__main__``)."""

    def __init__(self) -> None:
        package_root = str(Path(__file__).resolve().parents[3])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
        self.process = subprocess.Popen(
            # our pid: a worker still starting when the server dies knows whom it served
            [sys.executable, "-m", "metrolab.engine.documents.render", str(os.getpid())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(10)
        for stream in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(OSError):
                stream.close()  # type: ignore[union-attr]


class RenderWorkers:
    """Warm render processes; one job each at a time; a job over time is killed."""

    def __init__(self, size: int | None = None) -> None:
        self.size = size or min(os.cpu_count() or 1, 4)
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._readers = ThreadPoolExecutor(self.size, thread_name_prefix="render-reader")
        for _ in range(self.size):
            self._idle.put(_Worker())

    def run(self, job: tuple, timeout: float) -> tuple:
        worker = self._idle.get()
        try:
            if not worker.alive():
                worker.kill()
                worker = _Worker()
            _send(worker.process.stdin, job)
            reply = self._readers.submit(_recv, worker.process.stdout)
            try:
                return reply.result(timeout)
            except FutureTimeout:
                worker.kill()  # the reader thread ends with EOFError
                worker = _Worker()
                raise RenderTimeout(
                    f"模板渲染超时（{timeout:g} 秒），已终止",
                    f"render exceeded {timeout:g} s: killed",
                ) from None
        except (EOFError, OSError) as exc:
            worker.kill()
            worker = _Worker()
            raise TemplateProblem(
                "模板渲染进程异常退出（可能超出内存限制）", f"render worker died: {exc!r}"
            ) from exc
        finally:
            self._idle.put(worker)

    def close(self) -> None:
        while True:
            try:
                worker = self._idle.get_nowait()
            except queue.Empty:
                break
            worker.kill()
        self._readers.shutdown(wait=False)


_pool: RenderWorkers | None = None
_pool_lock = threading.Lock()


def _workers() -> RenderWorkers:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = RenderWorkers()
            atexit.register(_pool.close)
        return _pool


def shutdown_workers() -> None:
    """Stop the render processes (they start again on the next render)."""
    global _pool
    with _pool_lock:
        if _pool is not None:
            _pool.close()
            _pool = None


if __name__ == "__main__":
    _worker_loop(int(sys.argv[1]) if len(sys.argv) > 1 else os.getppid())
