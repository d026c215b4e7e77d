"""Measurement uncertainty budgets as data (JJF 1059.1-2012; GUM, JCGM 100:2008), computed with GTC.

A budget definition (an indicator's ``uncertainty``) is plain data::

    {"model": "c_bar - c_s",                      # the measurement model, an expression
     "unit": "%CH₄",                              # optional: the unit of the result
     "inputs": [
        {"name": "c_bar", "label": {"zh": "示值平均值"}, "type": "A", "readings": "runs.c"},
        {"name": "c_s", "type": "B", "value": "c_std", "standard": true},
        {"name": "d_r", "type": "B", "value": "0", "distribution": "rectangular",
         "half_width": "resolution / 2"}],
     "coverage": {"k": "2"}                       # or {"p": "95"}: k from ν_eff (Welch–Satterthwaite)
     "certificate": true}                         # print U (k) beside the result

An input is evaluated in the test point's names (the record's values, the point's parameters):

* Type A: ``readings`` (an expression giving the repeated readings: mean, s/√n, ν = n − 1), or
  ``value`` + ``u`` (+ ``dof``; an earlier evaluation, e.g. a pooled standard deviation);
* Type B: ``value`` (default 0) and one of ``u`` (a standard uncertainty), ``U`` + ``k`` (a
  certificate), ``half_width`` with a ``distribution`` (rectangular a/√3, triangular a/√6,
  arcsine a/√2), or ``standard`` (the U, k of the record's standard's certificate: ``true`` for the
  only one that states them, or the ``quantity`` it states); ``dof`` optional (default ∞).

The model is evaluated with GTC ``ureal``s (first-order propagation: sensitivity coefficients,
components, Welch–Satterthwaite ν_eff); the reported figures are ``Decimal``: U to two significant
digits (JJF 1059.1-2012 §5.4.2, GB/T 8170 rounding once), the estimate to U's last digit, ν_eff
truncated to an integer before k is looked up (GUM G.6.4), k to 0.01; U = k · u_c with u_c to
three significant digits (one more than reported: GUM H.1.6 2.92 × 31.7 nm = 93 nm).
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from metrolab.engine.expressions import ExpressionError, compile_expression, evaluate
from metrolab.engine.rounding import round_gb

__all__ = [
    "Component",
    "Budget",
    "check_budget",
    "evaluate_budget",
    "significant",
    "DISTRIBUTIONS",
]

DISTRIBUTIONS = {"normal": None, "rectangular": 3, "triangular": 6, "arcsine": 2}
DISTRIBUTION_ZH = {
    "normal": "正态分布",
    "rectangular": "均匀（矩形）分布",
    "triangular": "三角分布",
    "arcsine": "反正弦分布",
}
INPUT_KEYS = {
    "name",
    "label",
    "type",
    "value",
    "readings",
    "u",
    "U",
    "k",
    "dof",
    "half_width",
    "distribution",
    "standard",
}
BUDGET_KEYS = {"model", "unit", "inputs", "coverage", "certificate"}
MODEL_FUNCTIONS = {"sqrt"}  # of the expression language's functions, those GTC has for ureals
_IDENT = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


@dataclass
class Component:
    """One row of the budget table."""

    name: str
    label: str
    kind: str  # "A" | "B"
    how: str  # 中文: how u was evaluated ("3 次重复测量", "证书 U = 2 %，k = 2", "均匀分布 a = 0.005")
    value: Decimal
    u: Decimal
    c: Decimal  # sensitivity coefficient ∂f/∂x
    contribution: Decimal  # |c| · u
    dof: Decimal | None  # None = ∞


@dataclass
class Budget:
    components: list[Component] = field(default_factory=list)
    y: Decimal | None = None  # the estimate (exact)
    u_c: Decimal | None = None
    nu_eff: int | None = None  # None = ∞
    k: Decimal | None = None
    U: Decimal | None = None  # reported: two significant digits
    y_reported: Decimal | None = None  # rounded to U's last digit
    unit: str = ""
    p: Decimal | None = None  # coverage probability (%) when k comes from ν_eff
    problem: str | None = None  # 中文: why no budget could be computed

    @property
    def u_c_reported(self) -> Decimal | None:
        return None if self.u_c is None else significant(self.u_c)

    def as_dict(self) -> dict[str, Any]:
        """The shape certificates (and the DCC) read: ``{"U", "k", "unit"}`` as decimal text."""
        return {"U": _plain(self.U), "k": _plain(self.k), "unit": self.unit}

    def table(self) -> dict[str, Any]:
        """The budget as text for a page: rows (输入量, 类型, 标准不确定度, 灵敏系数, 贡献, 自由度)."""
        return {
            "rows": [
                {
                    "name": c.name,
                    "label": c.label,
                    "kind": c.kind,
                    "how": c.how,
                    "value": _estimate(c.value),
                    "u": _short(c.u),
                    "c": _short(c.c),
                    "contribution": _short(c.contribution),
                    "dof": "∞" if c.dof is None else _short(c.dof),
                }
                for c in self.components
            ],
            "y": _plain(self.y_reported),
            "u_c": _plain(self.u_c_reported),
            "nu_eff": "∞" if self.nu_eff is None else str(self.nu_eff),
            "k": _plain(self.k),
            "p": _plain(self.p),
            "U": _plain(self.U),
            "unit": self.unit,
            "problem": self.problem or "",
        }


def _plain(d: Decimal | None) -> str:
    return "" if d is None else format(d, "f")


def _short(x: Decimal, digits: int = 3) -> str:
    """A budget figure shown to a few significant digits (display only): 0.00577 → "0.00577"."""
    if x == 0:
        return "0"
    shown = significant(x, digits)
    return format(shown.normalize(), "f") if abs(shown.adjusted()) < 7 else format(shown, "E")


def _estimate(x: Decimal) -> str:
    """An input's estimate as given (50000623, 0.0000115), a mean to six significant digits."""
    if len(x.as_tuple().digits) <= 10:
        return format(x, "f")
    return _short(x, 6)


