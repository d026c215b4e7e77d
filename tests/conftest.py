"""Test set-up: a real database per run (SQLite file or a fresh PostgreSQL database), migrated once,
emptied between tests; factories for users; a client that behaves like a browser (cookies + CSRF).

METROLAB_TEST_DB=sqlite|postgres chooses the engine (`make test` runs both). The environment is set
here, before any metrolab table is imported, because Piccolo binds tables to the engine at import.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import secrets
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
TEST_DB = os.environ.setdefault("METROLAB_TEST_DB", "sqlite")
_DATA_DIR = Path(tempfile.mkdtemp(prefix=f"metrolab-test-{TEST_DB}-"))
_PG_ADMIN = os.environ.get("METROLAB_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
_PG_NAME = f"metrolab_test_{os.getpid()}_{secrets.token_hex(3)}"

os.environ["METROLAB_DATA_DIR"] = str(_DATA_DIR)
os.environ["METROLAB_SECRET_KEY"] = "test-secret-key-not-for-production"
os.environ["METROLAB_TEST_FAST_HASH"] = "1"
os.environ["METROLAB_BASE_URL"] = "http://testserver.local"
os.environ.pop("METROLAB_DB_POOL", None)  # each app lifespan pools on its own loop (db.py)
os.environ["METROLAB_JOBS"] = (
    "inline"  # certificates render in the request; tests/test_jobs.py queues
)
os.environ.pop("PICCOLO_CONF", None)
os.environ.setdefault(
    "METROLAB_TIMEZONE", "Asia/Shanghai"
)  # the app's zone, before any test reads today()
from metrolab.kernel import clock  # noqa: E402 - imports nothing else of metrolab

clock.use_zone(os.environ["METROLAB_TIMEZONE"])
if TEST_DB == "postgres":
    os.environ["METROLAB_DATABASE_URL"] = urlunsplit(
        urlsplit(_PG_ADMIN)._replace(path=f"/{_PG_NAME}")
    )
else:
    os.environ["METROLAB_DATABASE_URL"] = f"sqlite:///{_DATA_DIR / 'test.sqlite3'}"


def cli(*args: str):  # noqa: ANN201 - `metrolab …` as typed, in-process
    """The CLI through click's runner, on a helper thread: its commands call asyncio.run, which
    refuses to start while a browser test's Playwright loop runs on this thread."""
    from click.testing import CliRunner

    from metrolab.cli import main

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(CliRunner().invoke, main, list(args)).result()


def run(awaitable):  # noqa: ANN001, ANN201 - run a coroutine or a Piccolo query from a sync test
    async def wait():  # noqa: ANN202
        return await awaitable

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(wait())
    # Inside a running loop (Playwright's sync API keeps one): run on a helper thread.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, wait()).result()


