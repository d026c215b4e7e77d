"""A generic workflow engine: definitions are data, this module only decides.

A definition (JSON, ``"format": "metrolab.workflow/1"``) lists states and transitions; each
transition says from which states it starts, where it goes, which roles may take it, an optional
guard (a safe expression over the caller's context, see :mod:`metrolab.engine.expressions`), an
optional signature meaning, whether a reason is required, and named business ``rules``.

Rules are plug-ins: the business layer registers ``RULES["checker_not_verifier"] = func`` where
``func(context) -> str | None`` returns a refusal message (中文) or ``None``. A transition naming a
rule that is not registered is refused (fail closed), never silently allowed.

This module is pure logic. Persisting the state, locking, recording each transition and running
its ``effects`` (opaque names such as ``"assign_number"``) are the caller's job::

    t = check_transition(defn, obj.state, "approve", user.roles, ctx, reason=r, signed=True)
    obj.state = t.to   # t.to is resolved: a transition with "to": null stays where it is

Guards and rules see the caller's context plus ``state`` (the current state), ``action``,
``to_state`` and ``roles`` (the actor's roles), unless the context already defines them.
"""

from __future__ import annotations

import json
import re
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from metrolab.engine.expressions import (
    CompiledExpression,
    ExpressionError,
    check_names,
    compile_expression,
    evaluate,
)

__all__ = [
    "FORMAT",
    "RULES",
    "Rule",
    "State",
    "Transition",
    "WorkflowDefinition",
    "DefinitionError",
    "TransitionRefused",
    "register_rule",
    "load_definition",
    "load_file",
    "shipped_definitions",
    "available_actions",
    "action_status",
    "check_transition",
    "diagram_svg",
]

FORMAT = "metrolab.workflow/1"
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")

Rule = Callable[[Mapping[str, Any]], "str | tuple[str, str] | None"]
RULES: dict[str, Rule] = {}


def register_rule(name: str) -> Callable[[Rule], Rule]:
    """Decorator: ``@register_rule("checker_not_verifier")`` adds a rule to :data:`RULES`."""

    def add(func: Rule) -> Rule:
        RULES[name] = func
        return func

    return add


@dataclass(frozen=True)
class State:
    key: str
    label: Mapping[str, str]
    final: bool = False

    def text(self, lang: str = "zh") -> str:
        return _text(self.label, lang)


@dataclass(frozen=True)
class Transition:
    key: str
    sources: tuple[str, ...]  # "from" in JSON
    to: str | None  # None: the action is recorded but the state does not change
    label: Mapping[str, str]
    roles: tuple[str, ...] = ()
    guard: CompiledExpression | None = None
    guard_message: Mapping[str, str] = field(default_factory=dict)
    signature: str | None = None
    reason_required: bool = False
    rules: tuple[str, ...] = ()
    effects: tuple[str, ...] = ()

    def text(self, lang: str = "zh") -> str:
        return _text(self.label, lang)

    def target(self, state: str) -> str:
        return state if self.to is None else self.to


@dataclass(frozen=True)
class WorkflowDefinition:
    key: str
    version: int
    title: Mapping[str, str]
    initial: str
    states: Mapping[str, State]  # in definition order
    transitions: tuple[Transition, ...]
    roles: tuple[str, ...] = ()
    context: Mapping[str, str] = field(default_factory=dict)
    data: Mapping[str, Any] = field(default_factory=dict, repr=False)  # the JSON it came from

    def transition(self, key: str) -> Transition | None:
        return next((t for t in self.transitions if t.key == key), None)

    def transitions_from(self, state: str) -> list[Transition]:
        return [t for t in self.transitions if state in t.sources]