def _dec(x: float | Decimal) -> Decimal:
    return x if isinstance(x, Decimal) else Decimal(repr(float(x)))


def significant(x: Decimal, digits: int = 2) -> Decimal:
    """``x`` rounded once (GB/T 8170) to ``digits`` significant digits: 31.67 → 32, 0.01653 → 0.017."""
    if x == 0:
        return x
    step = Decimal(1).scaleb(x.adjusted() - digits + 1)
    rounded = round_gb(x, step)
    assert rounded is not None
    if rounded.adjusted() > x.adjusted():  # 9.96 → 10: still two significant digits
        rounded = round_gb(x, step * 10) or rounded
    return rounded


# ── checking a definition (when an instrument type is loaded) ──────────────────────────────────


def _check_expression(source: Any, where: str, problems: dict[str, str], key: str) -> None:
    if not isinstance(source, str | int) or isinstance(source, bool) or str(source).strip() == "":
        problems[key] = f"{where}应为表达式或数值"
        return
    try:
        compile_expression(str(source))
    except ExpressionError as exc:
        problems[key] = f"{where}有误：{exc}"


def _model_problem(source: str, names: set[str]) -> str | None:
    """The model may use + − × ÷, integer powers, numbers, names and sqrt."""
    try:
        tree = compile_expression(source).tree
    except ExpressionError as exc:
        return str(exc)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            if not (isinstance(node.func, ast.Name) and node.func.id in MODEL_FUNCTIONS):
                return "测量模型只能调用 " + "、".join(sorted(MODEL_FUNCTIONS))
        elif isinstance(node, ast.Attribute | ast.Subscript | ast.Compare | ast.BoolOp):
            return "测量模型只能含四则运算、乘方、数值和名称（不能取字段、比较或判断）"
        elif isinstance(node, ast.IfExp | ast.List | ast.Tuple):
            return "测量模型只能含四则运算、乘方、数值和名称"
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id not in MODEL_FUNCTIONS}
    if not used & names:
        return "测量模型没有用到任何输入量"
    return None


