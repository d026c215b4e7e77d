"""The scope tree of a definition: which names exist where, and what holds data.

Sections, headings and columns are transparent: their children belong to the enclosing scope.
Tables and repeating groups open a *row* scope per row; a non-repeating group opens one nested
scope; an indicator table opens an *item* scope per verification item and a *point* scope per
test point. A name resolves first in its own scope, then outward. Every later step (name check,
schema, computation, rendering) walks this one tree.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import wraps
from typing import Any, Protocol, TypeVar

from metrolab.engine.forms.model import DefinitionProblem, FormDefinition, describe, node_key

ITEM_NAMES = frozenset({"points", "mpe", "unit", "resolution", "item", "result"})
POINT_NAMES = frozenset({"mpe", "unit", "resolution", "item", "point"})

Cond = tuple[str, str]  # (expression source, place)
T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


@dataclass
class ItemSpec:
    """One verification item of an indicator table, with its resolved expressions."""

    code: str
    item: dict[str, Any]
    points: list[dict[str, Any]]
    point_scope: Scope
    result: Cond | None
    conclusion: Cond | None
    place: str


@dataclass
class Entry:
    """Something in a scope that holds data: a field, computed value or container."""

    kind: str  # field | computed | table | group | indicator | environment | conclusion
    key: str
    node: dict[str, Any]
    place: str
    conds: tuple[Cond, ...] = ()
    inner: Scope | None = None
    items: list[ItemSpec] = field(default_factory=list)
    catalogue: dict[str, Any] | None = None

    @property
    def repeat(self) -> bool:
        return self.kind == "table" or (self.kind == "group" and bool(self.node.get("repeat")))


@dataclass
class Scope:
    kind: str  # form | group | row | item | point
    place: str
    parent: Scope | None = None
    entries: dict[str, Entry] = field(default_factory=dict)
    names: set[str] = field(default_factory=set)
    open_names: bool = False  # parameters unknown (no catalogue): do not flag unknown names
    fixed_rows: list[dict[str, Any]] = field(default_factory=list)
    rows_param: str | None = None
    # Evaluation order of the entries, worked out once (checks.order): the tree never changes.
    evaluation_order: list[str] | None = field(default=None, repr=False, compare=False)

    def knows(self, name: str) -> bool:
        scope: Scope | None = self
        while scope is not None:
            if name in scope.entries or name in scope.names:
                return True
            scope = scope.parent
        return False

    def is_open(self) -> bool:
        scope: Scope | None = self
        while scope is not None:
            if scope.open_names:
                return True
            scope = scope.parent
        return False


def catalogues(catalogue: Any) -> dict[str, dict[str, Any]]:
    """Accept one instrument type, a mapping code → type, or a list of types."""
    if catalogue is None:
        return {}
    if isinstance(catalogue, dict) and "code" in catalogue and "items" in catalogue:
        return {catalogue["code"]: catalogue}
    if isinstance(catalogue, dict):
        return dict(catalogue)
    return {c["code"]: c for c in catalogue}


def type_for(code: str | None, defn: FormDefinition, catalogue: Any) -> dict[str, Any] | None:
    cats = catalogues(catalogue)
    code = code or defn.catalogue
    if code in cats:
        return cats[code]
    if code is None and len(cats) == 1:
        return next(iter(cats.values()))
    return None


def to_value(value: Any) -> Any:
    """Parameters and item figures as the evaluator wants them: numbers → Decimal."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            return value
        return number if number.is_finite() else value
    return value


class PerDefinition(Protocol[T_co]):
    def __call__(self, defn: FormDefinition, catalogue: Any = None) -> T_co: ...


def per_definition(fn: Callable[[FormDefinition, Any], T]) -> PerDefinition[T]:
    """Memoise ``fn(defn, catalogue)`` by the identity of its two arguments. A request validates,
    computes and renders from one scope tree instead of building it three times, and a published
    version's objects (kept by the records feature) are built once per process. Each entry holds
    its two objects, so their ids cannot be reused while it lives. What is memoised is read-only."""
    memo: OrderedDict[tuple[int, int], tuple[Any, Any, T]] = OrderedDict()

    @wraps(fn)
    def memoised(defn: FormDefinition, catalogue: Any = None) -> T:
        key = (id(defn), id(catalogue))
        hit = memo.get(key)
        if hit is not None and hit[0] is defn and hit[1] is catalogue:
            memo.move_to_end(key)
            return hit[2]
        value = fn(defn, catalogue)
        memo[key] = (defn, catalogue, value)
        if len(memo) > 64:
            memo.popitem(last=False)
        return value

    return memoised


@per_definition
def build(defn: FormDefinition, catalogue: Any = None) -> tuple[Scope, list[DefinitionProblem]]:
    """The scope tree of ``defn`` and the structural problems found building it."""
    problems: list[DefinitionProblem] = []
    root = Scope("form", "layout", names=set(defn.context_names))
    _fill(root, defn.layout, "layout", (), defn, catalogue, problems)
    return root, problems


