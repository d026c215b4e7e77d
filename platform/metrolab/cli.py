"""The `metrolab` command: serve, demo, db upgrade, createuser, passwd, seed, check."""

from __future__ import annotations

import asyncio
import getpass
import os
import sys
from collections.abc import Coroutine
from typing import Any, TypeVar

import click

from metrolab.settings import get_settings, redact_url

T = TypeVar("T")


def _run(coro: Coroutine[Any, Any, T]) -> T:  # a thin asyncio bridge for click commands
    return asyncio.run(coro)


async def _require_database() -> None:
    from metrolab.db import DatabaseUnavailable, check_database
    from metrolab.piccolo_conf import DB

    try:
        await check_database(DB, get_settings().database_url)
    except DatabaseUnavailable as exc:
        raise click.ClickException(str(exc)) from exc


async def _upgrade() -> None:
    from piccolo.apps.migrations.commands.forwards import run_forwards

    await _require_database()
    result = await run_forwards(app_name="all")
    if not result.success:
        raise click.ClickException(f"数据库迁移失败：{result.message}")
    from metrolab import jobs

    await jobs.install_schema()  # the job queue's tables (PostgreSQL)


@click.group(help="metrolab — 计量检定机构管理平台")
def main() -> None:
    pass


@main.group(help="数据库")
def db() -> None:
    pass


@db.command("upgrade", help="执行全部数据库迁移（Piccolo migrations）")
def db_upgrade() -> None:
    _run(_upgrade())
    click.echo(f"数据库已是最新：{redact_url(get_settings().database_url)}")


@main.command(help="载入 seed_data/ 中的基础数据（角色、科室、公共页面、器具类型…），可重复执行")
def seed() -> None:
    from metrolab.seed import seed_all

    async def go() -> dict[str, int]:
        await _require_database()
        return await seed_all()

    for name, n in _run(go()).items():
        click.echo(f"  {name}: {n}")


@main.command(help="迁移数据库、载入基础数据和演示实验室（每个角色一个用户，首次创建时打印密码）")
def demo() -> None:
    from metrolab.seed import demo_users, seed_all

    async def go() -> list[tuple[str, str, str]]:
        from metrolab.features import seeders

        await _upgrade()
        await seed_all()
        created = await demo_users()
        try:
            for _name, fn in seeders(
                demo=True
            ):  # demo customers, ledger, business (they need the users)
                await fn()
        finally:
            from metrolab.certificates.services import close_converter

            close_converter()  # the demo issues a few certificates through the warm PDF converter
        return created

    created = _run(go())
    if created:
        click.echo("\n演示用户（密码只显示这一次，请记下）：")
        click.echo(f"  {'用户名':<12}{'角色':<20}密码")
        for username, role, password in created:
            click.echo(f"  {username:<15}{role:<22}{password}")
        click.echo("")
    else:
        click.echo("演示用户已存在（忘记密码可用 `metrolab passwd 用户名` 重设）")


@main.command(help="新建用户")
@click.argument("username")
@click.option("--full-name", required=True, help="姓名")
@click.option(
    "--role",
    "roles",
    multiple=True,
    help="角色代码，可多次给出：admin tech_manager template_reviewer clerk verifier checker signatory",
)
@click.option("--password", help="不给出则交互输入")
def createuser(username: str, full_name: str, roles: tuple[str, ...], password: str | None) -> None:
    from metrolab.accounts import staff

    password = password or getpass.getpass("密码：")

    async def go() -> None:
        await _require_database()
        errors = await staff.validate_new(
            {"username": username, "full_name": full_name, "password": password}
        )
        if errors:
            raise click.ClickException("；".join(errors.values()))
        await staff.create_user(
            {"username": username, "full_name": full_name, "password": password}, list(roles)
        )

    _run(go())
    click.echo(f"已创建用户 {username}")