def check_budget(defn: Any, place: str, key: str) -> dict[str, str]:
    """Problems of a budget definition, ``{key…: 中文 message naming the place}``."""
    problems: dict[str, str] = {}
    where = f"{place}的不确定度评定"
    if not isinstance(defn, dict):
        return {key: f"{where}应为 JSON 对象"}
    unknown = sorted(set(defn) - BUDGET_KEYS)
    if unknown:
        problems[key] = f"{where}：未知字段 {'、'.join(unknown)}"
    inputs = defn.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        problems[f"{key}.inputs"] = f"{where}：至少需要一个输入量（inputs）"
        inputs = []
    names: set[str] = set()
    for j, inp in enumerate(inputs):
        ikey, here = f"{key}.inputs.{j}", f"{where} 输入量 {j + 1}"
        if not isinstance(inp, dict):
            problems[ikey] = f"{here}应为 JSON 对象"
            continue
        name = inp.get("name")
        if isinstance(name, str) and name:
            here += f"「{name}」"
        bad = sorted(set(inp) - INPUT_KEYS)
        if bad:
            problems[ikey] = f"{here}：未知字段 {'、'.join(bad)}"
        if not isinstance(name, str) or not _IDENT.match(name):
            problems[f"{ikey}.name"] = f"{here}：名称应以字母开头，只含字母、数字和下划线"
        elif name in names:
            problems[f"{ikey}.name"] = f"{here}：名称“{name}”重复"
        else:
            names.add(name)
        kind = inp.get("type")
        if kind not in ("A", "B"):
            problems[f"{ikey}.type"] = f"{here}：类型应为 A 或 B"
            continue
        for k in ("value", "readings", "u", "U", "k", "dof", "half_width"):
            if k in inp:
                _check_expression(inp[k], f"{here}的 {k}", problems, f"{ikey}.{k}")
        dist = inp.get("distribution", "normal")
        if dist not in DISTRIBUTIONS:
            problems[f"{ikey}.distribution"] = (
                f"{here}：分布应为 {'、'.join(DISTRIBUTIONS)} 之一，不是“{dist}”"
            )
        if kind == "A":
            if "readings" not in inp and not ("u" in inp and "value" in inp):
                problems[f"{ikey}.readings"] = (
                    f"{here}：A 类评定须给出重复测量的读数（readings，如 runs.c），"
                    "或给出 value 和 u（以前评定的合并样本标准差，dof 可选）"
                )
            continue
        ways = [
            w
            for w, present in (
                ("u", "u" in inp),
                ("U、k", "U" in inp or "k" in inp),
                ("half_width", "half_width" in inp),
                ("standard", "standard" in inp),
            )
            if present
        ]
        if len(ways) != 1:
            problems[f"{ikey}.u"] = (
                f"{here}：B 类评定须且只须给出一种：u、U 和 k、half_width（半宽）或 standard（标准器证书）"
                + (f"，现在给了 {'、'.join(ways)}" if ways else "")
            )
        elif ways == ["U、k"] and not ("U" in inp and "k" in inp):
            problems[f"{ikey}.k"] = f"{here}：U 和 k 须同时给出"
        elif ways == ["half_width"] and dist == "normal":
            problems[f"{ikey}.distribution"] = (
                f"{here}：给出半宽时须写明分布（rectangular、triangular 或 arcsine）"
            )
        std = inp.get("standard")
        if "standard" in inp and not (std is True or (isinstance(std, str) and std.strip())):
            problems[f"{ikey}.standard"] = f"{here}：standard 应为 true 或标准器证书所载的被测量"
    model = defn.get("model")
    if not isinstance(model, str) or not model.strip():
        problems[f"{key}.model"] = f"{where}：须给出测量模型（model，如 c_bar - c_s）"
    elif problem := _model_problem(model, names):
        problems[f"{key}.model"] = f"{where}：测量模型有误：{problem}"
    coverage = defn.get("coverage", {"k": "2"})
    if not isinstance(coverage, dict) or len(coverage) != 1 or not set(coverage) <= {"k", "p"}:
        problems[f"{key}.coverage"] = (
            f'{where}：包含因子应写成 {{"k": "2"}} 或 {{"p": "95"}}（由有效自由度求 k）'
        )
    else:
        ((which, value),) = coverage.items()
        number = _number(value)
        if number is None or number <= 0 or (which == "p" and not 50 <= number < 100):
            problems[f"{key}.coverage"] = (
                f"{where}：包含因子 k 应为正数"
                if which == "k"
                else f"{where}：包含概率 p 应在 50～99.99 之间（%）"
            )
    if "certificate" in defn and not isinstance(defn["certificate"], bool):
        problems[f"{key}.certificate"] = f"{where}：certificate 应为 true 或 false"
    if "unit" in defn and defn["unit"] is not None and not isinstance(defn["unit"], str):
        problems[f"{key}.unit"] = f"{where}：单位应为文字"
    return problems


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        d = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return d if d.is_finite() else None


