"""The `metrolab` command: serve, demo, db upgrade, createuser, passwd, seed, check."""

from __future__ import annotations

import asyncio
import getpass
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
    import uvicorn

    settings = get_settings()
    _run(_require_database())
    if settings.is_sqlite and workers > 1:
        click.echo("SQLite 只使用 1 个进程；多用户局域网部署请使用 PostgreSQL", err=True)
        workers = 1
    uvicorn.run(
        "metrolab.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        log_level="info",
        proxy_headers=True,
    )


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
    word = word_available()  # with Word, LibreOffice is a fallback only
    for what, good, detail in diagnose(convert=not no_convert):
        line(good, what, detail, warn=word and what in {"LibreOffice soffice", "unoserver"})
    sys.exit(0 if ok else 1)


@main.group(help="审计")
def audit() -> None:
    pass


@audit.command(
    "verify", help="校验每份原始记录的修改链（哈希链），发现断链则列出记录编号与修订序号并以 1 退出"
)
def audit_verify() -> None:
    from metrolab.records.services import BrokenLink, verify_chain

    async def go() -> tuple[int, int, list[BrokenLink]]:
        await _require_database()
        return await verify_chain()

    records, revisions, broken = _run(go())
    for link in broken:
        click.echo(f"  ✗ 记录 {link.number} 修订 #{link.seq}：{link.problem}")
    if broken:
        click.echo(
            f"审计链校验失败：{len({b.number for b in broken})} 份记录、{len(broken)} 处断链"
            f"（共 {records} 份记录、{revisions} 条修订）",
            err=True,
        )
        sys.exit(1)
    click.echo(f"审计链完好：{records} 份原始记录、{revisions} 条修订，全部哈希校验通过")


if __name__ == "__main__":
    main()
