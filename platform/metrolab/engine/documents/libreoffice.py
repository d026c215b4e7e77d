"""LibreOffice for DOCX → PDF on Linux: a pool of warm unoserver processes, and a one-shot
``soffice --convert-to pdf`` for diagnostics and as the benchmark baseline.

Each LibreOffice runs under :mod:`deathwatch` in a process group of its own: stopped, it is
killed as a group, and when the server dies (even by ``kill -9``) the group dies with it.

unoserver runs under the system Python that has ``uno`` (``.venv-uno``, made by
scripts/setup_unoserver.sh); we call its XML-RPC ``convert`` with file paths (``_Server.convert``).
The font aliases in deploy/fontconfig/fonts.conf reach soffice through ``FONTCONFIG_FILE``.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import queue
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
import xmlrpc.client
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path

from metrolab.engine.documents import deathwatch
from metrolab.engine.documents.problems import ConversionError, ConversionTimeout

REPO_ROOT = Path(__file__).resolve().parents[4]
# Issued certificates are PDF/A-2b (archival: fonts embedded, no external content); the export
# filter's SelectPdfVersion=2 selects it.
PDFA_OPTIONS = ["SelectPdfVersion=2"]
UNOSERVER_API = "3"  # the XML-RPC convert() signature _Server.convert calls
# A server that exits at start is started again on new ports: a free port is chosen by binding it
# and letting it go, and another process may take it before unoserver binds it.
START_ATTEMPTS = 3
PDFA_CONVERT_TO = 'pdf:writer_pdf_Export:{"SelectPdfVersion":{"type":"long","value":"2"}}'


def fontconfig_file() -> Path | None:
    """``$METROLAB_FONTCONFIG_FILE``, else deploy/fontconfig/fonts.conf in a checkout."""
    env = os.environ.get("METROLAB_FONTCONFIG_FILE")
    path = Path(env) if env else REPO_ROOT / "deploy" / "fontconfig" / "fonts.conf"
    return path if path.is_file() else None


def soffice_env() -> dict[str, str]:
    """Environment for LibreOffice: our font aliases, no root install needed."""
    env = dict(os.environ)
    if fonts := fontconfig_file():
        env["FONTCONFIG_FILE"] = str(fonts)
    return env


def find_soffice() -> str:
    for name in ("soffice", "libreoffice"):
        if path := shutil.which(name):
            return path
    raise ConversionError("LibreOffice (soffice) not found on PATH")


def find_unoserver() -> str:
    """``$METROLAB_UNOSERVER`` or ``<repo>/.venv-uno/bin/unoserver`` (scripts/setup_unoserver.sh)."""
    env = os.environ.get("METROLAB_UNOSERVER")
    candidates = [Path(env)] if env else []
    candidates.append(REPO_ROOT / ".venv-uno" / "bin" / "unoserver")
    for path in candidates:
        if path.exists():
            return str(path)
    raise ConversionError(
        "unoserver not found: run scripts/setup_unoserver.sh or set METROLAB_UNOSERVER"
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _TimeoutTransport(xmlrpc.client.Transport):
    def __init__(self, timeout: float) -> None:
        super().__init__()
        self._timeout = timeout

    def make_connection(self, host):  # type: ignore[no-untyped-def]
        conn = super().make_connection(host)
        conn.timeout = self._timeout
        return conn


class _Server:
    """One unoserver process (and its soffice) with its own profile and ports."""

    def __init__(
        self,
        index: int,
        workdir: Path,
        executable: str,
        conversion_timeout: float,
        cancel: threading.Event,
    ):
        self.index = index
        self.cancel = cancel
        self.profile = workdir / f"profile-{index}"
        self.tmp = workdir / f"tmp-{index}"
        self.log = workdir / f"unoserver-{index}.log"
        self.executable = executable
        self.conversion_timeout = conversion_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.uno_port = 0
        self.documents = 0
        self.starts = 0

    def start(self, ready_timeout: float) -> None:
        self.stop()
        self.tmp.mkdir(parents=True, exist_ok=True)
        for lock in (self.profile / ".lock", self.profile / "user" / ".lock"):
            lock.unlink(missing_ok=True)
        self.port, self.uno_port = _free_port(), _free_port()
        cmd = [
            self.executable,
            "--interface",
            "127.0.0.1",
            "--uno-interface",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--uno-port",
            str(self.uno_port),
            "--user-installation",
            str(self.profile),  # a plain path: a file:// URL crashes 3.7
            "--conversion-timeout",
            str(int(max(1, self.conversion_timeout))),
            "--temp-dir",
            str(self.tmp),
        ]
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                deathwatch.command(os.getpid(), cmd),  # dies with the server, even by kill -9
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=deathwatch.environment(soffice_env()),
                start_new_session=True,  # its own process group: we kill soffice with it
            )
        self.documents = 0
        self.starts += 1
        self._wait_ready(ready_timeout)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.cancel.is_set():
            if not self.alive():
                raise ConversionError(f"unoserver {self.index} exited at start; see {self.log}")
            try:
                proxy = xmlrpc.client.ServerProxy(
                    f"http://127.0.0.1:{self.port}", transport=_TimeoutTransport(2.0)
                )
                info = proxy.info()
            except (OSError, xmlrpc.client.Error):
                time.sleep(0.25)
                continue
            api = info.get("api") if isinstance(info, dict) else None
            if api != UNOSERVER_API:
                self.stop()
                raise ConversionError(
                    f"unoserver {self.index} speaks API {api}, not {UNOSERVER_API}"
                )
            return
        self.stop()
        if self.cancel.is_set():
            raise ConversionError("pool closed while starting")
        raise ConversionError(f"unoserver {self.index} not ready in {timeout:.0f} s")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)
        self.process = None

    def convert(self, docx: bytes, timeout: float, runner: ThreadPoolExecutor) -> bytes:
        """The PDF of ``docx``. The document and the PDF pass through files in the server's own
        temporary folder, not through XML-RPC: base64 over XML and the UNO byte sequence both ways
        cost ~35 ms of CPU a certificate, and unoserver's client would also fetch the filter list
        (``info()``) before every conversion — the API was checked once, at start."""
        name = uuid.uuid4().hex
        inpath, outpath = self.tmp / f"{name}.docx", self.tmp / f"{name}.pdf"
        inpath.write_bytes(docx)
        proxy = xmlrpc.client.ServerProxy(f"http://127.0.0.1:{self.port}", allow_none=True)
        # unoserver API 3: inpath, indata, outpath, convert_to, filtername, filter_options,
        # update_index, infiltername, password
        future = runner.submit(
            proxy.convert,
            str(inpath),
            None,
            str(outpath),
            "pdf",
            "writer_pdf_Export",
            PDFA_OPTIONS,
            False,
            None,
            None,
        )
        try:
            future.result(timeout=timeout)
            result = outpath.read_bytes()
        except FutureTimeout:
            self.stop()  # unblocks the thread: its socket is reset
            raise ConversionTimeout(f"conversion exceeded {timeout:.0f} s") from None
        except (OSError, xmlrpc.client.Error) as exc:
            raise ConversionError(f"unoserver {self.index} failed: {exc}") from exc
        finally:
            inpath.unlink(missing_ok=True)
            outpath.unlink(missing_ok=True)
        if not result.startswith(b"%PDF"):
            raise ConversionError(f"unoserver {self.index} returned no PDF")
        self.documents += 1
        return result


class LibreOfficePool:
    """Warm unoserver processes; each converts one document at a time.

    A server is restarted after ``max_documents`` conversions (LibreOffice's
    memory grows), when it has died, and after a timeout. Restarts happen in a
    background thread so the other servers keep working.
    """

    def __init__(
        self,
        size: int | None = None,
        *,
        max_documents: int = 200,
        conversion_timeout: float = 30.0,
        start_timeout: float = 60.0,
        workdir: str | Path | None = None,
        unoserver: str | None = None,
    ) -> None:
        self.size = size or os.cpu_count() or 1
        self.max_documents = max_documents
        self.conversion_timeout = conversion_timeout
        self.start_timeout = start_timeout
        self._own_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="metrolab-lo-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        executable = unoserver or find_unoserver()
        self._cancel = threading.Event()
        find_soffice()  # unoserver needs it on PATH; fail early with our message
        self._servers = [
            _Server(i, self.workdir, executable, conversion_timeout, self._cancel)
            for i in range(self.size)
        ]
        self._idle: queue.Queue[_Server] = queue.Queue()
        self._runner = ThreadPoolExecutor(self.size * 2, thread_name_prefix="uno-client")
        self._restarts: list[threading.Thread] = []
        self._closed = False
        self.restarts = 0
        self._lock = threading.Lock()
        self._warmup_doc = _tiny_docx()  # before the threads: python-docx's parser is shared
        self._start_all()
        atexit.register(self.close)

    def _start_all(self) -> None:
        errors: list[BaseException] = []

        def start(server: _Server) -> None:
            for attempt in range(1, START_ATTEMPTS + 1):
                try:
                    server.start(self.start_timeout)
                    self._warm(server)
                    self._idle.put(server)
                    return
                except ConversionError as exc:  # a port taken between choosing and binding it
                    if attempt == START_ATTEMPTS or self._cancel.is_set():
                        errors.append(exc)
                        return
                except BaseException as exc:  # noqa: BLE001 - reported below
                    errors.append(exc)
                    return

        threads = [threading.Thread(target=start, args=(s,)) for s in self._servers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            self.close()
            raise errors[0]

    def _warm(self, server: _Server) -> None:
        """First conversion loads Writer and the fonts; do it before real work."""
        server.convert(self._warmup_doc, self.conversion_timeout, self._runner)
        server.documents = 0

    def _restart_later(self, server: _Server) -> None:
        def run() -> None:
            for _attempt in range(3):
                if self._closed:
                    return
                try:
                    server.start(self.start_timeout)
                    self._warm(server)
                except ConversionError:
                    continue
                if self._closed:
                    server.stop()
                    return
                with self._lock:
                    self.restarts += 1
                self._idle.put(server)
                return

        server.stop()
        thread = threading.Thread(target=run, name=f"uno-restart-{server.index}", daemon=True)
        self._restarts.append(thread)
        thread.start()

    def convert(self, docx: bytes) -> bytes:
        if self._closed:
            raise ConversionError("pool is closed")
        for attempt in range(2):
            server = self._idle.get(timeout=self.start_timeout * 2)
            if not server.alive():
                self._restart_later(server)
                continue
            try:
                pdf = server.convert(docx, self.conversion_timeout + 2, self._runner)
            except ConversionTimeout:
                self._restart_later(server)
                raise
            except ConversionError:
                self._restart_later(server)
                if attempt:
                    raise
                continue  # the server crashed: try once more on another one
            if server.documents >= self.max_documents:
                self._restart_later(server)
            else:
                self._idle.put(server)
            return pdf
        raise ConversionError("no live LibreOffice server")

    def server_pids(self) -> list[int]:
        return [s.process.pid for s in self._servers if s.process is not None]

    def wait_idle(self, timeout: float = 60.0) -> None:
        """Wait until every server is started and idle (tests, benchmarks)."""
        deadline = time.monotonic() + timeout
        while self._idle.qsize() < self.size and time.monotonic() < deadline:
            time.sleep(0.1)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._cancel.set()
        for thread in self._restarts:
            thread.join(timeout=15)
        for server in self._servers:
            server.stop()
        self._runner.shutdown(wait=False, cancel_futures=True)
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> LibreOfficePool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SofficeOnceConverter:
    """``soffice --headless --convert-to pdf`` per call, in a throw-away profile.

    Slow (LibreOffice starts every time) but has no moving parts: for
    ``metrolab check``-style diagnostics and as the benchmark baseline.
    """

    def __init__(self, timeout: float = 120.0) -> None:
        self.timeout = timeout
        self.soffice = find_soffice()

    def convert(self, docx: bytes) -> bytes:
        return self.convert_many([docx])[0]

    def convert_many(self, documents: list[bytes]) -> list[bytes]:
        """One soffice process for all documents (the benchmark's floor)."""
        with tempfile.TemporaryDirectory(prefix="metrolab-soffice-") as tmp:
            root = Path(tmp)
            names = []
            for i, data in enumerate(documents):
                path = root / f"doc{i:05d}.docx"
                path.write_bytes(data)
                names.append(str(path))
            cmd = [
                self.soffice,
                "--headless",
                "--norestore",
                "--nologo",
                "--nodefault",
                f"-env:UserInstallation={(root / 'profile').as_uri()}",
                "--convert-to",
                PDFA_CONVERT_TO,
                "--outdir",
                str(root / "out"),
                *names,
            ]
            process = subprocess.Popen(
                deathwatch.command(os.getpid(), cmd),
                env=deathwatch.environment(soffice_env()),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            try:
                process.wait(self.timeout)
            except subprocess.TimeoutExpired as exc:
                raise ConversionTimeout(f"soffice exceeded {self.timeout:.0f} s") from exc
            finally:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, signal.SIGKILL)  # soffice.bin too, not only the wrapper
                process.wait()
            results = []
            for i in range(len(documents)):
                out = root / "out" / f"doc{i:05d}.pdf"
                if not out.exists():
                    raise ConversionError(f"soffice produced no PDF for document {i}")
                results.append(out.read_bytes())
            return results

    def close(self) -> None:
        pass


def _tiny_docx() -> bytes:
    import io

    from docx import Document

    doc = Document()
    doc.add_paragraph("预热 warm-up")
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