class DefinitionError(ValueError):
    """A workflow definition is invalid; ``errors`` lists every problem, each naming its place."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("工作流定义无效 (invalid workflow definition):\n" + "\n".join(errors))


class TransitionRefused(Exception):
    """An action may not be taken. ``http_status``: 404 unknown action, 409 wrong state or
    guard false, 403 role or rule refusal, 422 reason or signature missing, 500 a definition or
    rule problem. ``rule`` names the refusing rule when there is one."""

    def __init__(
        self,
        code: str,
        message_zh: str,
        message_en: str,
        http_status: int,
        *,
        action: str | None = None,
        rule: str | None = None,
    ) -> None:
        self.code = code
        self.message_zh = message_zh
        self.message_en = message_en
        self.http_status = http_status
        self.action = action
        self.rule = rule
        super().__init__(message_zh)

    def message(self, lang: str = "zh") -> str:
        return self.message_en if lang == "en" else self.message_zh


def _codes(codes: Iterable[str], lang: str) -> str:
    return ("、" if lang == "zh" else ", ").join(codes)


# How a refusal names roles. The engine knows only their codes; the app hands in the role table's
# names when it wires the features (features.wire), so a person reads 技术负责人, not tech_manager.
role_names: Callable[[Iterable[str], str], str] = _codes


def _text(label: Mapping[str, str], lang: str) -> str:
    return label.get(lang) or label.get("zh") or next(iter(label.values()), "")


# ---------------------------------------------------------------------------------------------
# Loading and validation

_TOP_KEYS = {
    "format",
    "key",
    "version",
    "title",
    "initial",
    "states",
    "transitions",
    "roles",
    "context",
    "description",
    "source",
}
_STATE_KEYS = {"key", "label", "final", "description"}
_TRANSITION_KEYS = {
    "key",
    "from",
    "to",
    "label",
    "roles",
    "guard",
    "guard_message",
    "signature",
    "reason_required",
    "rules",
    "effects",
    "description",
}


def load_definition(
    data: Mapping[str, Any] | str | bytes,
    *,
    known_rules: Iterable[str] | None = None,
    known_effects: Iterable[str] | None = None,
) -> WorkflowDefinition:
    """Validate and build a definition from parsed JSON (or JSON text).

    Raises :class:`DefinitionError` listing every problem, e.g.
    ``transitions[3].to: 未知状态 “chekcing”``. With ``known_rules`` / ``known_effects``, rule and effect
    names are checked too (a name nothing implements is refused at load, not ignored at run time).
    """
    if isinstance(data, (str, bytes)):
        try:
            data = json.loads(data)
        except ValueError as exc:
            raise DefinitionError([f"JSON 无法解析 (invalid JSON): {exc}"]) from None
    errors: list[str] = []
    if not isinstance(data, Mapping):
        raise DefinitionError(["定义必须是 JSON 对象 (definition must be an object)"])
    _unknown_keys(data, _TOP_KEYS, "", errors)
    if data.get("format") != FORMAT:
        errors.append(f"format: 应为 “{FORMAT}”，实际为 “{data.get('format')}”")
    key = data.get("key")
    if not isinstance(key, str) or not KEY_PATTERN.match(key):
        errors.append(f"key: 标识应为小写字母、数字和下划线：“{key}”")
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        errors.append(f"version: 版本号应为正整数：“{version}”")
    title = _label(data.get("title"), "title", errors)
    roles = _str_list(data.get("roles", []), "roles", errors)
    context = data.get("context", {})
    if not isinstance(context, Mapping) or not all(isinstance(k, str) for k in context):
        errors.append("context: 应为 {名称: 说明} 对象")
        context = {}

    states: dict[str, State] = {}
    raw_states = data.get("states")
    if not isinstance(raw_states, list) or not raw_states:
        errors.append("states: 至少需要一个状态 (at least one state)")
        raw_states = []
    for i, raw in enumerate(raw_states):
        place = f"states[{i}]"
        if not isinstance(raw, Mapping):
            errors.append(f"{place}: 应为对象")
            continue
        _unknown_keys(raw, _STATE_KEYS, place, errors)
        skey = raw.get("key")
        if not isinstance(skey, str) or not KEY_PATTERN.match(skey):
            errors.append(f"{place}.key: 标识应为小写字母、数字和下划线：“{skey}”")
            continue
        if skey in states:
            errors.append(f"{place}.key: 状态重复 “{skey}”")
            continue
        final = raw.get("final", False)
        if not isinstance(final, bool):
            errors.append(f"{place}.final: 应为 true 或 false")
        states[skey] = State(
            skey, _label(raw.get("label"), f"{place}.label", errors), final is True
        )

    initial = data.get("initial")
    if initial not in states:
        errors.append(f"initial: 未知状态 “{initial}”")

    transitions: list[Transition] = []
    raw_transitions = data.get("transitions")
    if not isinstance(raw_transitions, list):
        errors.append("transitions: 应为列表")
        raw_transitions = []
    seen: set[str] = set()
    rule_names = None if known_rules is None else set(known_rules)
    effect_names = None if known_effects is None else set(known_effects)
    for i, raw in enumerate(raw_transitions):
        transition = _transition(
            raw, f"transitions[{i}]", states, roles, context, rule_names, effect_names, errors
        )
        if transition is None:
            continue
        if transition.key in seen:
            errors.append(f"transitions[{i}].key: 动作重复 “{transition.key}”")
        seen.add(transition.key)
        transitions.append(transition)

    if initial in states:
        _check_graph(str(initial), states, transitions, errors)
    if errors:
        raise DefinitionError(errors)
    assert isinstance(version, int)  # checked above
    return WorkflowDefinition(
        key=str(key),
        version=version,
        title=title,
        initial=str(initial),
        states=states,
        transitions=tuple(transitions),
        roles=tuple(roles),
        context=dict(context),
        data=data,
    )


def _transition(
    raw: Any,
    place: str,
    states: Mapping[str, State],
    roles: list[str],
    context: Mapping[str, Any],
    rule_names: set[str] | None,
    effect_names: set[str] | None,
    errors: list[str],
) -> Transition | None:
    if not isinstance(raw, Mapping):
        errors.append(f"{place}: 应为对象")
        return None
    _unknown_keys(raw, _TRANSITION_KEYS, place, errors)
    tkey = raw.get("key")
    if not isinstance(tkey, str) or not KEY_PATTERN.match(tkey):
        errors.append(f"{place}.key: 标识应为小写字母、数字和下划线：“{tkey}”")
        return None
    sources = raw.get("from")
    if isinstance(sources, str):
        sources = [sources]
    if not isinstance(sources, list) or not sources:
        errors.append(f"{place}.from: 至少需要一个起始状态")
        sources = []
    for j, source in enumerate(sources):
        if source not in states:
            errors.append(f"{place}.from[{j}]: 未知状态 “{source}”")
    to = raw.get("to")
    if to is not None and to not in states:
        errors.append(f"{place}.to: 未知状态 “{to}”")
    t_roles = _str_list(raw.get("roles", []), f"{place}.roles", errors)
    if not t_roles:
        errors.append(f"{place}.roles: 至少需要一个角色 (at least one role)")
    for j, role in enumerate(t_roles):
        if roles and role not in roles:
            errors.append(f"{place}.roles[{j}]: 未知角色 “{role}”")
    guard = None
    if raw.get("guard") not in (None, ""):
        try:
            guard = compile_expression(raw["guard"])
            if context:
                check_names(guard, [*context, "state", "action", "to_state", "roles"])
        except ExpressionError as exc:
            errors.append(f"{place}.guard: {exc}")
    guard_message = raw.get("guard_message") or {}
    if guard_message:
        guard_message = _label(guard_message, f"{place}.guard_message", errors)
    signature = raw.get("signature")
    if signature is not None and (not isinstance(signature, str) or not signature.strip()):
        errors.append(f"{place}.signature: 应为签名含义文字（如 “核验”）或 null")
    reason_required = raw.get("reason_required", False)
    if not isinstance(reason_required, bool):
        errors.append(f"{place}.reason_required: 应为 true 或 false")
    rules = _str_list(raw.get("rules", []), f"{place}.rules", errors)
    for j, rule in enumerate(rules):
        if rule_names is not None and rule not in rule_names:
            errors.append(f"{place}.rules[{j}]: 未注册的规则 “{rule}”")
    effects = _str_list(raw.get("effects", []), f"{place}.effects", errors)
    for j, effect in enumerate(effects):
        if effect_names is not None and effect not in effect_names:
            errors.append(f"{place}.effects[{j}]: 未注册的效果 “{effect}”")
    return Transition(
        key=tkey,
        sources=tuple(s for s in sources if isinstance(s, str)),
        to=to if isinstance(to, str) else None,
        label=_label(raw.get("label"), f"{place}.label", errors),
        roles=tuple(t_roles),
        guard=guard,
        guard_message=guard_message,
        signature=signature,
        reason_required=reason_required is True,
        rules=tuple(rules),
        effects=tuple(effects),
    )


def _check_graph(
    initial: str, states: Mapping[str, State], transitions: list[Transition], errors: list[str]
) -> None:
    reached = {initial}
    queue = deque([initial])
    while queue:
        current = queue.popleft()
        for t in transitions:
            if current in t.sources and t.to is not None and t.to not in reached:
                reached.add(t.to)
                queue.append(t.to)
    for i, key in enumerate(states):
        if key not in reached:
            errors.append(f"states[{i}]: 状态 “{key}” 从初始状态 “{initial}” 不可达 (unreachable)")
        if not states[key].final and not any(
            key in t.sources and t.to not in (None, key) for t in transitions
        ):
            errors.append(f"states[{i}]: 非终止状态 “{key}” 没有离开的动作 (no way out)")


def _label(value: Any, place: str, errors: list[str]) -> dict[str, str]:
    if isinstance(value, str) and value.strip():
        return {"zh": value}
    if (
        not isinstance(value, Mapping)
        or not isinstance(value.get("zh"), str)
        or not value["zh"].strip()
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
    ):
        errors.append(f'{place}: 需要中文名称 {{"zh": …, "en": …}}')
        return {"zh": "?"}
    return dict(value)


def _str_list(value: Any, place: str, errors: list[str]) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        errors.append(f"{place}: 应为文字列表")
        return []
    return list(value)


def _unknown_keys(raw: Mapping[str, Any], allowed: set[str], place: str, errors: list[str]) -> None:
    for name in raw:
        if name not in allowed:
            errors.append(f"{place + '.' if place else ''}{name}: 未知的字段 (unknown field)")


def load_file(path: str | Path, *, known_rules: Iterable[str] | None = None) -> WorkflowDefinition:
    """Load one definition file; errors name the file."""
    path = Path(path)
    try:
        return load_definition(path.read_bytes(), known_rules=known_rules)
    except DefinitionError as exc:
        raise DefinitionError([f"{path.name}: {e}" for e in exc.errors]) from None


def shipped_definitions(folder: str | Path | None = None) -> dict[str, WorkflowDefinition]:
    """The definitions shipped in ``seed_data/workflows``, by key."""
    if folder is None:
        from metrolab.paths import data_folder

        folder = data_folder("seed_data") / "workflows"
    result: dict[str, WorkflowDefinition] = {}
    for path in sorted(Path(folder).glob("*.json")):
        defn = load_file(path)
        result[defn.key] = defn
    return result


# ---------------------------------------------------------------------------------------------
# Deciding


def _scope(
    defn: WorkflowDefinition,
    state: str,
    transition: Transition,
    roles: Iterable[str],
    context: Mapping[str, Any],
) -> dict[str, Any]:
    scope = {
        "state": state,
        "action": transition.key,
        "to_state": transition.target(state),
        "roles": sorted(roles),
    }
    scope.update(context)
    return scope


def check_transition(
    defn: WorkflowDefinition,
    state: str,
    action: str,
    roles: Iterable[str],
    context: Mapping[str, Any] | None = None,
    reason: str | None = None,
    signed: bool = False,
    *,
    rules: Mapping[str, Rule] | None = None,
) -> Transition:
    """Return the transition ``action`` from ``state`` (with ``to`` resolved) or raise
    :class:`TransitionRefused` saying why: state, role, guard, which rule, reason, signature."""
    transition = defn.transition(action)
    if transition is None:
        raise TransitionRefused(
            "unknown_action",
            f"未知的动作 “{action}”",
            f"unknown action “{action}”",
            404,
            action=action,
        )
    label_zh, label_en = transition.text("zh"), transition.text("en")
    if state not in defn.states:
        raise TransitionRefused(
            "unknown_state",
            f"当前状态 “{state}” 不在工作流 “{defn.key}” 中",
            f"state “{state}” is not in workflow “{defn.key}”",
            409,
            action=action,
        )
    if state not in transition.sources:
        current = defn.states[state]
        raise TransitionRefused(
            "wrong_state",
            f"当前状态为“{current.text('zh')}”，不能执行“{label_zh}”",
            f"cannot “{label_en}” while “{current.text('en')}”",
            409,
            action=action,
        )
    role_set = set(roles)
    if not role_set & set(transition.roles):
        raise TransitionRefused(
            "role",
            f"“{label_zh}”需要以下角色之一：{role_names(transition.roles, 'zh')}",
            f"“{label_en}” needs one of the roles: {role_names(transition.roles, 'en')}",
            403,
            action=action,
        )
    scope = _scope(defn, state, transition, role_set, context or {})
    if transition.guard is not None:
        try:
            passed = evaluate(transition.guard, scope)
        except ExpressionError as exc:
            raise TransitionRefused(
                "guard_error",
                f"“{label_zh}”的条件无法计算：{exc}",
                f"the condition of “{label_en}” failed: {exc}",
                500,
                action=action,
            ) from None
        if not passed:
            raise TransitionRefused(
                "guard",
                transition.guard_message.get("zh")
                or f"不满足“{label_zh}”的条件：{transition.guard.source}",
                transition.guard_message.get("en")
                or f"condition of “{label_en}” not met: {transition.guard.source}",
                409,
                action=action,
            )
    registry = RULES if rules is None else rules
    for name in transition.rules:
        rule = registry.get(name)
        if rule is None:
            raise TransitionRefused(
                "rule_missing",
                f"规则 “{name}” 未注册，“{label_zh}”被拒绝",
                f"rule “{name}” is not registered; “{label_en}” refused",
                500,
                action=action,
                rule=name,
            )
        try:
            refusal = rule(scope)
        except Exception as exc:  # a broken rule must refuse, never allow
            raise TransitionRefused(
                "rule_error",
                f"规则 “{name}” 出错：{exc}",
                f"rule “{name}” failed: {exc}",
                500,
                action=action,
                rule=name,
            ) from exc
        if refusal:
            zh, en = refusal if isinstance(refusal, tuple) else (refusal, refusal)
            raise TransitionRefused(
                "rule",
                f"规则 “{name}” 拒绝：{zh}",
                f"refused by rule “{name}”: {en}",
                403,
                action=action,
                rule=name,
            )
    if transition.reason_required and not (reason and reason.strip()):
        raise TransitionRefused(
            "reason_required",
            f"“{label_zh}”必须填写原因",
            f"“{label_en}” needs a reason",
            422,
            action=action,
        )
    if transition.signature and not signed:
        raise TransitionRefused(
            "signature_required",
            f"“{label_zh}”需要电子签名（{transition.signature}）",
            f"“{label_en}” needs an electronic signature ({transition.signature})",
            422,
            action=action,
        )
    return replace(transition, to=transition.target(state))


def action_status(
    defn: WorkflowDefinition,
    state: str,
    roles: Iterable[str],
    context: Mapping[str, Any] | None = None,
    *,
    rules: Mapping[str, Rule] | None = None,
) -> list[tuple[Transition, TransitionRefused | None]]:
    """Every action leaving ``state`` with why it is refused (``None`` when allowed), ignoring
    reason and signature, which are given when the action is taken. For greyed-out buttons."""
    roles = list(roles)
    result: list[tuple[Transition, TransitionRefused | None]] = []
    for transition in defn.transitions_from(state):
        try:
            allowed = check_transition(
                defn, state, transition.key, roles, context, reason="-", signed=True, rules=rules
            )
            result.append((allowed, None))
        except TransitionRefused as refused:
            result.append((replace(transition, to=transition.target(state)), refused))
    return result


def available_actions(
    defn: WorkflowDefinition,
    state: str,
    roles: Iterable[str],
    context: Mapping[str, Any] | None = None,
    *,
    rules: Mapping[str, Rule] | None = None,
) -> list[Transition]:
    """Actions the actor may take now: state, role, guard and rules all pass."""
    return [
        t
        for t, refused in action_status(defn, state, roles, context, rules=rules)
        if refused is None
    ]


def diagram_svg(defn: WorkflowDefinition, lang: str = "zh") -> str:
    """A self-contained SVG of the definition (see :mod:`metrolab.engine.workflow_diagram`)."""
    from metrolab.engine.workflow_diagram import render

    return render(defn, lang)
