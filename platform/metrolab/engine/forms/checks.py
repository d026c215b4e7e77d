"""Expression checks over the scope tree: syntax and whitelist, known names, cycles.

Also the evaluation order used by :mod:`compute`: within one scope, fields (for their
``visible_if``), computed values and containers are ordered by the names they reference. A
container (table, group, indicator table) depends on the outer names its contents reference.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from metrolab.engine.forms import _expr
from metrolab.engine.forms.model import DefinitionInvalid, DefinitionProblem, FormDefinition
from metrolab.engine.forms.scopes import Entry, ItemSpec, Scope, build, item_scope


def compiled_names(source: str) -> frozenset[str]:
    """Root names of an expression; an expression that does not compile references nothing."""
    try:
        return _expr.compile_expression(source).names
    except _expr.error_type():
        return frozenset()


def entry_expressions(entry: Entry) -> list[tuple[str, str]]:
    """(source, place) of the expressions directly on an entry (not inside its containers)."""
    out = list(entry.conds)
    if entry.kind in ("computed", "conclusion") and entry.node.get("expression"):
        out.append((entry.node["expression"], entry.place))
    return out


def item_expressions(spec: ItemSpec) -> list[tuple[str, str]]:
    return [c for c in (spec.result, spec.conclusion) if c is not None]


def free_names(entry: Entry) -> set[str]:
    """Names an entry needs from the scope it sits in (or further out)."""
    names: set[str] = set()
    for source, _ in entry_expressions(entry):
        names |= compiled_names(source)
    if entry.inner is not None:
        names |= _scope_free(entry.inner)
    for spec in entry.items:
        names |= _scope_free(spec.point_scope)
        for source, _ in item_expressions(spec):
            names |= compiled_names(source) - set(item_scope(spec.point_scope, False).names)
    if entry.kind == "indicator":
        names.discard(entry.key)  # items may read earlier items of the same table
    return names


def _scope_free(scope: Scope) -> set[str]:
    names: set[str] = set()
    for entry in scope.entries.values():
        names |= free_names(entry)
    return names - set(scope.entries) - scope.names


def dependencies(scope: Scope) -> dict[str, set[str]]:
    return {key: free_names(e) & set(scope.entries) for key, e in scope.entries.items()}


def order(scope: Scope) -> list[str]:
    """Keys of ``scope`` in evaluation order; raises ``ValueError`` naming a cycle."""
    if scope.evaluation_order is not None:
        return scope.evaluation_order
    deps = dependencies(scope)
    done: list[str] = []
    state: dict[str, int] = {}

    def visit(key: str, trail: list[str]) -> None:
        if state.get(key) == 2:
            return
        if state.get(key) == 1:
            cycle = trail[trail.index(key) :] + [key]
            raise _Cycle(cycle)
        state[key] = 1
        for dep in sorted(deps[key]):
            visit(dep, trail + [key])
        state[key] = 2
        done.append(key)

    for key in scope.entries:
        visit(key, [])
    scope.evaluation_order = done
    return done


class _Cycle(ValueError):
    def __init__(self, keys: list[str]) -> None:
        self.keys = keys
        super().__init__(" → ".join(keys))


def walk(scope: Scope) -> Iterator[tuple[Scope, Entry]]:
    """Every (scope, entry) in the tree, outer first."""
    for entry in scope.entries.values():
        yield scope, entry
        if entry.inner is not None:
            yield from walk(entry.inner)
        for spec in entry.items:
            yield from walk(spec.point_scope)


def check_definition(
    defn: FormDefinition, catalogue: Any = None, *, strict: bool = False
) -> list[DefinitionProblem]:
    """All expression and scope problems of a shape-checked definition."""
    root, problems = build(defn, catalogue)
    error = _expr.error_type()

    def check(source: str, place: str, scope: Scope, extra: frozenset[str] = frozenset()) -> None:
        try:
            compiled = _expr.compile_expression(source)
        except error as exc:
            problems.append(
                DefinitionProblem(
                    place, f"表达式 “{source}” 无效：{exc}", f"invalid expression ({exc.code})"
                )
            )
            return
        if scope.is_open():
            return
        for name in sorted(compiled.names - extra):
            if not scope.knows(name):
                problems.append(
                    DefinitionProblem(
                        place,
                        f"表达式 “{source}” 引用了未知名称 “{name}”",
                        f"expression references unknown name “{name}”",
                    )
                )

    functions = _expr.function_names()
    for scope, entry in walk(root):
        if entry.key in functions:
            problems.append(
                DefinitionProblem(
                    entry.place,
                    f"键 “{entry.key}” 与函数同名",
                    f"key “{entry.key}” is a function name",
                )
            )
        for source, place in entry_expressions(entry):
            check(source, place, scope)
        for spec in entry.items:
            inner = item_scope(scope, spec.point_scope.open_names)
            if spec.result:
                check(*spec.result, inner, frozenset({"result"}))
            if spec.conclusion:
                check(*spec.conclusion, inner)
    for scope in _scopes(root):
        try:
            order(scope)
        except _Cycle as cyc:
            first = scope.entries[cyc.keys[0]]
            problems.append(
                DefinitionProblem(
                    first.place, f"循环依赖：{' → '.join(cyc.keys)}", f"dependency cycle: {cyc}"
                )
            )
    if strict:
        for _scope, entry in walk(root):
            if entry.kind == "indicator" and entry.catalogue is None:
                code = entry.node.get("catalogue") or defn.catalogue or "（未指定）"
                problems.append(
                    DefinitionProblem(
                        entry.place,
                        f"找不到器具类型 “{code}”，无法展开检定项目",
                        f"instrument type “{code}” not given: items cannot be expanded",
                    )
                )
    return problems


def _scopes(scope: Scope) -> Iterator[Scope]:
    yield scope
    for entry in scope.entries.values():
        if entry.inner is not None:
            yield from _scopes(entry.inner)
        for spec in entry.items:
            yield from _scopes(spec.point_scope)


def validate_for_publish(defn: FormDefinition, catalogue: Any = None) -> None:
    """The full check before a version is published: raise :class:`DefinitionInvalid`.

    Like :func:`load_definition` plus: indicator tables must find their instrument type, and
    every name (including the type's test-point parameters) must resolve.
    """
    from metrolab.engine.forms.shape import shape_problems

    problems = shape_problems(defn.raw) or check_definition(defn, catalogue, strict=True)
    if problems:
        raise DefinitionInvalid(problems)
