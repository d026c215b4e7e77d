"""Settings, read once from the environment (METROLAB_*) into one object."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from metrolab.kernel import clock


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    secret_key: str
    audit_key: str = ""  # keys the audit chains (HMAC); kept outside the database
    base_url: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    port: int = 8000
    debug: bool = False
    default_language: str = "zh"
    timezone: str = "Asia/Shanghai"  # the lab's zone: pages show times, certificates dates, in it
    session_hours: int = 12
    login_max_failures: int = 5
    lockout_minutes: int = 15
    signing_max_failures: int = (
        5  # wrong signing passwords before signing locks for lockout_minutes
    )
    token_days: int = 90  # an API token's lifetime
    upload_max_bytes: int = 10 * 1024 * 1024
    lab_name: str = field(default="示例计量检定所")
    db_pool: bool = True
    # uvicorn's line per request; off by default as in gunicorn: the reverse proxy in front logs
    # requests, the audit log records every change, and the line costs ~8 % of a page's CPU.
    access_log: bool = False
    # "queue": on PostgreSQL, certificates render on the job queue (metrolab.jobs); "inline": in the
    # request, as on SQLite (the test suite uses it, except the queue's own tests).
    jobs: str = "queue"
    # An RFC 3161 timestamp authority on the LAN; empty: the lab's own TSA (docs/signing.md).
    tsa_url: str = ""
    # No signing keys when a certificate is issued: make a self-signed lab CA (logged), or refuse.
    signing_auto_keys: bool = True

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def files_dir(self) -> Path:
        return self.data_dir / "files"


def redact_url(url: str) -> str:
    """The database URL with its password hidden, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


def _secret_key(data_dir: Path) -> str:
    """METROLAB_SECRET_KEY, or one generated on first run and kept in the data folder."""
    if key := os.environ.get("METROLAB_SECRET_KEY"):
        return key
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


def _audit_key(data_dir: Path) -> str:
    """METROLAB_AUDIT_KEY, or one generated on first run and kept in the data folder (never in the
    database: whoever can edit the database cannot recompute the audit chains)."""
    if key := os.environ.get("METROLAB_AUDIT_KEY"):
        return key
    path = data_dir / "audit_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


def _bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


@lru_cache
def get_settings() -> Settings:
    data_dir = Path(os.environ.get("METROLAB_DATA_DIR", "var")).resolve()
    default_db = f"sqlite:///{data_dir / 'metrolab.sqlite3'}"
    host = os.environ.get("METROLAB_HOST", "127.0.0.1")
    port = int(os.environ.get("METROLAB_PORT", "8000"))
    zone = os.environ.get("METROLAB_TIMEZONE", clock.DEFAULT_ZONE)
    clock.use_zone(zone)
    return Settings(
        data_dir=data_dir,
        database_url=os.environ.get("METROLAB_DATABASE_URL", default_db),
        secret_key=_secret_key(data_dir),
        audit_key=_audit_key(data_dir),
        base_url=os.environ.get("METROLAB_BASE_URL", f"http://{host}:{port}").rstrip("/"),
        host=host,
        port=port,
        debug=_bool("METROLAB_DEBUG"),
        default_language=os.environ.get("METROLAB_LANGUAGE", "zh"),
        timezone=zone,
        session_hours=int(os.environ.get("METROLAB_SESSION_HOURS", "12")),
        login_max_failures=int(os.environ.get("METROLAB_LOGIN_MAX_FAILURES", "5")),
        lockout_minutes=int(os.environ.get("METROLAB_LOCKOUT_MINUTES", "15")),
        signing_max_failures=int(os.environ.get("METROLAB_SIGNING_MAX_FAILURES", "5")),
        token_days=int(os.environ.get("METROLAB_TOKEN_DAYS", "90")),
        lab_name=os.environ.get("METROLAB_LAB_NAME", "示例计量检定所"),
        db_pool=_bool("METROLAB_DB_POOL", True),
        access_log=_bool("METROLAB_ACCESS_LOG"),
        jobs=os.environ.get("METROLAB_JOBS", "queue"),
        tsa_url=os.environ.get("METROLAB_TSA_URL", "").strip(),
        signing_auto_keys=_bool("METROLAB_SIGNING_AUTO_KEYS", True),
    )