@main.command(help="重设用户密码")
@click.argument("username")
@click.option("--password", help="不给出则交互输入")
def passwd(username: str, password: str | None) -> None:
    from metrolab.accounts.passwords import password_problem
    from metrolab.accounts.services import set_password
    from metrolab.accounts.tables import User

    password = password or getpass.getpass("新密码：")
    if problem := password_problem(password):
        raise click.ClickException(problem)

    async def go() -> int:
        await _require_database()
        row = await User.select(User.id).where(User.username == username).first()
        if row is not None:  # ends the user's sessions and revokes their tokens; audited
            await set_password(row["id"], password, None)
        return int(row is not None)

    if not _run(go()):
        raise click.ClickException(f"用户 {username} 不存在")
    click.echo("密码已重设")


@main.command(help="启动 Web 服务")
@click.option("--host", default=None, help="监听地址（默认 METROLAB_HOST 或 127.0.0.1）")
@click.option("--port", default=None, type=int, help="端口（默认 METROLAB_PORT 或 8000）")
@click.option("--workers", default=1, show_default=True, help="进程数（PostgreSQL 时可大于 1）")
def serve(host: str | None, port: int | None, workers: int) -> None:
    from metrolab.serving import serve as run_server

    settings = get_settings()
    _run(_require_database())
    if settings.is_sqlite and workers > 1:
        click.echo("SQLite 只使用 1 个进程；多用户局域网部署请使用 PostgreSQL", err=True)
        workers = 1
    run_server(host or settings.host, port or settings.port, workers, settings.access_log)


@main.command(help="运行后台任务进程：证书生成（PostgreSQL 作业队列；可在多台主机上运行）")
@click.option("--concurrency", default=1, show_default=True, help="同时处理的任务数")
@click.option(
    "--cpu",
    type=click.IntRange(min=0),
    default=None,
    help="固定在这个 CPU 核上运行（LibreOffice 与渲染进程随之）；每核一个任务进程时使用",
)
def worker(concurrency: int, cpu: int | None) -> None:
    from metrolab import jobs

    settings = get_settings()
    if settings.is_sqlite or not jobs.queued():
        raise click.ClickException(
            "后台任务进程需要 PostgreSQL 且 METROLAB_JOBS 不为 inline（SQLite 时任务在 Web 服务内完成）"
        )
    if cpu is not None:
        _pin_to_cpu(cpu)
    _run(_require_database())

    async def go() -> None:
        from metrolab.certificates.keys import KeysMissing
        from metrolab.db import close_pool, open_pool

        await open_pool()  # as the server: without it every query of an issue connected anew
        try:
            await jobs.run_worker(concurrency, fail_fast=True)
        except KeysMissing as exc:  # found by the warm-up, before any job is taken
            raise click.ClickException(str(exc)) from exc
        finally:
            from metrolab.certificates.services import close_converter

            close_converter()  # LibreOffice ends with its worker
            await jobs.close()
            await close_pool()

    _run(go())


def _pin_to_cpu(cpu: int) -> None:
    """Keep this worker and the processes it starts (LibreOffice, the render process inherit the
    mask) on one core. A job runs its processes one after another, so one core is all it uses;
    unpinned, the scheduler moves soffice and Python across the cores and each job's caches go
    cold (bench/render_queue.py, docs/scale-out.md)."""
    if not hasattr(os, "sched_setaffinity"):
        raise click.ClickException("--cpu 仅在 Linux 上可用")
    available = sorted(os.sched_getaffinity(0))
    if cpu not in available:
        raise click.ClickException(f"--cpu {cpu}：本机可用的 CPU 核为 {available}")
    os.sched_setaffinity(0, {cpu})


async def _lab_missing() -> tuple[str, list[str]]:
    from metrolab.lab.services import lab_settings, missing_required

    settings = await lab_settings()
    return settings["name"], missing_required(settings)