def _fill(
    scope: Scope,
    nodes: list[dict[str, Any]],
    place: str,
    conds: tuple[Cond, ...],
    defn: FormDefinition,
    catalogue: Any,
    problems: list[DefinitionProblem],
) -> None:
    for i, node in enumerate(nodes):
        here = f"{place}[{i}]"
        where = describe(node, here)
        own = conds + ((node["visible_if"], where),) if node.get("visible_if") else conds
        kind = node["type"]
        if kind == "section":
            _fill(scope, node["children"], f"{here}.children", own, defn, catalogue, problems)
        elif kind == "columns":
            for j, col in enumerate(node["columns"]):
                _fill(scope, col, f"{here}.columns[{j}]", own, defn, catalogue, problems)
        elif kind == "heading":
            continue
        else:
            entry = _entry(node, here, where, own, scope, defn, catalogue, problems)
            if entry.key in scope.entries:
                problems.append(
                    DefinitionProblem(
                        where,
                        f"键 “{entry.key}” 在同一作用域内重复",
                        f"duplicate key “{entry.key}” in scope",
                    )
                )
            else:
                scope.entries[entry.key] = entry


def _entry(
    node: dict[str, Any],
    here: str,
    where: str,
    conds: tuple[Cond, ...],
    scope: Scope,
    defn: FormDefinition,
    catalogue: Any,
    problems: list[DefinitionProblem],
) -> Entry:
    kind = node["type"]
    key = node_key(node) or ""
    if kind in ("field", "computed", "environment", "conclusion"):
        return Entry(kind, key, node, where, conds)
    if kind == "table":
        inner = Scope(
            "row",
            where,
            parent=scope,
            fixed_rows=list(node.get("rows", [])),
            rows_param=node.get("rows_param"),
        )
        for row in inner.fixed_rows:
            inner.names.update(k for k in row if isinstance(k, str))
        _fill(inner, node["columns"], f"{here}.columns", (), defn, catalogue, problems)
        return Entry("table", key, node, where, conds, inner=inner)
    if kind == "group":
        inner = Scope("row" if node.get("repeat") else "group", where, parent=scope)
        _fill(inner, node["children"], f"{here}.children", (), defn, catalogue, problems)
        return Entry("group", key, node, where, conds, inner=inner)
    # indicator_table
    entry = Entry("indicator", key, node, where, conds)
    itype = type_for(node.get("catalogue"), defn, catalogue)
    entry.catalogue = itype
    by_item = node.get("by_item", {})
    if itype is None:
        # Without the instrument type the items are unknown: check the generic columns only.
        generic = {"code": "*", "points": [{"code": "*", "params": {}}]}
        entry.items.append(
            _item_spec(
                generic, node, {}, here, where, scope, defn, catalogue, problems, open_names=True
            )
        )
        for code, spec in by_item.items():
            entry.items.append(
                _item_spec(
                    {"code": code, "points": []},
                    node,
                    spec,
                    here,
                    where,
                    scope,
                    defn,
                    catalogue,
                    problems,
                    open_names=True,
                )
            )
        return entry
    codes = [it.get("code") for it in itype.get("items", [])]
    wanted = node.get("items") or codes
    for code in list(wanted) + [c for c in by_item if c not in wanted]:
        if code not in codes:
            problems.append(
                DefinitionProblem(
                    where,
                    f"器具类型 “{itype.get('code')}” 没有检定项目 “{code}”",
                    f"instrument type has no item “{code}”",
                )
            )
    for item in itype.get("items", []):
        if item.get("code") in wanted:
            entry.items.append(
                _item_spec(
                    item,
                    node,
                    by_item.get(item["code"], {}),
                    here,
                    where,
                    scope,
                    defn,
                    catalogue,
                    problems,
                    open_names=False,
                )
            )
    return entry


def _item_spec(
    item: dict[str, Any],
    node: dict[str, Any],
    spec: dict[str, Any],
    here: str,
    where: str,
    outer: Scope,
    defn: FormDefinition,
    catalogue: Any,
    problems: list[DefinitionProblem],
    *,
    open_names: bool,
) -> ItemSpec:
    code = item.get("code", "*")
    item_place = f"{where} › {code}"
    point_scope = Scope(
        "point", item_place, parent=outer, names=set(POINT_NAMES), open_names=open_names
    )
    for point in item.get("points", []):
        point_scope.names.update((point.get("params") or {}).keys())
    columns = spec.get("point_columns", node.get("point_columns", []))
    col_place = (
        f"{here}.by_item.{code}.point_columns"
        if "point_columns" in spec
        else f"{here}.point_columns"
    )
    _fill(point_scope, columns, col_place, (), defn, catalogue, problems)
    # Parameters are shadowed by a column of the same name (e.g. table "runs" with param runs=3).
    for sub in point_scope.entries.values():
        if sub.kind == "table" and sub.inner is not None and sub.inner.rows_param is None:
            sub.inner.rows_param = sub.key

    def pick(form_attr: str, item_attr: str) -> Cond | None:
        if form_attr in spec:
            return spec[form_attr], f"{here}.by_item.{code}.{form_attr}"
        if item.get(item_attr):
            return item[item_attr], f"{item_place} ({item_attr})"
        if node.get(form_attr):
            return node[form_attr], f"{where}.{form_attr}"
        return None

    return ItemSpec(
        code=code,
        item=item,
        points=list(item.get("points", [])),
        point_scope=point_scope,
        result=pick("item_result", "result"),
        conclusion=pick("item_conclusion", "conformity"),
        place=item_place,
    )


def item_scope(outer: Scope, open_names: bool) -> Scope:
    """The scope of an item's result / conclusion expressions."""
    return Scope("item", outer.place, parent=outer, names=set(ITEM_NAMES), open_names=open_names)
