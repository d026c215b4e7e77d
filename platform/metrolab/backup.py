"""`metrolab backup FILE` / `metrolab restore FILE`: one archive (.tar.gz) with the database
(SQLite: the sqlite3 backup API, a consistent copy of a live file; PostgreSQL: ``pg_dump -Fc``), the
file store (PDFs, templates, signature images) and the keys the lab's proofs depend on — without
``secret_key`` every QR page of a restored lab says 非本所出具, without ``audit_key`` no audit chain
verifies. ``manifest.json`` lists every part with its SHA-256, the row counts and the chain heads.

Restore checks the manifest before it touches anything, refuses a target that already holds a lab
(unless ``force``) and an archive without keys (unless they are given or knowingly left out)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from metrolab import storage
from metrolab.settings import Settings, get_settings

FORMAT = "metrolab.backup/1"
KEYS = ("secret_key", "audit_key")  # what QR tokens and the audit chains are keyed with
KEY_SUFFIXES = ("_key", ".key", ".pem")  # any other key file kept in the data folder


class BackupFailed(RuntimeError):
    pass


class RestoreRefused(RuntimeError):
    pass


@dataclass
class Restored:
    made_at: str
    lines: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _sqlite_path(settings: Settings) -> Path:
    return Path(settings.database_url.removeprefix("sqlite:///").removeprefix("sqlite://"))


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupFailed(
            f"找不到 {name}（PostgreSQL 客户端）：请安装 postgresql-client（scripts/install_system_deps.sh）"
        )
    return path


def _version() -> str:
    try:
        return version("metrolab")
    except PackageNotFoundError:
        return "dev"


def _key_files(settings: Settings) -> dict[str, bytes]:
    """secret_key and audit_key as the lab uses them (file or environment), and other key files."""
    keys = {"secret_key": settings.secret_key.encode(), "audit_key": settings.audit_key.encode()}
    if settings.data_dir.is_dir():
        for path in sorted(settings.data_dir.iterdir()):
            if path.is_file() and path.name not in keys and path.name.endswith(KEY_SUFFIXES):
                keys[path.name] = path.read_bytes()
    return {k: v for k, v in keys.items() if v}


async def _counts() -> dict[str, int]:
    from piccolo.conf.apps import Finder

    return {t._meta.tablename: await t.count() for t in Finder().get_table_classes()}


def _dump_database(settings: Settings, into: Path) -> tuple[str, Path]:
    if settings.is_sqlite:
        target = into / "database.sqlite3"
        src = sqlite3.connect(_sqlite_path(settings))
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)  # a consistent copy while the lab is running
        finally:
            dst.close()
            src.close()
        return "sqlite", target
    target = into / "database.pgdump"
    out = subprocess.run(
        [_tool("pg_dump"), "-Fc", "--no-owner", "--no-privileges", "-f", str(target)]
        + ["-d", settings.database_url],
        capture_output=True,
        text=True,
    )
    if out.returncode:
        raise BackupFailed(f"pg_dump 失败：{out.stderr.strip()[-500:]}")
    return "postgresql", target


def _stored_files(tmp: Path) -> dict[str, Path]:
    """The file store's files as archive parts: local files as they lie, S3 objects fetched into
    the temporary folder first."""
    local = storage.store()
    parts = {}
    for digest in storage.digests():
        name = f"files/{digest[:2]}/{digest}"
        if isinstance(local, storage.LocalStore):
            parts[name] = local.path(digest)
        else:
            path = tmp / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(storage.get(digest))
            parts[name] = path
    return parts


async def make_backup(file: str, *, keys: bool = True) -> dict[str, Any]:
    """Write the archive; returns its manifest."""
    from metrolab.audit.chain import heads, key_id

    settings = get_settings()
    with tempfile.TemporaryDirectory(prefix="metrolab-backup-") as tmp:
        engine, db_file = _dump_database(settings, Path(tmp))
        parts: dict[str, Path] = {db_file.name: db_file}
        parts.update(_stored_files(Path(tmp)))
        key_names = []
        if keys:
            for name, value in _key_files(settings).items():
                path = Path(tmp) / f"key-{name}"
                path.write_bytes(value)
                parts[f"keys/{name}"] = path
                key_names.append(name)
        manifest = {
            "format": FORMAT,
            "version": _version(),
            "made_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "database": {"engine": engine, "part": db_file.name},
            "counts": await _counts(),
            "keys": key_names,
            "audit_key_id": key_id(),
            "chains": await heads(),
            "parts": {
                name: {"sha256": _sha256_file(p), "size": p.stat().st_size}
                for name, p in parts.items()
            },
        }
        text = json.dumps(manifest, ensure_ascii=False, indent=1).encode()
        partial = Path(f"{file}.partial")
        with tarfile.open(partial, "w:gz") as tar:
            info = tarfile.TarInfo("manifest.json")
            info.size, info.mtime = len(text), int(datetime.now(UTC).timestamp())
            tar.addfile(info, io.BytesIO(text))
            for name, path in parts.items():
                tar.add(path, arcname=name, recursive=False)
        partial.chmod(0o600)  # it holds the keys
        partial.replace(file)
    return manifest


# ── restore ───────────────────────────────────────────────────────────────────────────────────


def _read_manifest(tar: tarfile.TarFile) -> dict[str, Any]:
    try:
        member = tar.getmember("manifest.json")
        extracted = tar.extractfile(member)
        manifest = json.loads(extracted.read() if extracted else b"")
    except (KeyError, ValueError) as exc:
        raise RestoreRefused("不是 metrolab 备份文件（没有有效的 manifest.json）") from exc
    if manifest.get("format") != FORMAT:
        raise RestoreRefused(f"不支持的备份格式：{manifest.get('format')}")
    return manifest


def _check_parts(tar: tarfile.TarFile, manifest: dict[str, Any]) -> None:
    """Every part present, unaltered, and nothing else (no path leaves the target folders)."""
    parts = manifest["parts"]
    seen = set()
    for member in tar.getmembers():
        if member.name == "manifest.json":
            continue
        name = member.name
        if name not in parts or not member.isfile() or ".." in Path(name).parts:
            raise RestoreRefused(f"备份中有清单未列出的内容：{name}")
        f = tar.extractfile(member)
        digest = hashlib.sha256(f.read() if f else b"").hexdigest()
        if digest != parts[name]["sha256"]:
            raise RestoreRefused(f"备份已损坏或被改动：{name} 的 SHA-256 与清单不符")
        seen.add(name)
    if missing := sorted(set(parts) - seen):
        raise RestoreRefused(f"备份不完整，缺少：{'、'.join(missing[:5])}")


def _database_empty(settings: Settings) -> bool:
    if settings.is_sqlite:
        path = _sqlite_path(settings)
        if not path.exists():
            return True
        with sqlite3.connect(path) as conn:
            return not conn.execute(
                "SELECT count(*) FROM sqlite_master WHERE type='table'"
            ).fetchone()[0]
    out = subprocess.run(
        [_tool("psql"), "-tA", "-d", settings.database_url, "-c"]
        + ["SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"],
        capture_output=True,
        text=True,
    )
    if out.returncode:
        raise RestoreRefused(f"无法连接目标数据库：{out.stderr.strip()[-300:]}")
    return out.stdout.strip() == "0"


def _files_empty(settings: Settings) -> bool:
    return next(storage.digests(), None) is None


def _restore_database(settings: Settings, source: Path, force: bool) -> None:
    if settings.is_sqlite:
        path = _sqlite_path(settings)
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(source, path)
        return
    cmd = [_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error"]
    if force:
        cmd += ["--clean", "--if-exists"]
    out = subprocess.run(
        [*cmd, "-d", settings.database_url, str(source)], capture_output=True, text=True
    )
    if out.returncode:
        raise RestoreRefused(f"pg_restore 失败：{out.stderr.strip()[-500:]}")


def _restored_counts(settings: Settings, tables: list[str]) -> dict[str, int]:
    if settings.is_sqlite:
        with sqlite3.connect(_sqlite_path(settings)) as conn:
            return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
    sql = " UNION ALL ".join(f"SELECT '{t}', count(*) FROM \"{t}\"" for t in tables)
    out = subprocess.run(
        [_tool("psql"), "-tA", "-F", "\t", "-d", settings.database_url, "-c", sql],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = [line.split("\t") for line in out.stdout.splitlines() if line]
    return {name: int(n) for name, n in rows}


def _keys_to_write(
    tar: tarfile.TarFile, manifest: dict[str, Any], keys_dir: str | None, without_keys: bool
) -> tuple[dict[str, bytes], list[str]]:
    keys: dict[str, bytes] = {}
    for name in manifest.get("keys") or []:
        f = tar.extractfile(f"keys/{name}")
        keys[name] = f.read() if f else b""
    if keys_dir:
        for name in KEYS:
            path = Path(keys_dir) / name
            if name not in keys and path.is_file():
                keys[name] = path.read_bytes().strip()
    missing = [k for k in KEYS if k not in keys]
    warnings = []
    if missing and not without_keys:
        raise RestoreRefused(
            f"备份不含密钥 {'、'.join(missing)}：没有 secret_key，恢复后每个二维码页面都显示“非本所出具”；"
            "没有 audit_key，审计链无法校验。请用 --keys 目录 给出密钥文件，"
            "或加 --without-keys 明知后果仍恢复"
        )
    if missing:
        warnings.append(
            f"恢复时没有密钥 {'、'.join(missing)}：已出具证书的二维码页面将显示“非本所出具”，"
            "metrolab audit verify 将失败。找到原密钥后放入数据目录即可恢复正常"
        )
    return keys, warnings


async def restore_backup(
    file: str, *, force: bool = False, keys_dir: str | None = None, without_keys: bool = False
) -> Restored:
    settings = get_settings()
    try:
        tar = tarfile.open(file, "r:gz")  # noqa: SIM115 - closed by the with below
    except (OSError, tarfile.TarError) as exc:
        raise RestoreRefused(f"无法打开备份文件 {file}：{exc}") from exc
    with tar:
        manifest = _read_manifest(tar)
        _check_parts(tar, manifest)
        engine = "sqlite" if settings.is_sqlite else "postgresql"
        if manifest["database"]["engine"] != engine:
            raise RestoreRefused(
                f"备份的数据库是 {manifest['database']['engine']}，当前配置的是 {engine}：不能直接恢复"
            )
        keys, warnings = _keys_to_write(tar, manifest, keys_dir, without_keys)
        if not force and not (_database_empty(settings) and _files_empty(settings)):
            raise RestoreRefused(
                "目标数据库或文件库不为空（已有一个实验室的数据）：确认要覆盖请加 --force"
            )
        done = Restored(made_at=manifest["made_at"], warnings=warnings)
        with tempfile.TemporaryDirectory(prefix="metrolab-restore-") as tmp:
            part = manifest["database"]["part"]
            tar.extract(part, tmp, filter="data")
            _restore_database(settings, Path(tmp) / part, force)
        files = [n for n in manifest["parts"] if n.startswith("files/")]
        for name in files:
            f = tar.extractfile(name)
            storage.put(f.read() if f else b"")  # content-addressed: the name is the checksum
        for name, value in keys.items():
            path = settings.data_dir / name
            path.write_bytes(value)
            path.chmod(0o600)
            env = os.environ.get(f"METROLAB_{name.upper()}")
            if env is not None and env.encode() != value:
                warnings.append(
                    f"环境变量 METROLAB_{name.upper()} 与备份中的 {name} 不同，它优先于数据目录中的"
                    f"文件：{'二维码页面将显示“非本所出具”' if name == 'secret_key' else '审计链将无法校验'}。"
                    "请删去该环境变量或改为备份中的值"
                )
    counts = manifest["counts"]
    now = _restored_counts(settings, sorted(counts))
    differ = [t for t in counts if now.get(t) != counts[t]]
    done.lines.append(
        f"数据库（{engine}）：{len(counts)} 张表、{sum(now.values())} 行"
        + (f"；与清单不符：{'、'.join(differ)}" if differ else "，与清单一致")
    )
    if differ:
        warnings.append(f"恢复后的行数与备份清单不符：{'、'.join(differ)}")
    done.lines.append(
        f"证书 {counts.get('certificate', 0)} 份、原始记录 {counts.get('original_record', 0)} 份、"
        f"审计日志 {counts.get('audit_event', 0)} 条"
    )
    done.lines.append(f"文件库：{len(files)} 个文件 → {storage.describe()}")
    done.lines.append(f"密钥：{'、'.join(keys) or '无'} → {settings.data_dir}")
    return done