async def _pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(_PG_ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _create_database() -> None:
    if TEST_DB == "postgres":
        try:
            run(_pg_admin(f'CREATE DATABASE "{_PG_NAME}"'))
        except Exception as exc:  # noqa: BLE001
            pytest.exit(
                f"PostgreSQL tests need a server at METROLAB_TEST_PG={_PG_ADMIN}: {exc}",
                returncode=2,
            )


def _drop_database() -> None:
    if TEST_DB == "postgres":
        run(_pg_admin(f'DROP DATABASE IF EXISTS "{_PG_NAME}" WITH (FORCE)'))


# What `metrolab seed` put in the database, table by table: restored after each test that changed it.
# Every other table is emptied after each test.
_SEEDED: dict[str, list[dict]] = {}


def _tables():  # noqa: ANN202
    from piccolo.conf.apps import Finder
    from piccolo.table import sort_table_classes

    return sort_table_classes(Finder().get_table_classes())


async def _migrate_and_seed() -> None:
    from piccolo.apps.migrations.commands.forwards import run_forwards

    from metrolab.seed import seed_all

    result = await run_forwards(app_name="all")
    assert result.success, result.message
    await seed_all()
    for table in _tables():
        rows = await table.select().order_by(table._meta.primary_key)
        if rows:
            _SEEDED[table._meta.tablename] = rows


async def _reset_tables() -> None:
    # One connection, one probe for the non-empty tables, deletes only where there is something to
    # delete: a reset per test used to cost a query (and, unpooled, a connection) per table.
    tables = _tables()
    by_name = {table._meta.tablename: table for table in tables}
    engine = tables[0]._meta.db
    probe = " UNION ALL ".join(
        f"SELECT '{name}' AS name WHERE EXISTS (SELECT 1 FROM \"{name}\")" for name in by_name
    )
    # Immediate on SQLite: a deferred transaction that reads first cannot wait for the live
    # server's writer when it upgrades to write ("database is locked" at once).
    from piccolo.engine.sqlite import SQLiteEngine, TransactionType

    kind = (
        {"transaction_type": TransactionType.immediate} if isinstance(engine, SQLiteEngine) else {}
    )
    async with engine.transaction(**kind):
        filled = {row["name"] for row in await tables[0].raw(probe)}
        changed = []
        for table in reversed(tables):  # children before parents
            name = table._meta.tablename
            if name in _SEEDED:
                if await table.select().order_by(table._meta.primary_key) == _SEEDED[name]:
                    continue
                changed.append(table)
            elif name not in filled:
                continue
            await table.delete(force=True)
        for table in reversed(changed):  # parents before children
            await table.insert(*[table(**row) for row in _SEEDED[table._meta.tablename]])


@pytest.fixture(scope="session")
def database():
    _create_database()
    run(_migrate_and_seed())
    yield os.environ["METROLAB_DATABASE_URL"]
    _drop_database()


@pytest.fixture
def db(database):
    yield database
    run(_reset_tables())


def pytest_sessionfinish(session, exitstatus):  # noqa: ANN001, ARG001
    # The database fixture drops it on normal exit; make sure an interrupted run does too.
    if TEST_DB == "postgres":
        with contextlib.suppress(Exception):  # already dropped, or the server is gone
            _drop_database()


def pytest_report_header(config):  # noqa: ANN001, ARG001
    return f"metrolab database: {TEST_DB} ({os.environ['METROLAB_DATABASE_URL']})"


# ── factories ─────────────────────────────────────────────────────────────────────────────────


class UserFactory:
    def __init__(self) -> None:
        self.n = 0

    def __call__(
        self,
        *roles: str,
        username: str | None = None,
        full_name: str | None = None,
        password: str = "secret-pass-1",
        department: str = "",
    ) -> dict:
        from metrolab.accounts import staff

        self.n += 1
        username = username or f"user{self.n}_{secrets.token_hex(2)}"
        values = {
            "username": username,
            "full_name": full_name or f"测试用户{self.n}",
            "password": password,
            "department": department,
        }
        user = run(staff.create_user(values, list(roles)))
        return {"id": user.id, "username": username, "password": password}


@pytest.fixture
def make_user(db):
    return UserFactory()


@pytest.fixture(scope="session")
def converter():
    """ONE warm PDF converter (LibreOffice pool) per test worker, used by every issue in it."""
    from metrolab.certificates import services as certs
    from metrolab.engine.documents.libreoffice import ConversionError, find_soffice, find_unoserver
    from metrolab.engine.documents.pdf import get_converter

    try:
        find_soffice()
        find_unoserver()
    except ConversionError as exc:  # no LibreOffice here: the PDF tests skip
        pytest.skip(f"no PDF converter: {exc}")
    # Installed but not starting is a failure, not a skip: a run that silently left out every
    # PDF test once passed with 19 of them skipped.
    conv = get_converter(size=2)
    certs.use_converter(conv)
    yield conv
    certs.use_converter(None)
    conv.close()


@pytest.fixture
def seeded(db):
    """The shipped certificate templates (published version 1); tables are emptied after every test."""
    from metrolab.certificates import template_versions as tv

    run(tv.seed_templates())
    return db


# ── a client that behaves like a browser ─────────────────────────────────────────────────────


class Browser:
    """Litestar's TestClient with the CSRF header sent on unsafe requests, like our pages do."""

    def __init__(self, client) -> None:  # noqa: ANN001
        self.client = client

    def _csrf(self) -> str:
        token = self.client.cookies.get("metrolab_csrf")
        if token is None:
            self.client.get("/login")
            token = self.client.cookies.get("metrolab_csrf")
        return token

    def request(self, method: str, url: str, csrf: bool = True, **kwargs):  # noqa: ANN003, ANN201
        if method.upper() not in {"GET", "HEAD", "OPTIONS"} and csrf:
            headers = dict(kwargs.pop("headers", None) or {})
            headers.setdefault("x-csrftoken", self._csrf())
            kwargs["headers"] = headers
        return self.client.request(method, url, **kwargs)

    def get(self, url: str, **kw):  # noqa: ANN003, ANN201
        return self.request("GET", url, **kw)

    def post(self, url: str, **kw):  # noqa: ANN003, ANN201
        return self.request("POST", url, **kw)

    def put(self, url: str, **kw):  # noqa: ANN003, ANN201
        return self.request("PUT", url, **kw)

    def delete(self, url: str, **kw):  # noqa: ANN003, ANN201
        return self.request("DELETE", url, **kw)

    def login(self, user: dict) -> Browser:
        r = self.post(
            "/login",
            data={"username": user["username"], "password": user["password"]},
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
        return self


# Building the app costs over a second (Litestar validates ~900 handlers), more than most tests:
# each worker builds its apps once and enters their lifespans afresh for every test.
_APPS: list = []


def _shared_app(index: int):  # noqa: ANN202
    from metrolab.app import create_app

    while len(_APPS) <= index:
        _APPS.append(create_app())
    return _APPS[index]


@pytest.fixture
def app(db):
    return _shared_app(0)


@pytest.fixture
def browser(app):
    from litestar.testing import TestClient

    with TestClient(app, base_url="http://testserver.local") as client:
        yield Browser(client)


@pytest.fixture
def new_browser(db):
    """A factory of independent browsers (several people at once), each with its own app instance
    (one app's lifespan cannot be entered twice)."""
    from litestar.testing import TestClient

    clients = []

    def make() -> Browser:  # apps from 1 on: the `browser` fixture may hold app 0
        client = TestClient(_shared_app(len(clients) + 1), base_url="http://testserver.local")
        client.__enter__()
        clients.append(client)
        return Browser(client)

    yield make
    for client in clients:
        client.__exit__(None, None, None)


sys.path.insert(0, str(ROOT / "tests"))


# ── a real server and a real Chromium (browser tests) ─────────────────────────────────────────


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def live_server(database):
    """`metrolab serve` in a subprocess on the test database; yields its base URL."""
    import subprocess
    import time

    import httpx

    port = _free_port()
    env = dict(os.environ, METROLAB_PORT=str(port), METROLAB_BASE_URL=f"http://127.0.0.1:{port}")
    log = open(_DATA_DIR / "live_server.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "metrolab.cli", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise RuntimeError((_DATA_DIR / "live_server.log").read_text())
        time.sleep(0.2)
    yield url
    proc.terminate()
    proc.wait(timeout=10)
    log.close()


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, live_server, db):
    """A fresh Chromium tab (own cookies) pointed at the live server; `page.base` is its URL."""
    context = chromium.new_context(
        base_url=live_server, locale="zh-CN", viewport={"width": 1366, "height": 900}
    )
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    tab.base = live_server
    yield tab
    context.close()


def ui_login(tab, user: dict) -> None:  # noqa: ANN001
    """Sign in through the real login page."""
    tab.goto("/login")
    tab.fill("input[name=username]", user["username"])
    tab.fill("input[name=password]", user["password"])
    tab.click("form[action='/login'] button[type=submit]")
    tab.wait_for_url("**/home")


# ── API clients and a lab with some data (schemathesis, access by role) ──────────────────────


def mint_api_token(user_id: int, name: str = "tests") -> str:
    """What the profile page does: the user signs in (a session) and makes a token for themself."""
    from datetime import UTC, datetime

    from metrolab.accounts import services
    from metrolab.web.auth import sha256

    async def mint() -> str:
        session = await services.start_session(user_id, "127.0.0.1")
        actor = await services.user_for_session(sha256(session), datetime.now(UTC))
        return await services.create_api_token(actor, name)

    return run(mint())


@pytest.fixture
def api_user(make_user):
    """A factory: ``api_user(*roles)`` → the user row with an API ``token`` and its ``headers``,
    the token created through the accounts service as the profile page does."""

    def make(*roles: str, **kwargs) -> dict:  # noqa: ANN003
        user = make_user(*roles, **kwargs)
        token = mint_api_token(user["id"])
        return {**user, "token": token, "headers": {"Authorization": f"Bearer {token}"}}

    return make


@pytest.fixture
def sample_lab(seeded, make_user):
    """A lab with some of everything: the demo customers and ledger, an entrustment of two methane
    detectors received, assigned, recorded and compiled (two certificates in 编制中). Returns the
    people (rows) and the ids of what was made, by the path-parameter names the API uses."""
    from factories import as_user, compiled_certificates, qualify_async
    from metrolab.features import seeders

    rows = {
        "clerk": make_user("clerk", full_name="业务员小王"),
        "verifier": make_user("verifier", full_name="检定员张晓明"),
    }
    run(qualify_async(rows["verifier"]["id"]))

    async def build() -> dict:
        from metrolab.business.tables import Entrustment, VerificationTask
        from metrolab.customers.tables import Customer
        from metrolab.forms.tables import FormVersion
        from metrolab.ledger.tables import LedgerInstrument
        from metrolab.records.tables import OriginalRecord

        for name, seed in seeders(demo=True):
            if name in {"customers", "ledger", "lab_settings"}:
                await seed()
        certificates = await compiled_certificates(
            as_user(rows["clerk"], "clerk"),
            as_user(rows["verifier"], "verifier"),
            serials=("SN-FZ-0001", "SN-FZ-0002"),
        )

        async def ids(table) -> list:  # noqa: ANN001
            return [r["id"] for r in await table.select(table.id).order_by(table.id).limit(3)]

        return {
            "certificate_id": certificates,
            "customer_id": await ids(Customer),
            "entrustment_id": await ids(Entrustment),
            "task_id": await ids(VerificationTask),
            "record_id": await ids(OriginalRecord),
            "instrument_id": await ids(LedgerInstrument),
            "version_id": await ids(FormVersion),
            "user_id": [row["id"] for row in rows.values()],
        }

    return {"rows": rows, "ids": run(build())}