# ── evaluation ───────────────────────────────────────────────────────────────────────────────


class _Missing(ValueError):
    pass


def _eval_number(source: Any, env: Mapping[str, Any], what: str) -> Decimal:
    value = evaluate(str(source), env)
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise _Missing(f"{what}没有数值")
    return Decimal(value)


def _calibration(std: dict[str, Any]) -> dict[str, Any]:
    cal = std.get("calibration")
    return cal if isinstance(cal, dict) and cal.get("U") not in (None, "") else {}


def _standard_for(selector: Any, standards: list[dict[str, Any]], here: str) -> dict[str, Any]:
    stated = [s for s in standards if _calibration(s)]
    if isinstance(selector, str):
        stated = [s for s in stated if str(_calibration(s).get("quantity") or "") == selector]
    if len(stated) == 1:
        return stated[0]
    which = f"被测量为“{selector}”且" if isinstance(selector, str) else ""
    if not stated:
        raise _Missing(f"{here}：记录所用的标准器中没有{which}给出证书 U 和 k 的")
    raise _Missing(
        f"{here}：记录所用的标准器中有多个{which}给出证书 U 和 k，请在输入量中写明被测量"
    )


def _label(inp: dict[str, Any]) -> str:
    label = inp.get("label")
    if isinstance(label, dict):
        return str(label.get("zh") or label.get("en") or inp["name"])
    return str(label or inp["name"])


def _input(
    inp: dict[str, Any], env: Mapping[str, Any], standards: list[dict[str, Any]]
) -> tuple[Decimal, Decimal, Decimal | None, str]:
    """(value, u, dof or None = ∞, how) of one input quantity."""
    name = _label(inp)
    dof: Decimal | None = _eval_number(inp["dof"], env, f"{name}的自由度") if "dof" in inp else None
    if inp["type"] == "A" and "readings" in inp:
        raw = evaluate(str(inp["readings"]), env)
        readings = [r for r in (raw if isinstance(raw, list) else []) if isinstance(r, Decimal)]
        if len(readings) < 2:
            raise _Missing(f"{name}：重复测量的读数不足 2 个")
        n = len(readings)
        mean = sum(readings, Decimal(0)) / n
        s = (sum(((r - mean) ** 2 for r in readings), Decimal(0)) / (n - 1)).sqrt()
        return mean, s / Decimal(n).sqrt(), Decimal(n - 1), f"{n} 次重复测量，s = {significant(s)}"
    value = _eval_number(inp.get("value", "0"), env, f"{name}的值")
    dist = inp.get("distribution", "normal")
    if "u" in inp:
        return value, abs(_eval_number(inp["u"], env, f"{name}的 u")), dof, "给定标准不确定度"
    if "half_width" in inp:
        a = abs(_eval_number(inp["half_width"], env, f"{name}的半宽"))
        return (
            value,
            a / Decimal(DISTRIBUTIONS[dist] or 1).sqrt(),
            dof,
            f"{DISTRIBUTION_ZH[dist]}，半宽 a = {a.normalize():f}",
        )
    if "U" in inp:
        big, k = (
            _eval_number(inp["U"], env, f"{name}的 U"),
            _eval_number(inp["k"], env, f"{name}的 k"),
        )
        return value, abs(big) / k, dof, f"U = {big:f}，k = {k:f}"
    std = _standard_for(inp.get("standard"), standards, name)
    cal = _calibration(std)
    stated_u, k = _number(cal.get("U")), _number(cal.get("k")) or Decimal(2)
    if stated_u is None or k <= 0:
        raise _Missing(f"{name}：标准器 {std.get('code', '')} 的证书 U、k 不是数值")
    big = stated_u
    if cal.get("dof") not in (None, "") and dof is None:
        dof = _number(cal.get("dof"))
    relative = bool(cal.get("relative"))
    u = abs(big) * abs(value) / 100 / k if relative else abs(big) / k
    stated = f"U_rel = {big:f} %" if relative else f"U = {big:f} {cal.get('unit') or ''}".rstrip()
    return value, u, dof, f"标准器 {std.get('code', '')} 证书：{stated}，k = {k:f}"


