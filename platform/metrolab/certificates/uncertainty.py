"""Uncertainty on a record and its certificate: each item's budget (``uncertainty`` in the
instrument type, see ``metrolab.engine.uncertainty``) evaluated per test point on the record's
values, and the type's decision rule (判定规则) applied to the reported results.

Decision rules (``decision_rule`` of the instrument type; blank = simple acceptance):

* ``simple`` — 简单接受: the conformity rule decides; U is reported, not used;
* ``jjf1094`` — JJF 1094-2002 §5.3: when U95 ≤ MPEV/3 the conformity rule decides; otherwise a
  point passes only when |e| ≤ MPEV − U95, fails when |e| ≥ MPEV + U95 and is 待定 between, and a
  note on the certificate says that U95 > MPEV/3;
* ``guard_band`` — ILAC-G8:09/2019 §4.2.2, guarded acceptance with w = U: a point passes only
  when |e| ≤ limit − U, else 不合格.

The quantity judged is the budget's estimate y (the model's value: an error of indication), and
the limit is the item's (its ``limit`` expression or its conformity rule's, per point when a list).
Pure functions: no database.
"""

from __future__ import annotations

from collections import ChainMap
from decimal import Decimal
from typing import Any

from metrolab.engine.conformity import FAIL, PASS, UNDETERMINED, overall
from metrolab.engine.rounding import round_gb
from metrolab.engine.uncertainty import Budget, evaluate_budget

RULES = {
    "simple": "简单接受（测得值在允许误差限内判合格，测量不确定度不参与判定）",
    "jjf1094": "JJF 1094-2002（U95 ≤ MPEV/3 时按最大允许误差判定；否则 |Δ| ≤ MPEV − U95 判合格，"
    "|Δ| ≥ MPEV + U95 判不合格，其间为待定）",
    "guard_band": "ILAC-G8:09/2019 保护带（w = U：测得值在“允许误差限 − U”以内判合格，否则不合格）",
}


def rule_of(instrument_type: dict[str, Any]) -> str:
    return str(instrument_type.get("decision_rule") or "simple")


def rule_text(instrument_type: dict[str, Any]) -> str:
    """The sentence printed on a certificate: "判定规则：…"; "" for a type without budgets."""
    budgets = any(i.get("uncertainty") for i in instrument_type.get("items") or [])
    if not budgets and not instrument_type.get("decision_rule"):
        return ""
    return f"判定规则：{RULES[rule_of(instrument_type)]}"


def _point_label(spec: dict[str, Any], code: Any, j: int) -> str:
    for p in spec.get("points") or []:
        if p.get("code") == code:
            label = p.get("label") or {}
            return str(label.get("zh") if isinstance(label, dict) else label) or str(code)
    return str(code or f"第{j + 1}点")


def item_budgets(
    env: ChainMap | None, spec: dict[str, Any], standards: list[dict[str, Any]]
) -> list[tuple[str, str, Budget]]:
    """(point code, point label, budget) per test point of one item (one budget for an item
    without points, in the item's names)."""
    defn = spec.get("uncertainty")
    if not isinstance(defn, dict) or env is None:
        return []
    points = env.get("points") or []
    if not points:
        return [("", "", evaluate_budget(defn, env, standards))]
    return [
        (
            str(p.get("point") or ""),
            _point_label(spec, p.get("point"), j),
            evaluate_budget(defn, ChainMap(p, env), standards),
        )
        for j, p in enumerate(points)
        if isinstance(p, dict)
    ]


def _limits(spec: dict[str, Any], env: ChainMap, n: int) -> tuple[str, list[Decimal | None]]:
    from metrolab.certificates.results import _bound_of, _evaluate, _number

    bound, source = _bound_of(spec.get("conformity")) or ("±", None)
    if spec.get("limit"):
        source = spec["limit"]
    value = _evaluate(source, env) if source else None
    if isinstance(value, list):
        limits = [_number(v) for v in value]
        return bound, limits if len(limits) == n else [None] * n
    return bound, [_number(value)] * n


def _verdict(rule: str, bound: str, y: Decimal, limit: Decimal, big_u: Decimal) -> str | None:
    """One point's verdict under the rule (None: the rule leaves it to the conformity rule)."""
    if bound not in ("±", "≤", "<"):
        return None
    e = abs(y) if bound == "±" else y
    if rule == "guard_band":
        return PASS if e <= limit - big_u else FAIL
    if rule == "jjf1094" and big_u * 3 > limit:
        if e <= limit - big_u:
            return PASS
        return FAIL if e >= limit + big_u else UNDETERMINED
    return None