@main.command(help="检查配置与依赖：数据库、机构信息、LibreOffice、证书模板所用字体及其替代字体")
@click.option("--no-convert", is_flag=True, help="不做 PDF 试转换（更快）")
def check(no_convert: bool) -> None:
    from metrolab.engine.documents.pdf import diagnose, word_available

    settings = get_settings()
    ok = True

    def line(good: bool, what: str, detail: str, warn: bool = False) -> None:
        """✓ fine, ! a warning (exit status unchanged), ✗ a failure (exit status 1)."""
        nonlocal ok
        ok = ok and (good or warn)
        click.echo(f"  [{'✓' if good else '!' if warn else '✗'}] {what}: {detail}")

    click.echo("metrolab 配置与依赖检查")
    line(True, "数据目录", str(settings.data_dir))
    line(True, "对外地址 METROLAB_BASE_URL", settings.base_url)
    try:
        from metrolab import storage

        probe = storage.put(b"metrolab check")
        line(storage.get(probe) == b"metrolab check", "文件库", storage.describe())
    except Exception as exc:  # noqa: BLE001 - a misconfigured store: say what, go on
        line(False, "文件库", f"{type(exc).__name__}: {exc}")
    try:
        _run(_require_database())
        line(True, "数据库", redact_url(settings.database_url))
    except click.ClickException as exc:
        line(False, "数据库", exc.message)
    else:
        try:
            name, missing = _run(_lab_missing())
        except Exception as exc:  # noqa: BLE001 - e.g. not migrated yet: say so, go on
            line(
                False,
                "机构信息",
                f"无法读取（{type(exc).__name__}；先执行 metrolab db upgrade）",
                warn=True,
            )
        else:
            if missing:
                line(
                    False,
                    "机构信息",
                    f"证书须载明的 {'、'.join(missing)} 尚未填写，证书上将是空白"
                    "（管理员：系统 → 机构信息，/lab/settings）",
                    warn=True,
                )
            else:
                line(True, "机构信息", name)
    from metrolab.certificates import keys as lab_keys

    shown = lab_keys.show() if lab_keys.exist() else {}
    if shown:
        line(
            True,
            "签名密钥",
            f"{shown['signing']['subject']}，有效期至 {shown['signing']['not_after']}",
        )
    else:
        line(
            False,
            "签名密钥",
            "尚未生成（metrolab keys init）"
            + ("；首次出具证书时将自动生成" if settings.signing_auto_keys else "；证书无法出具"),
            warn=settings.signing_auto_keys,
        )
    line(
        True, "时间戳服务", settings.tsa_url or "本所内置时间戳服务（非第三方，见 docs/signing.md）"
    )
    word = word_available()  # with Word, LibreOffice is a fallback only
    for what, good, detail in diagnose(convert=not no_convert):
        line(good, what, detail, warn=word and what in {"LibreOffice soffice", "unoserver"})
    sys.exit(0 if ok else 1)


@main.group(help="审计：防篡改审计链的校验、锚点与补封存")
def audit() -> None:
    pass


def _read_anchor(path: str) -> dict[str, Any]:
    import json

    try:
        data = json.loads(open(path, encoding="utf-8").read())  # noqa: SIM115 - one small file
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"无法读取锚点文件 {path}：{exc}") from exc
    if not isinstance(data, dict) or data.get("format") != "metrolab.audit-anchor/1":
        raise click.ClickException(f"{path} 不是 metrolab 审计锚点文件")
    return data