def _model_value(node: ast.AST, names: Mapping[str, Any]) -> Any:
    """The model over GTC ureals (and floats for the record's other names)."""
    import GTC

    if isinstance(node, ast.Expression):
        return _model_value(node.body, names)
    if isinstance(node, ast.Constant):
        return float(str(node.value))
    if isinstance(node, ast.Name):
        if node.id not in names:
            raise _Missing(f"测量模型中的“{node.id}”没有数值")
        return names[node.id]
    if isinstance(node, ast.UnaryOp):
        v = _model_value(node.operand, names)
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.BinOp):
        a, b = _model_value(node.left, names), _model_value(node.right, names)
        ops = {ast.Add: lambda: a + b, ast.Sub: lambda: a - b, ast.Mult: lambda: a * b}
        if type(node.op) in ops:
            return ops[type(node.op)]()
        if isinstance(node.op, ast.Div):
            if b == 0:
                raise _Missing("测量模型中除数为零")
            return a / b
        if isinstance(node.op, ast.Pow):
            return a**b
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in MODEL_FUNCTIONS
    ):
        return getattr(GTC, node.func.id)(*(_model_value(a, names) for a in node.args))
    raise _Missing("测量模型含不支持的运算")


def evaluate_budget(
    defn: dict[str, Any], env: Mapping[str, Any], standards: list[dict[str, Any]] | None = None
) -> Budget:
    """The budget of one test point; ``Budget.problem`` says why when it cannot be computed
    (a blank reading, no certificate U of the standard): never an exception for missing data."""
    import GTC
    from GTC import reporting

    budget = Budget(unit=str(defn.get("unit") or env.get("unit") or ""))
    ureals: dict[str, Any] = {}
    rows: list[tuple[dict[str, Any], Decimal, Decimal, Decimal | None, str]] = []
    try:
        for inp in defn["inputs"]:
            value, u, dof, how = _input(inp, env, standards or [])
            df = math.inf if dof is None else float(dof)
            ureals[inp["name"]] = GTC.ureal(float(value), float(u), df, label=inp["name"])
            rows.append((inp, value, u, dof, how))
        names: dict[str, Any] = {}
        tree = compile_expression(defn["model"]).tree
        for n in ast.walk(tree):
            if isinstance(n, ast.Name) and n.id not in ureals and n.id not in MODEL_FUNCTIONS:
                v = env.get(n.id)
                if isinstance(v, bool) or not isinstance(v, Decimal | int):
                    raise _Missing(f"测量模型中的“{n.id}”没有数值")
                names[n.id] = float(v)
        y = _model_value(tree, {**names, **ureals})
    except (_Missing, ExpressionError, ArithmeticError, TypeError, ValueError) as exc:
        budget.problem = str(exc)
        return budget
    if not hasattr(y, "u"):
        budget.problem = "测量模型的值与输入量无关"
        return budget
    for inp, value, u, dof, how in rows:
        c = _dec(reporting.sensitivity(y, ureals[inp["name"]]))
        budget.components.append(
            Component(
                name=inp["name"],
                label=_label(inp),
                kind=inp["type"],
                how=how,
                value=value,
                u=u,
                c=c,
                contribution=abs(c) * u,
                dof=dof,
            )
        )
    budget.y = _dec(y.x)
    budget.u_c = _dec(y.u)
    df = y.df
    budget.nu_eff = None if math.isinf(df) or math.isnan(df) else int(df)  # truncated (GUM G.6.4)
    coverage = defn.get("coverage") or {"k": "2"}
    if "k" in coverage:
        budget.k = Decimal(str(coverage["k"]))
    else:
        budget.p = Decimal(str(coverage["p"]))
        nu = math.inf if budget.nu_eff is None else max(budget.nu_eff, 1)
        budget.k = round_gb(_dec(reporting.k_factor(nu, float(budget.p))), "0.01")
    assert budget.k is not None
    if budget.u_c == 0:
        budget.U = Decimal(0)
        budget.y_reported = budget.y
        return budget
    # U = k · u_c with u_c kept to one digit more than it is reported (three significant digits,
    # so no rounding error is carried: GUM 7.2.6), then U rounded once to two significant digits:
    # GUM H.1.6 2.92 × 31.7 nm → 93 nm, EA-4/02 S2 2 × 29.3 mg → 59 mg.
    budget.U = significant(budget.k * significant(budget.u_c, 3))
    budget.y_reported = round_gb(budget.y, Decimal(1).scaleb(budget.U.adjusted() - 1))
    return budget
