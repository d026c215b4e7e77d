"""What the shell shows: navigation entries and the home page's task counters (§5.5).

Features register entries here; the base layout and the home page show those the user may use.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from piccolo.query.base import Query
from piccolo.querystring import QueryString

from metrolab.web.auth import CurrentUser


@dataclass(frozen=True)
class NavItem:
    group_zh: str
    label_zh: str
    href: str
    permission: str
    position: int = 100


@dataclass(frozen=True)
class TaskCounter:
    """A count on the home page "我的检定任务", linking to the list it counts.

    `count(user)` returns a Piccolo count query, not awaited (`Table.count().where(...)`): the home
    page asks every counter in one round trip. A counter that cannot be one query may be async."""

    key: str
    label_zh: str
    href: str
    permission: str
    count: Callable[[CurrentUser], Query | Awaitable[int]]
    position: int = 100


NAV: list[NavItem] = []
TASKS: list[TaskCounter] = []


def add_nav(*items: NavItem) -> None:
    for item in items:
        if item not in NAV:
            NAV.append(item)


def add_tasks(*counters: TaskCounter) -> None:
    known = {c.key for c in TASKS}
    TASKS.extend(c for c in counters if c.key not in known)


def nav_for(user: CurrentUser | None) -> list[tuple[str, list[NavItem]]]:
    if user is None:
        return []
    groups: dict[str, list[NavItem]] = {}
    for item in sorted(NAV, key=lambda i: i.position):
        if user.can(item.permission):
            groups.setdefault(item.group_zh, []).append(item)
    return list(groups.items())


async def task_counts(user: CurrentUser) -> list[tuple[TaskCounter, int]]:
    visible = [c for c in sorted(TASKS, key=lambda c: c.position) if user.can(c.permission)]
    asked = [c.count(user) for c in visible]
    queries = {i: q for i, q in enumerate(asked) if isinstance(q, Query)}
    counts: dict[int, int] = {}
    if queries:
        from metrolab.piccolo_conf import DB

        # One statement of scalar subqueries: SELECT (SELECT COUNT(*) …) AS c0, (…) AS c1, …
        columns = ", ".join(f"({{}}) AS c{i}" for i in queries)
        inner = [q.querystrings[0] for q in queries.values()]
        row = (await DB.run_querystring(QueryString(f"SELECT {columns}", *inner)))[0]
        counts = {i: int(row[f"c{i}"] or 0) for i in queries}
    for i, pending in enumerate(asked):
        if i not in counts:
            counts[i] = await pending
    return [(c, counts[i]) for i, c in enumerate(visible)]