@audit.command(
    "verify",
    help="校验全部审计链（证书、签名与流转、原始记录及修订、表单与模板审批、审计日志）："
    "每条链校验了多少链节、第一处断链；有断链则以 1 退出",
)
@click.option("--anchor", "anchor_file", help="另校验各链仍延续此前导出的锚点（发现截断或重写）")
def audit_verify(anchor_file: str | None) -> None:
    from metrolab.audit.chain import ChainReport, verify
    from metrolab.records.services import BrokenLink, verify_chain

    anchor = _read_anchor(anchor_file) if anchor_file else None

    async def go() -> tuple[int, int, list[BrokenLink], list[ChainReport]]:
        await _require_database()
        return (*await verify_chain(), await verify(anchor))

    records, revisions, broken, reports = _run(go())
    for link in broken:
        click.echo(f"  ✗ 记录 {link.number} 修订 #{link.seq}：{link.problem}")
    mark = "✗" if broken else "✓"
    click.echo(f"  [{mark}] 原始记录修订链：{records} 份记录、{revisions} 条修订")
    for r in reports:
        click.echo(
            f"  [{'✓' if r.ok else '✗'}] {r.label}（{r.chain}）：{r.links} 条链节、{r.rows} 行"
        )
        if r.problems:
            click.echo(f"      第一处：{r.problems[0]}")
            if len(r.problems) > 1:
                click.echo(f"      另有 {len(r.problems) - 1} 处")
    bad = [r for r in reports if not r.ok]
    if broken or bad:
        click.echo(
            f"审计链校验失败：{len(bad) + bool(broken)} 条链有断链"
            f"（原始记录修订链 {len(broken)} 处，其余 {sum(len(r.problems) for r in bad)} 处）",
            err=True,
        )
        sys.exit(1)
    suffix = f"，并延续锚点（{anchor['at']}）" if anchor else ""
    click.echo(
        f"审计链完好：{records} 份原始记录、{revisions} 条修订、"
        f"{sum(r.links for r in reports)} 条链节，全部密钥校验通过{suffix}"
    )


@audit.command("anchor", help="把各审计链的链头（条数与最后一条的密钥签名）写入文件，另行保存")
@click.argument("file")
def audit_anchor(file: str) -> None:
    import json

    from metrolab.audit.chain import anchor

    async def go() -> dict[str, Any]:
        await _require_database()
        return await anchor()

    data = _run(go())
    text = json.dumps(data, ensure_ascii=False, indent=2)
    with open(file, "w", encoding="utf-8") as out:
        out.write(text + "\n")
    total = sum(c["count"] for c in data["chains"].values())
    click.echo(f"锚点已写入 {file}：{len(data['chains'])} 条链、共 {total} 条链节（{data['at']}）")
    click.echo(
        "请把该文件保存在本机以外（打印、邮件或归档）；日后用 metrolab audit verify --anchor 校验"
    )


@audit.command(
    "adopt", help="把尚无链节的行纳入审计链（升级到带审计链的版本后执行一次；seed 也会执行）"
)
def audit_adopt() -> None:
    from metrolab.audit.chain import adopt

    async def go() -> dict[str, int]:
        await _require_database()
        return await adopt()

    for chain, n in _run(go()).items():
        click.echo(f"  {chain}: {n}")


@main.command(
    help="备份：数据库、文件库与密钥（secret_key、audit_key…）打包为一个文件，附清单与校验和"
)
@click.argument("file")
@click.option(
    "--no-keys", is_flag=True, help="不含密钥（密钥须另行保管；恢复时用 --keys 目录给出）"
)
def backup(file: str, no_keys: bool) -> None:
    from metrolab.backup import BackupFailed, make_backup

    try:
        manifest = _run(make_backup(file, keys=not no_keys))
    except BackupFailed as exc:
        raise click.ClickException(str(exc)) from exc
    parts = manifest["parts"]
    click.echo(
        f"已备份到 {file}：数据库（{manifest['database']['engine']}）、"
        f"{sum(1 for p in parts if p.startswith('files/'))} 个文件、"
        f"密钥 {'、'.join(manifest['keys']) or '（未含）'}"
    )
    if no_keys:
        click.echo(
            "注意：备份不含密钥。没有 secret_key，恢复后每个二维码页面都将显示“非本所出具”。",
            err=True,
        )


