"""Computation of a record: computed fields, item results and conclusions, the overall conclusion.

Each scope is evaluated in dependency order (:func:`checks.order`); values are ``Decimal``.

Round once (GB/T 8170 §3): a computed field's ``round`` (an item's ``rounding``) gives its
*reported* value — displayed, stored (as a string) and put on the certificate. Every later
expression and aggregate reads the *exact* (full-precision) value; conformity rules (item
conclusions, ``conclusion`` expressions) read the reported values, so a verdict agrees with the
numbers printed beside it. Both are in :attr:`ComputeResult.values`. Hidden nodes (``visible_if``
false or blank) contribute ``None``.
"""

from __future__ import annotations

import copy
from collections import ChainMap
from collections.abc import Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast

from metrolab.engine.forms import _expr
from metrolab.engine.forms.checks import order
from metrolab.engine.forms.model import DefinitionInvalid, FormDefinition, text_of
from metrolab.engine.forms.problems import FieldProblem, Labels, problem, row_label
from metrolab.engine.forms.scopes import Entry, ItemSpec, Scope, build, to_value, type_for
from metrolab.engine.forms.values import field_value, parse_number, to_text

PASS, FAIL, UNDETERMINED = "合格", "不合格", "待定"
ENV_LABELS = {
    "temperature": ({"zh": "温度", "en": "Temperature"}, "℃"),
    "humidity": ({"zh": "相对湿度", "en": "Relative humidity"}, "%RH"),
    "pressure": ({"zh": "大气压", "en": "Atmospheric pressure"}, "kPa"),
}


@dataclass
class ItemResult:
    """One verification item of one indicator table instance."""

    path: str  # data path of the item, e.g. "nozzles.0.items.indication"
    code: str
    name: dict[str, str]
    label_zh: str
    label_en: str
    result: str | None
    conclusion: str | None
    unit: str | None = None
    mpe: str | None = None


@dataclass(frozen=True)
class ComputedValue:
    """One computed field or item result: what computations use and what is reported."""

    exact: Any  # full precision: every later expression and aggregate reads this
    reported: Any  # after ``round`` / ``rounding``: displayed, stored, on the certificate


@dataclass
class ComputeResult:
    data: dict[str, Any]  # the record with computed values filled in, as reported (strings)
    items: list[ItemResult] = field(default_factory=list)  # results as reported
    conclusion: str | None = None
    problems: list[FieldProblem] = field(default_factory=list)
    hidden: set[str] = field(default_factory=set)
    values: dict[str, ComputedValue] = field(default_factory=dict)  # data path → exact and reported