def decide(
    instrument_type: dict[str, Any],
    spec: dict[str, Any],
    env: ChainMap | None,
    budgets: list[tuple[str, str, Budget]],
    conclusion: str | None,
) -> tuple[str | None, list[str]]:
    """(conclusion under the type's rule, notes for the certificate) of one item."""
    rule = rule_of(instrument_type)
    if (
        rule == "simple"
        or env is None
        or not budgets
        or conclusion not in (PASS, FAIL, UNDETERMINED)
    ):
        return conclusion, []
    bound, limits = _limits(spec, env, len(budgets))
    verdicts: list[str | None] = []
    notes: list[str] = []
    name = (spec.get("name") or {}).get("zh") or spec.get("code", "")
    for (_code, label, b), limit in zip(budgets, limits, strict=True):
        if limit is None or b.U is None or b.y is None:
            verdicts.append(None)
            continue
        y = round_gb(b.y, spec["rounding"]) if spec.get("rounding") else b.y
        assert y is not None
        verdicts.append(_verdict(rule, bound, y, limit, b.U))
        if rule == "jjf1094" and limit < b.U * 3:
            where = f"{name}（{label}）" if label else name
            notes.append(
                f"{where}：U95 = {b.U:f} {b.unit}".rstrip()
                + f" > MPEV/3 = {round_gb(limit / 3, Decimal(1).scaleb(b.U.adjusted() - 1))}，"
                "不满足 JJF 1094 的 U95 ≤ MPEV/3，已按 MPEV ± U95 判定"
            )
    if all(v is not None for v in verdicts):  # the rule judged every point: it decides alone
        return overall(verdicts), notes
    # some points are left to the conformity rule (U95 ≤ MPEV/3, or no budget): both must pass
    return overall([conclusion, *(v for v in verdicts if v is not None)]), notes


def uncertainty_entry(budgets: list[tuple[str, str, Budget]]) -> dict[str, Any] | None:
    """The certificate row's ``uncertainty`` ({"U", "k", "unit"}: the largest U of its points, the
    one that applies to the whole row), its per-point list and the text printed beside the result."""
    done = [(code, label, b) for code, label, b in budgets if b.U is not None]
    if not done or len(done) != len(budgets):
        return None
    code, label, worst = max(done, key=lambda t: t[2].U or 0)
    points = [{"point": c, "label": lab, **b.as_dict()} for c, lab, b in done]
    texts = [_u_text(b) for _, _, b in done]
    if len(set(texts)) == 1:
        text = texts[0]
    else:
        # one line a point: docxtpl prints "\n" as a line break in a cell
        text = "\n".join(f"{lab}：{t}" for (_, lab, _), t in zip(done, texts, strict=True))
    stated = worst.as_dict()
    if worst.p is not None:  # k from ν_eff at a coverage probability: the DCC states both
        stated["p"] = format(worst.p, "f")
    return {"uncertainty": stated, "uncertainty_points": points, "uncertainty_text": text}


def _u_text(b: Budget) -> str:
    unit = f" {b.unit}" if b.unit else ""
    return f"U = {b.U:f}{unit} (k = {b.k:f})"


def record_budgets(
    data: dict[str, Any], instrument_type: dict[str, Any], standards: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The budgets of a record, for its page: per item with a budget, per test point, the table
    (``Budget.table()``), and the item's conclusion under the type's decision rule."""
    from metrolab.certificates.results import _item_env, _walk_items, _zh

    catalogue = {i["code"]: i for i in instrument_type.get("items", [])}
    out = []
    for found in _walk_items(data, list(catalogue)):
        spec = catalogue[found["code"]]
        if not spec.get("uncertainty"):
            continue
        env = _item_env(data, found["path"], spec)
        budgets = item_budgets(env, spec, standards)
        conclusion = found.get("conclusion")
        decided, notes = decide(instrument_type, spec, env, budgets, conclusion)
        out.append(
            {
                "item": found["prefix"] + _zh(spec.get("name")),
                "path": found["path"],
                "points": [
                    {"point": code, "label": label, **b.table()} for code, label, b in budgets
                ],
                "conclusion": conclusion,
                "decided": decided,
                "notes": notes,
            }
        )
    return out


async def for_record(rec: dict[str, Any]) -> dict[str, Any] | None:
    """``record.uncertainty`` hook: the record page's 测量不确定度 section, or None."""
    from metrolab.certificates import catalogue

    instrument_type = await catalogue.instrument_type(str(rec.get("instrument_type") or ""))
    if not instrument_type or not any(i.get("uncertainty") for i in instrument_type["items"]):
        return None
    standards = await catalogue.standards([str(c) for c in rec.get("standards") or []])
    data = rec.get("data") or {}
    return {
        "rule": rule_text(instrument_type),
        "items": record_budgets(data, instrument_type, standards),
    }
