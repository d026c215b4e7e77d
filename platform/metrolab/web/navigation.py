"""What the shell shows: navigation entries and the home page's task counters (§5.5).

Features register entries here; the base layout and the home page show those the user may use.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from jinja2 import Environment
from markupsafe import Markup
from piccolo.query.base import Query
from piccolo.query.methods.count import Count
from piccolo.querystring import QueryString

from metrolab.kernel import paging
from metrolab.kernel.literal import written_in
from metrolab.kernel.paging import Total, as_total, capped_count_statement
from metrolab.web.auth import CurrentUser, grants


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
    _nav_groups.cache_clear()


def add_tasks(*counters: TaskCounter) -> None:
    known = {c.key for c in TASKS}
    TASKS.extend(c for c in counters if c.key not in known)


@lru_cache(maxsize=256)
def _nav_groups(permissions: frozenset[str]) -> list[tuple[str, list[NavItem]]]:
    """Entries grouped, in order, for one set of permissions (features register them at start)."""
    groups: dict[str, list[NavItem]] = {}
    for item in sorted(NAV, key=lambda i: i.position):
        if grants(permissions, item.permission):
            groups.setdefault(item.group_zh, []).append(item)
    return list(groups.items())


class SideNav:
    """`{{ side_nav(user, path) }}` in the base layout: `_side_nav.html` for the user's permissions,
    rendered once per (language, permissions, entries the path lies under) and kept. Its ~40
    translated, escaped links were a third of every page's render; none of them depends on more
    than that key. In debug (templates reload) it renders every time."""

    def __init__(self, env: Environment, language: Callable[[], str]) -> None:
        self._template = "_side_nav.html"
        self._env = env
        self._language = language
        self._render = self._fresh if env.auto_reload else lru_cache(maxsize=1024)(self._fresh)

    def __call__(self, user: CurrentUser | None, path: str) -> Markup:
        if user is None:
            return Markup("")
        current = tuple(
            item.href
            for _, items in _nav_groups(user.permissions)
            for item in items
            if path.startswith(item.href)
        )
        return self._render(len(NAV), self._language(), user.permissions, current)

    def _fresh(
        self, entries: int, language: str, permissions: frozenset[str], current: tuple[str, ...]
    ) -> Markup:  # `entries`: an entry added later (a feature wired late) is a new key
        template = self._env.get_template(self._template)
        return Markup(template.render(groups=_nav_groups(permissions), current=current))


@dataclass(frozen=True)
class _CounterPlan:
    """A user's home counters as one frozen statement (indexes of `visible` it answers) and the
    counters that are not queries, awaited on their own."""

    visible: list[TaskCounter]
    statement: QueryString | None
    in_statement: tuple[int, ...]
    capped: frozenset[int]  # of in_statement: counts that stop past the cap
    cap: int


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
    statement, capped, cap = None, frozenset[int](), paging.BADGE_CAP
    if queries:
        # One statement of scalar subqueries: SELECT (SELECT COUNT(*) …) AS c0, (…) AS c1, …
        # A plain count stops past the badge cap ("999+"): at a million certificates an exact
        # count of one state cost more than the rest of the page.
        columns = ", ".join(f"({{}}) AS c{i}" for i in queries)
        capped = frozenset(i for i, q in queries.items() if _cappable(q))
        parts = [_capped(q, cap) if i in capped else q.querystrings[0] for i, q in queries.items()]
        # The values written in: the statement is this person's anyway, and a generic plan took
        # the verifier with no drafts for an average one (129 ms at 1 M records, not 0.1).
        statement = written_in(QueryString(f"SELECT {columns}", *parts), DB.engine_type)
        statement.freeze(engine_type=DB.engine_type)
    plan = _CounterPlan(visible, statement, tuple(queries), capped, cap)
    if len(_PLANS) >= _PLANS_KEPT:
        _PLANS.clear()
    _PLANS[key] = plan
    return plan, asked


def _cappable(query: Query) -> bool:
    return isinstance(query, Count) and not query._distinct and query.column is None


def _capped(query: Query, cap: int) -> QueryString:
    assert isinstance(query, Count)
    return capped_count_statement(query, cap)


async def task_counts(user: CurrentUser) -> list[tuple[TaskCounter, Total]]:
    """Each visible counter with its count (a ``Total``: "999+" past the badge cap)."""
    plan, asked = _plan(user)
    counts: dict[int, Total] = {}
    if plan.statement is not None:
        from metrolab.piccolo_conf import DB

        row = (await DB.run_querystring(plan.statement))[0]
        for i in plan.in_statement:
            n = int(row[f"c{i}"] or 0)
            counts[i] = as_total(n, plan.cap) if i in plan.capped else Total(n)
    for i, counter in enumerate(plan.visible):
        if i not in counts:
            pending = asked[i] if asked else counter.count(user)
            counts[i] = Total(await pending)
    return [(c, counts[i]) for i, c in enumerate(plan.visible)]