@main.command(
    help="恢复：把 metrolab backup 的文件恢复到当前配置的数据库与数据目录（须为空，或 --force）"
)
@click.argument("file")
@click.option("--force", is_flag=True, help="目标非空时也覆盖")
@click.option("--keys", "keys_dir", help="备份不含密钥时，从此目录取 secret_key、audit_key")
@click.option("--without-keys", is_flag=True, help="明知没有密钥也恢复（二维码与审计链将无法校验）")
def restore(file: str, force: bool, keys_dir: str | None, without_keys: bool) -> None:
    from metrolab.backup import RestoreRefused, restore_backup

    try:
        done = _run(restore_backup(file, force=force, keys_dir=keys_dir, without_keys=without_keys))
    except RestoreRefused as exc:
        raise click.ClickException(str(exc)) from exc
    for line in done.lines:
        click.echo(f"  {line}")
    for warning in done.warnings:
        click.echo(f"警告：{warning}", err=True)
    click.echo(f"已从 {file} 恢复（备份于 {done.made_at}）；请执行 metrolab audit verify 确认")


@main.group(
    help="签名密钥：本所根证书、证书签章、时间戳服务（TSA）与国密 SM2 密钥（docs/signing.md）"
)
def keys() -> None:
    pass


def _echo_keys(shown: dict[str, Any]) -> None:
    names = {"ca": "本所根证书 (CA)", "signing": "证书签章", "tsa": "时间戳服务 (TSA)"}
    for role, label in names.items():
        if role not in shown:
            click.echo(f"{label}：（无）")
            continue
        info = shown[role]
        click.echo(f"{label}：")
        click.echo(f"  主题 subject：{info['subject']}")
        click.echo(f"  签发者 issuer：{info['issuer']}")
        click.echo(f"  有效期 validity：{info['not_before']} — {info['not_after']}")
        click.echo(f"  SHA-256 指纹 fingerprint：{info['sha256']}")
    if "sm2" in shown:
        click.echo(f"国密 SM2 公钥 public key：{shown['sm2']['public_key']}")


@keys.command("init", help="生成自签名的本所根证书、证书签章证书、时间戳证书和 SM2 密钥对")
@click.option("--force", is_flag=True, help="已有密钥时也重新生成（旧证书签出的 PDF 将不再受信任）")
def keys_init(force: bool) -> None:
    from metrolab.certificates import keys as lab_keys

    if lab_keys.exist() and not force:
        click.echo(f"签名密钥已存在于 {get_settings().data_dir}（重新生成请加 --force）")
    else:
        lab_keys.init(force=True)
        click.echo(f"已生成签名密钥于 {get_settings().data_dir}（私钥文件权限 0600）")
    _echo_keys(lab_keys.show())


@keys.command("import", help="导入正式的 PKCS#12 (.p12/.pfx) 证书作为证书签章密钥")
@click.option("--p12", "p12_file", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--password",
    envvar="METROLAB_P12_PASSWORD",
    default=None,
    help="PKCS#12 密码（或环境变量 METROLAB_P12_PASSWORD；都没有时提示输入）",
)
def keys_import(p12_file: str, password: str | None) -> None:
    from pathlib import Path

    from metrolab.certificates import keys as lab_keys

    if password is None:
        password = getpass.getpass("PKCS#12 密码：") if sys.stdin.isatty() else ""
    try:
        shown = lab_keys.import_p12(Path(p12_file).read_bytes(), password.encode() or None)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"已导入 {p12_file} 作为证书签章密钥")
    _echo_keys(shown)


@keys.command("show", help="显示签名证书：主题、签发者、有效期、指纹")
def keys_show() -> None:
    from metrolab.certificates import keys as lab_keys

    shown = lab_keys.show()
    if not shown:
        raise click.ClickException("没有签名密钥：请运行 metrolab keys init")
    _echo_keys(shown)


if __name__ == "__main__":
    main()