class _Env(dict):
    """A scope's names → exact values; ``reported`` holds the rounded value of each name that has
    a ``round`` (computed fields, an item's ``result``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reported: dict[str, Any] = {}


class _Reported(Mapping):
    """A scope seen as reported, for conformity rules: a rounded name gives its reported value."""

    def __init__(self, env: Mapping[str, Any]) -> None:
        self.env = env

    def __getitem__(self, key: str) -> Any:
        value = self.env[key]
        rounded = getattr(self.env, "reported", {})
        return _as_reported(rounded.get(key, value))

    def __iter__(self) -> Iterator[str]:
        return iter(self.env)

    def __len__(self) -> int:
        return len(self.env)


def _as_reported(value: Any) -> Any:
    if isinstance(value, Mapping):
        return _Reported(value)
    if isinstance(value, list):
        return [_as_reported(v) for v in value]
    return value


def _reported_chain(chain: ChainMap) -> ChainMap:
    # read-only views: a ChainMap only reads its maps here (typeshed asks for mutable ones)
    return ChainMap(*(cast(MutableMapping[str, Any], _Reported(m)) for m in chain.maps))


def compute(
    defn: FormDefinition,
    data: dict[str, Any] | None,
    catalogue: Any = None,
    context: dict[str, Any] | None = None,
) -> ComputeResult:
    """Fill in computed values of ``data`` (a deep copy), item results and conclusions."""
    root, problems = build(defn, catalogue)
    if problems:
        raise DefinitionInvalid(problems)
    run = _Run(defn, catalogue, context or {})
    out = copy.deepcopy(data) if data else {}
    base = {name: to_value(run.context.get(name)) for name in defn.context_names}
    run.scope(root, out, _Env(), ChainMap(base), "", (), True)
    conclusions = [it.conclusion for it in run.items if it.conclusion is not _NO_RULE]
    overall = _overall(conclusions) if conclusions else None
    for target, key, _entry in run.deferred:
        target[key] = overall
    result = ComputeResult(
        out, [i for i in run.items], overall, run.problems, run.hidden, run.values
    )
    for item in result.items:
        if item.conclusion is _NO_RULE:
            item.conclusion = None
    return result


_NO_RULE: Any = object()  # an item without a conclusion rule (informational)


def _overall(conclusions: list[str | None]) -> str | None:
    from metrolab.engine.conformity import overall

    return overall(conclusions)


class _Run:
    def __init__(self, defn: FormDefinition, catalogue: Any, context: dict[str, Any]) -> None:
        self.defn = defn
        self.catalogue = catalogue
        self.context = context
        self.items: list[ItemResult] = []
        self.problems: list[FieldProblem] = []
        self.hidden: set[str] = set()
        self.deferred: list[tuple[dict[str, Any], str, Entry]] = []
        self.values: dict[str, ComputedValue] = {}

    # -- expressions ----------------------------------------------------------------------

    def evaluate(self, source: str, env: ChainMap, path: str, labels: Labels, label: Any) -> Any:
        error = _expr.error_type()
        try:
            return _expr.evaluate(_expr.compile_expression(source), env)
        except error as exc:
            self.problems.append(
                problem(
                    path,
                    labels,
                    label,
                    f"无法计算：{exc}",
                    f"cannot compute: {exc}",
                    code="runtime",
                )
            )
            return None

    def visible(self, entry: Entry, env: ChainMap, path: str, labels: Labels) -> bool:
        for source, _ in entry.conds:
            if not self.evaluate(source, env, path, labels, entry.node.get("label")):
                return False
        return True

    # -- scopes ---------------------------------------------------------------------------

    def scope(
        self,
        scope: Scope,
        data: dict[str, Any],
        env: dict[str, Any],
        outer: ChainMap,
        prefix: str,
        labels: Labels,
        visible: bool,
    ) -> None:
        chain = ChainMap(env, *outer.maps)
        for key in order(scope):
            entry = scope.entries[key]
            path = prefix + key
            shown = visible and self.visible(entry, chain, path, labels)
            if not shown:
                self.hidden.add(path)
                env[key] = None
                if entry.kind == "computed":
                    data.pop(key, None)
                continue
            getattr(self, "do_" + entry.kind)(entry, data, env, chain, path, labels)

    def do_field(
        self,
        entry: Entry,
        data: dict[str, Any],
        env: _Env,
        chain: ChainMap,
        path: str,
        labels: Labels,
    ) -> None:
        env[entry.key] = field_value(entry.node, data.get(entry.key))

    def do_computed(
        self,
        entry: Entry,
        data: dict[str, Any],
        env: _Env,
        chain: ChainMap,
        path: str,
        labels: Labels,
    ) -> None:
        node = entry.node
        value = self.evaluate(node["expression"], chain, path, labels, node.get("label"))
        data[entry.key] = self.keep(
            env, entry.key, value, node.get("round"), path, labels, node.get("label")
        )

    def keep(
        self,
        env: _Env,
        key: str,
        exact: Any,
        step: str | None,
        path: str,
        labels: Labels,
        label: Any,
    ) -> Any:
        """Round once: ``env`` keeps ``exact`` for later expressions, the reported value goes to
        conformity rules and the stored data (returned as text)."""
        reported = exact
        if step and exact is not None:
            reported = self.round(exact, step, path, labels, label)
            if reported is None:  # the step could not be applied (already a problem)
                exact = None
            env.reported[key] = reported
        env[key] = exact
        self.values[path] = ComputedValue(exact, reported)
        return to_text(reported)

    def round(self, value: Any, step: str, path: str, labels: Labels, label: Any) -> Any:
        from metrolab.engine.rounding import round_gb

        if not isinstance(value, Decimal):
            return value
        try:
            return round_gb(value, step)
        except ValueError as exc:
            self.problems.append(
                problem(path, labels, label, f"无法修约：{exc}", "cannot round", code="runtime")
            )
            return None

    def do_table(
        self,
        entry: Entry,
        data: dict[str, Any],
        env: _Env,
        chain: ChainMap,
        path: str,
        labels: Labels,
    ) -> None:
        inner = entry.inner
        assert inner is not None
        rows = data.get(entry.key)
        if not isinstance(rows, list):
            rows = []
        want = len(inner.fixed_rows)
        if inner.rows_param:
            count = chain.get(inner.rows_param)
            if (
                isinstance(count, Decimal)
                and count == count.to_integral_value()
                and 0 < count <= 1000
            ):
                want = int(count)
                del rows[want:]
        want = max(want, entry.node.get("min_rows" if entry.kind == "table" else "min", 0))
        while len(rows) < want:
            rows.append({})
        rows = [r if isinstance(r, dict) else {} for r in rows]
        data[entry.key] = rows
        row_envs = []
        for i, row in enumerate(rows):
            fixed = inner.fixed_rows[i] if i < len(inner.fixed_rows) else {}
            for k, v in fixed.items():
                row.setdefault(k, v)
            row_env = _Env({k: to_value(v) for k, v in fixed.items()})
            self.scope(
                inner,
                row,
                row_env,
                chain,
                f"{path}.{i}.",
                labels + (row_label(entry.node, i),),
                True,
            )
            row_envs.append(row_env)
        env[entry.key] = row_envs

    def do_group(
        self,
        entry: Entry,
        data: dict[str, Any],
        env: _Env,
        chain: ChainMap,
        path: str,
        labels: Labels,
    ) -> None:
        inner = entry.inner
        assert inner is not None
        if entry.repeat:
            self.do_table(entry, data, env, chain, path, labels)
            return
        sub = data.get(entry.key)
        if not isinstance(sub, dict):
            sub = data[entry.key] = {}
        sub_env = _Env()
        self.scope(inner, sub, sub_env, chain, f"{path}.", labels, True)
        env[entry.key] = sub_env

    def do_environment(
        self,
        entry: Entry,
        data: dict[str, Any],
        env: _Env,
        chain: ChainMap,
        path: str,
        labels: Labels,
    ) -> None:
        sub = data.get(entry.key)
        sub = sub if isinstance(sub, dict) else {}
        values = {}
        limits = self.context.get("environment")
        if limits is None:
            itype = type_for(None, self.defn, self.catalogue)
            limits = (itype or {}).get("environment") or {}
        severity = "error" if limits.get("mode", "error") == "error" else "warning"
        for name in entry.node.get("fields", list(ENV_LABELS)):
            value = parse_number(sub.get(name))
            value = value if isinstance(value, Decimal) else None
            values[name] = value
            bounds = limits.get(name)
            if value is None or not bounds or len(bounds) != 2:
                continue
            low, high = (to_value(b) for b in bounds)
            if (low is not None and value < low) or (high is not None and value > high):
                label, unit = ENV_LABELS[name]
                self.problems.append(
                    problem(
                        f"{path}.{name}",
                        labels,
                        label,
                        f"{text_of(label)} {value} {unit} 超出允许范围 {bounds[0]}～{bounds[1]} {unit}",
                        f"{text_of(label, 'en')} {value} {unit} outside {bounds[0]}–{bounds[1]} {unit}",
                        severity=severity,
                        code="limit",
                    )
                )
        env[entry.key] = values

    def do_conclusion(
        self,
        entry: Entry,
        data: dict[str, Any],
        env: _Env,
        chain: ChainMap,
        path: str,
        labels: Labels,
    ) -> None:
        if entry.node.get("expression"):
            value = self.evaluate(  # a verdict: on the reported values
                entry.node["expression"],
                _reported_chain(chain),
                path,
                labels,
                entry.node.get("label"),
            )
            value = _conclusion_text(value)
            env[entry.key] = value
            data[entry.key] = value
            self.items.append(
                ItemResult(
                    path,
                    entry.key,
                    entry.node.get("label") or {},
                    *_label_pair(labels, entry.node.get("label")),
                    None,
                    value,
                )
            )
        else:
            env[entry.key] = None
            self.deferred.append((data, entry.key, entry))

    def do_indicator(
        self,
        entry: Entry,
        data: dict[str, Any],
        env: _Env,
        chain: ChainMap,
        path: str,
        labels: Labels,
    ) -> None:
        items_data = data.get(entry.key)
        if not isinstance(items_data, dict):
            items_data = data[entry.key] = {}
        items_env: dict[str, Any] = {}
        env[entry.key] = items_env  # later items may read earlier ones
        if entry.catalogue is None:
            return
        for spec in entry.items:
            self.item(spec, entry, items_data, items_env, chain, f"{path}.{spec.code}", labels)

    def item(
        self,
        spec: ItemSpec,
        entry: Entry,
        items_data: dict[str, Any],
        items_env: dict[str, Any],
        chain: ChainMap,
        path: str,
        labels: Labels,
    ) -> None:
        item = spec.item
        name = item.get("name") or {"zh": spec.code, "en": spec.code}
        idata = items_data.get(spec.code)
        if not isinstance(idata, dict):
            idata = items_data[spec.code] = {}
        points = idata.get("points")
        if not isinstance(points, list):
            points = []
        points = points[: len(spec.points)] + [{} for _ in range(len(spec.points) - len(points))]
        points = [p if isinstance(p, dict) else {} for p in points]
        idata["points"] = points
        base = {
            "mpe": to_value(item.get("mpe")),
            "unit": item.get("unit"),
            "resolution": to_value(item.get("resolution")),
            "item": spec.code,
        }
        ilabels = labels + ((text_of(name, "zh"), text_of(name, "en")),)
        point_envs = []
        for j, (point, pdata) in enumerate(zip(spec.points, points, strict=True)):
            pdata["point"] = point.get("code")
            penv = _Env({k: to_value(v) for k, v in (point.get("params") or {}).items()})
            penv.update(base, point=point.get("code"))
            plabel = point.get("label") or {
                "zh": point.get("code", ""),
                "en": point.get("code", ""),
            }
            self.scope(
                spec.point_scope,
                pdata,
                penv,
                chain,
                f"{path}.points.{j}.",
                ilabels + ((text_of(plabel, "zh"), text_of(plabel, "en")),),
                True,
            )
            point_envs.append(penv)
        ienv = _Env(base, points=point_envs, result=None, conclusion=None)
        items_env[spec.code] = ienv
        ichain = ChainMap(ienv, *chain.maps)
        result = None
        if spec.result:
            result = self.evaluate(
                spec.result[0], ichain, f"{path}.result", ilabels, {"zh": "结果", "en": "result"}
            )
        result_text = self.keep(
            ienv,
            "result",
            result,
            item.get("rounding"),
            f"{path}.result",
            ilabels,
            {"zh": "结果", "en": "result"},
        )
        idata["result"] = result_text
        conclusion = _NO_RULE
        if spec.conclusion:
            raw = self.evaluate(  # the verdict is on the reported result (and reported points)
                spec.conclusion[0],
                _reported_chain(ichain),
                f"{path}.conclusion",
                ilabels,
                {"zh": "结论", "en": "conclusion"},
            )
            conclusion = _conclusion_text(raw)
            if raw is not None and conclusion is None:
                self.problems.append(
                    problem(
                        f"{path}.conclusion",
                        ilabels,
                        {"zh": "结论", "en": "conclusion"},
                        f"结论规则的结果 “{raw}” 不是 合格/不合格/待定",
                        "conclusion rule gave an unknown value",
                        code="runtime",
                    )
                )
            ienv["conclusion"] = conclusion
            idata["conclusion"] = conclusion
        zh, en = _label_pair(labels, name)
        self.items.append(
            ItemResult(
                path,
                spec.code,
                name,
                zh,
                en,
                result_text,
                conclusion,
                item.get("unit"),
                None if item.get("mpe") is None else str(item.get("mpe")),
            )
        )


def _label_pair(labels: Labels, label: Any) -> tuple[str, str]:
    from metrolab.engine.forms.problems import full_label

    return full_label(labels, label)


def _conclusion_text(value: Any) -> str | None:
    if value is True:
        return PASS
    if value is False:
        return FAIL
    if value in (PASS, FAIL, UNDETERMINED):
        return value
    return None
