"""What the shell shows: navigation entries and the home page's task counters (§5.5).

Features register entries here; the base layout and the home page show those the user may use.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date

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


@dataclass(frozen=True)
class _CounterPlan:
    """A user's home counters as one frozen statement (indexes of `visible` it answers) and the
    counters that are not queries, awaited on their own."""

    visible: list[TaskCounter]
    statement: QueryString | None
    in_statement: tuple[int, ...]


# Building the counters' Piccolo queries and compiling them took over half of the home page's
# CPU; the statement only depends on who asks and on the day (counters compare with today), so it
# is made once per (user, roles, day) and run frozen. The counts themselves are always fresh.
_PLANS: dict[tuple, _CounterPlan] = {}
_PLANS_KEPT = 1024


def _plan(user: CurrentUser) -> tuple[_CounterPlan, list]:
    """(the plan, the counters' answers when it was made now: queries and awaitables)."""
    key = (user.id, user.roles, user.permissions, user.department_id, date.today())
    if (plan := _PLANS.get(key)) is not None:
        return plan, []
    from metrolab.piccolo_conf import DB

    visible = [c for c in sorted(TASKS, key=lambda c: c.position) if user.can(c.permission)]
    asked = [c.count(user) for c in visible]
    queries = {i: q for i, q in enumerate(asked) if isinstance(q, Query)}
    statement = None
    if queries:
        # One statement of scalar subqueries: SELECT (SELECT COUNT(*) …) AS c0, (…) AS c1, …
        columns = ", ".join(f"({{}}) AS c{i}" for i in queries)
        statement = QueryString(f"SELECT {columns}", *[q.querystrings[0] for q in queries.values()])
        statement.freeze(engine_type=DB.engine_type)
    plan = _CounterPlan(visible, statement, tuple(queries))
    if len(_PLANS) >= _PLANS_KEPT:
        _PLANS.clear()
    _PLANS[key] = plan
    return plan, asked


async def task_counts(user: CurrentUser) -> list[tuple[TaskCounter, int]]:
    plan, asked = _plan(user)
    counts: dict[int, int] = {}
    if plan.statement is not None:
        from metrolab.piccolo_conf import DB

        row = (await DB.run_querystring(plan.statement))[0]
        counts = {i: int(row[f"c{i}"] or 0) for i in plan.in_statement}
    for i, counter in enumerate(plan.visible):
        if i not in counts:
            pending = asked[i] if asked else counter.count(user)
            counts[i] = await pending
    return [(c, counts[i]) for i, c in enumerate(plan.visible)]
