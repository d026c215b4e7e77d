"""The generic workflow engine and the shipped workflow definitions."""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET
from collections import deque
from pathlib import Path
from typing import Any

import pytest

from metrolab.engine.workflow import (
    FORMAT,
    RULES,
    DefinitionError,
    TransitionRefused,
    WorkflowDefinition,
    action_status,
    available_actions,
    check_transition,
    diagram_svg,
    load_definition,
    load_file,
    register_rule,
    shipped_definitions,
)

SHIPPED = Path(__file__).resolve().parents[2] / "seed_data" / "workflows"
ROLES = {"admin", "tech_manager", "template_reviewer", "clerk", "verifier", "checker", "signatory"}
CERTIFICATE_RULES = {
    "verifier_qualified",
    "standards_valid",
    "checker_not_verifier",
    "approver_authorised",
    "approver_not_checker",
    "approver_not_verifier",
    "approver_not_requester",
    "recall_requester_responsible",
}


def minimal(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "format": FORMAT,
        "key": "doc",
        "version": 1,
        "title": {"zh": "文件", "en": "Document"},
        "initial": "draft",
        "states": [
            {"key": "draft", "label": {"zh": "草稿", "en": "Draft"}},
            {"key": "checking", "label": {"zh": "审核中", "en": "Checking"}},
            {"key": "done", "label": {"zh": "完成", "en": "Done"}, "final": True},
        ],
        "transitions": [
            {
                "key": "submit",
                "from": ["draft"],
                "to": "checking",
                "label": {"zh": "提交", "en": "Submit"},
                "roles": ["author"],
                "guard": "pages > 0",
                "guard_message": {"zh": "没有页面", "en": "No pages"},
            },
            {
                "key": "approve",
                "from": ["checking"],
                "to": "done",
                "label": {"zh": "批准", "en": "Approve"},
                "roles": ["boss"],
                "signature": "批准",
                "rules": ["not_author"],
            },
            {
                "key": "reject",
                "from": ["checking"],
                "to": "draft",
                "label": {"zh": "退回", "en": "Return"},
                "roles": ["boss"],
                "reason_required": True,
            },
            {
                "key": "comment",
                "from": ["draft", "checking"],
                "to": None,
                "label": {"zh": "备注", "en": "Comment"},
                "roles": ["author", "boss"],
            },
        ],
    }
    data.update(changes)
    return data


def not_author(context: Any) -> str | None:
    return "作者不能批准自己的文件" if context.get("actor") == context.get("author") else None


# --- shipped definitions -----------------------------------------------------------------------


def test_every_shipped_workflow_loads_and_every_state_is_reachable() -> None:
    files = sorted(SHIPPED.glob("*.json"))
    assert {f.stem for f in files} >= {"certificate", "entrustment", "delay_request"}
    definitions = shipped_definitions(SHIPPED)
    assert set(definitions) >= {"certificate", "entrustment", "delay_request"}
    from metrolab.engine.workflow import RULES, load_definition
    from metrolab.features import wire
    from metrolab.workflows.services import EFFECTS

    wire()  # the rules and effects the features implement: a name nothing implements is refused
    for path in files:
        defn = load_file(path)
        load_definition(path.read_bytes(), known_rules=RULES, known_effects=EFFECTS)
        assert defn.key == path.stem
        assert set(defn.roles) == ROLES
        reached, queue = {defn.initial}, deque([defn.initial])
        while queue:
            for t in defn.transitions_from(queue.popleft()):
                if t.to and t.to not in reached:
                    reached.add(t.to)
                    queue.append(t.to)
        assert reached == set(defn.states), path.name
        for t in defn.transitions:
            assert set(t.roles) <= ROLES, (path.name, t.key)
            assert t.label.get("zh") and t.label.get("en"), (path.name, t.key)
        for state in defn.states.values():
            assert state.label.get("zh") and state.label.get("en")


def test_an_effect_nothing_implements_is_refused_at_load() -> None:
    raw = json.loads((SHIPPED / "certificate.json").read_text("utf-8"))
    approve = next(t for t in raw["transitions"] if t["key"] == "approve")
    approve["effects"] = ["issue_certificate", "assign_number"]
    with pytest.raises(DefinitionError) as refused:
        load_definition(raw, known_effects={"issue_certificate"})
    assert "未注册的效果 “assign_number”" in str(refused.value)


def test_shipped_definitions_default_folder() -> None:
    assert "certificate" in shipped_definitions()


def test_certificate_follows_db1304_5_8() -> None:
    defn = shipped_definitions(SHIPPED)["certificate"]
    allow = {name: (lambda ctx: None) for name in CERTIFICATE_RULES}
    ctx = {"compiler": "u1", "verifier": "u1", "actor": "u1", "previous_state": None}

    def go(state: str, action: str, roles: set[str], **kw: Any) -> str:
        t = check_transition(defn, state, action, roles, kw.pop("context", ctx), rules=allow, **kw)
        return t.to  # type: ignore[return-value]

    # compiler is the verifier: straight to checking, signed 检定
    assert go("compiling", "submit", {"verifier"}, signed=True) == "checking"
    # compiler is not the verifier: initial review by the verifier (§5.8 5.4.4)
    other = {**ctx, "compiler": "clerk1", "actor": "clerk1"}
    with pytest.raises(TransitionRefused) as refused:
        go("compiling", "submit", {"verifier", "clerk"}, context=other, signed=True)
    assert refused.value.code == "guard" and "初审" in refused.value.message_zh
    assert go("compiling", "submit_initial_review", {"clerk"}, context=other) == "initial_review"
    assert (
        go(
            "initial_review",
            "confirm_initial_review",
            {"verifier"},
            context={**other, "actor": "u1"},
            signed=True,
        )
        == "checking"
    )
    # checking: pass with signature 核验, or return with a reason
    assert defn.transition("pass_check").signature == "核验"  # type: ignore[union-attr]
    assert go("checking", "pass_check", {"checker"}, signed=True) == "approving"
    assert go("checking", "return_check", {"checker"}, reason="数据错误") == "compiling"
    # approving: approve with signature 批准 (number + QR), or return with a reason
    approve = defn.transition("approve")
    assert approve is not None and approve.signature == "批准"
    assert approve.effects == ("issue_certificate",)  # approving is what issues
    assert go("approving", "approve", {"signatory"}, signed=True) == "issued"
    assert go("approving", "return_approval", {"signatory"}, reason="x") == "compiling"
    assert go("issued", "print", {"clerk"}) == "printed"
    assert go("printed", "reprint", {"clerk"}, reason="卡纸") == "printed"
    assert go("printed", "release", {"clerk"}) == "released"
    # internal recall before release; rejecting it returns to where it came from
    assert go("printed", "request_recall", {"verifier"}, reason="x") == "recall_requested"
    assert go("recall_requested", "approve_recall", {"signatory"}) == "compiling"
    printed_ctx = {**ctx, "previous_state": "printed"}
    assert [
        t.to
        for t in available_actions(
            defn, "recall_requested", {"tech_manager"}, printed_ctx, rules=allow
        )
    ] == ["compiling", "printed"]
    # modification after release: request → review → approval → compiling (new revision)
    assert go("released", "request_modification", {"clerk"}, reason="x") == "modification_requested"
    assert (
        go("modification_requested", "review_modification", {"tech_manager"})
        == "modification_reviewed"
    )
    assert go("modification_reviewed", "approve_modification", {"signatory"}) == "compiling"
    assert "new_revision" in defn.transition("approve_modification").effects  # type: ignore[union-attr]
    # delay keeps the state; void ends it
    assert go("checking", "request_delay", {"checker"}, reason="标准器送检") == "checking"
    assert go("issued", "void", {"tech_manager"}, reason="重复", signed=True) == "voided"
    with pytest.raises(TransitionRefused) as refused:
        go("released", "void", {"tech_manager"}, reason="x", signed=True)
    assert refused.value.http_status == 409
    # withdrawing an issued certificate (no new revision) is signed too; the public page says 已撤回
    assert defn.transition("withdraw").signature == "撤回"  # type: ignore[union-attr]
    assert go("released", "withdraw", {"signatory"}, reason="结论有误", signed=True) == "recalled"
    # content that changed after the verifier signed goes back to 编制
    assert go("approving", "content_changed", {"signatory"}, reason="记录已改") == "compiling"


def test_entrustment_onsite_variant_and_guards() -> None:
    defn = shipped_definitions(SHIPPED)["entrustment"]
    onsite = {"onsite": True, "pending_certificates": 0, "customer_signed": False}
    assert [t.key for t in available_actions(defn, "registered", {"clerk"}, onsite)] == [
        "modify",
        "schedule_onsite",
        "cancel",
    ]
    with pytest.raises(TransitionRefused) as refused:
        check_transition(defn, "registered", "receive", {"verifier"}, onsite)
    assert refused.value.code == "guard" and refused.value.http_status == 409
    assert (
        check_transition(
            defn, "completed", "release", {"clerk"}, {**onsite, "customer_signed": True}
        ).to
        == "released"
    )
    with pytest.raises(TransitionRefused, match="证书未批准"):
        check_transition(
            defn, "in_progress", "complete", {"verifier"}, {**onsite, "pending_certificates": 2}
        )


def test_delay_request_compares_iso_dates() -> None:
    defn = shipped_definitions(SHIPPED)["delay_request"]
    rules = {
        "approver_not_requester": lambda c: (
            "不能批准自己的申请" if c["actor"] == c["requester"] else None
        )
    }
    ctx = {"requester": "a", "actor": "b", "due_date": "2026-03-01", "new_due_date": "2026-03-10"}
    assert (
        check_transition(
            defn, "registered", "approve", {"tech_manager"}, ctx, rules=rules, signed=True
        ).to
        == "approved"
    )
    with pytest.raises(TransitionRefused) as refused:
        check_transition(
            defn,
            "registered",
            "approve",
            {"tech_manager"},
            {**ctx, "new_due_date": "2026-02-01"},
            rules=rules,
            signed=True,
        )
    assert refused.value.code == "guard" and "晚于" in refused.value.message_zh
    with pytest.raises(TransitionRefused) as refused:
        check_transition(
            defn, "registered", "approve", {"tech_manager"}, {**ctx, "actor": "a"}, rules=rules
        )
    assert refused.value.rule == "approver_not_requester"


# --- deciding ----------------------------------------------------------------------------------


@pytest.fixture()
def doc() -> WorkflowDefinition:
    return load_definition(minimal())


def test_wrong_state_is_409(doc: WorkflowDefinition) -> None:
    with pytest.raises(TransitionRefused) as refused:
        check_transition(doc, "draft", "approve", {"boss"}, {}, signed=True)
    error = refused.value
    assert (error.code, error.http_status) == ("wrong_state", 409)
    assert "草稿" in error.message_zh and "批准" in error.message_zh
    assert "Draft" in error.message_en
    assert str(error) == error.message_zh


def test_unknown_action_and_state(doc: WorkflowDefinition) -> None:
    with pytest.raises(TransitionRefused) as refused:
        check_transition(doc, "draft", "publish", {"boss"})
    assert (refused.value.code, refused.value.http_status) == ("unknown_action", 404)
    with pytest.raises(TransitionRefused) as refused:
        check_transition(doc, "lost", "submit", {"author"})
    assert refused.value.http_status == 409


def test_role_refusal_is_403(doc: WorkflowDefinition) -> None:
    with pytest.raises(TransitionRefused) as refused:
        check_transition(doc, "checking", "approve", {"author", "admin"}, {}, signed=True)
    assert (refused.value.code, refused.value.http_status) == ("role", 403)
    assert "boss" in refused.value.message_zh


def test_rule_plugin_called_with_context_and_named_in_refusal(doc: WorkflowDefinition) -> None:
    calls: list[dict[str, Any]] = []

    def rule(context: Any) -> str | None:
        calls.append(dict(context))
        return not_author(context)

    rules = {"not_author": rule}
    with pytest.raises(TransitionRefused) as refused:
        check_transition(
            doc,
            "checking",
            "approve",
            {"boss"},
            {"actor": "ann", "author": "ann"},
            signed=True,
            rules=rules,
        )
    error = refused.value
    assert (error.code, error.http_status, error.rule) == ("rule", 403, "not_author")
    assert "not_author" in error.message_zh and "作者不能批准自己的文件" in error.message_zh
    assert "not_author" in error.message_en
    assert calls[0]["actor"] == "ann" and calls[0]["state"] == "checking"
    assert calls[0]["action"] == "approve" and calls[0]["to_state"] == "done"
    assert calls[0]["roles"] == ["boss"]
    t = check_transition(
        doc,
        "checking",
        "approve",
        {"boss"},
        {"actor": "bob", "author": "ann"},
        signed=True,
        rules=rules,
    )
    assert t.to == "done" and calls[-1]["actor"] == "bob"


def test_rule_may_answer_in_two_languages(doc: WorkflowDefinition) -> None:
    rules = {"not_author": lambda c: ("不行", "no way")}
    with pytest.raises(TransitionRefused) as refused:
        check_transition(doc, "checking", "approve", {"boss"}, {}, signed=True, rules=rules)
    assert refused.value.message("en").endswith("no way")


def test_global_rule_registry(doc: WorkflowDefinition) -> None:
    saved = dict(RULES)
    try:
        register_rule("not_author")(not_author)
        with pytest.raises(TransitionRefused, match="not_author"):
            check_transition(
                doc, "checking", "approve", {"boss"}, {"actor": 1, "author": 1}, signed=True
            )
    finally:
        RULES.clear()
        RULES.update(saved)


def test_missing_or_broken_rule_refuses(doc: WorkflowDefinition) -> None:
    with pytest.raises(TransitionRefused) as refused:
        check_transition(doc, "checking", "approve", {"boss"}, {}, signed=True, rules={})
    assert (refused.value.code, refused.value.rule) == ("rule_missing", "not_author")

    def broken(context: Any) -> str | None:
        raise KeyError("verifier")

    with pytest.raises(TransitionRefused) as refused:
        check_transition(
            doc, "checking", "approve", {"boss"}, {}, signed=True, rules={"not_author": broken}
        )
    assert refused.value.code == "rule_error" and refused.value.http_status == 500


def test_reason_required(doc: WorkflowDefinition) -> None:
    for reason in (None, "", "   "):
        with pytest.raises(TransitionRefused) as refused:
            check_transition(doc, "checking", "reject", {"boss"}, {}, reason=reason)
        assert (refused.value.code, refused.value.http_status) == ("reason_required", 422)
    assert check_transition(doc, "checking", "reject", {"boss"}, {}, reason="缺页").to == "draft"


def test_signature_required(doc: WorkflowDefinition) -> None:
    rules = {"not_author": lambda c: None}
    with pytest.raises(TransitionRefused) as refused:
        check_transition(doc, "checking", "approve", {"boss"}, {}, rules=rules)
    assert (refused.value.code, refused.value.http_status) == ("signature_required", 422)
    assert "批准" in refused.value.message_zh


def test_guard_evaluated(doc: WorkflowDefinition) -> None:
    from decimal import Decimal

    with pytest.raises(TransitionRefused) as refused:
        check_transition(doc, "draft", "submit", {"author"}, {"pages": Decimal(0)})
    assert (refused.value.code, refused.value.http_status) == ("guard", 409)
    assert refused.value.message_zh == "没有页面" and refused.value.message_en == "No pages"
    assert check_transition(doc, "draft", "submit", {"author"}, {"pages": 3}).to == "checking"
    with pytest.raises(TransitionRefused) as refused:
        check_transition(doc, "draft", "submit", {"author"}, {})
    assert (refused.value.code, refused.value.http_status) == ("guard_error", 500)
    assert "pages" in refused.value.message_zh


def test_available_actions_filters_state_role_guard_rules(doc: WorkflowDefinition) -> None:
    rules = {"not_author": not_author}
    assert [t.key for t in available_actions(doc, "draft", {"author"}, {"pages": 1})] == [
        "submit",
        "comment",
    ]
    assert [t.key for t in available_actions(doc, "draft", {"author"}, {"pages": 0})] == ["comment"]
    assert [t.key for t in available_actions(doc, "draft", {"author"}, {})] == ["comment"]
    assert [
        t.key
        for t in available_actions(
            doc, "checking", {"boss"}, {"actor": "a", "author": "a"}, rules=rules
        )
    ] == ["reject", "comment"]
    assert [
        t.key
        for t in available_actions(
            doc, "checking", {"boss"}, {"actor": "b", "author": "a"}, rules=rules
        )
    ] == ["approve", "reject", "comment"]
    assert available_actions(doc, "done", {"boss", "author"}, {}) == []
    # the "stay" action is resolved to the current state
    assert [t.to for t in available_actions(doc, "checking", {"author"}, {})] == ["checking"]
    ctx = {"actor": "b", "author": "a"}
    status = dict((t.key, r) for t, r in action_status(doc, "checking", {"boss"}, ctx, rules=rules))
    assert status["approve"] is None and status["comment"] is None
    status = dict(
        (t.key, r) for t, r in action_status(doc, "checking", {"author"}, ctx, rules=rules)
    )
    assert status["approve"] is not None and status["approve"].code == "role"


# --- validation --------------------------------------------------------------------------------


def broken(mutate: Any) -> list[str]:
    data = copy.deepcopy(minimal())
    mutate(data)
    with pytest.raises(DefinitionError) as info:
        load_definition(data)
    return info.value.errors


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d.update(initial="drfat"), "initial: 未知状态 “drfat”"),
        (
            lambda d: d["transitions"][1].update(to="chekcing"),
            "transitions[1].to: 未知状态 “chekcing”",
        ),
        (
            lambda d: d["transitions"][2].update({"from": ["nowhere"]}),
            "transitions[2].from[0]: 未知状态 “nowhere”",
        ),
        (
            lambda d: d["transitions"].append(dict(d["transitions"][0])),
            "transitions[4].key: 动作重复 “submit”",
        ),
        (lambda d: d["states"].append(dict(d["states"][0])), "states[3].key: 状态重复 “draft”"),
        (
            lambda d: d["states"].append({"key": "lost", "label": {"zh": "孤立"}, "final": True}),
            "states[3]: 状态 “lost” 从初始状态 “draft” 不可达",
        ),
        (
            lambda d: d["transitions"].__delitem__(slice(1, 3)),
            "非终止状态 “checking” 没有离开的动作",
        ),
        (lambda d: d["transitions"][0].update(guard="pages >"), "transitions[0].guard: 语法错误"),
        (
            lambda d: d["transitions"][0].update(guard="x.__class__"),
            "transitions[0].guard: 不允许以下划线开头",
        ),
        (
            lambda d: d["transitions"][0].update(reason_requried=True),
            "transitions[0].reason_requried: 未知的字段",
        ),
        (lambda d: d["transitions"][0].update(roles=[]), "transitions[0].roles: 至少需要一个角色"),
        (lambda d: d.update(format="other/1"), "format:"),
        (lambda d: d.update(version=0), "version:"),
        (lambda d: d["states"][0].update(label={"en": "Draft"}), "states[0].label: 需要中文名称"),
        (lambda d: d.update(roles=["author"]), "transitions[1].roles[0]: 未知角色 “boss”"),
        (lambda d: d.update(context={"pagez": ""}), "transitions[0].guard: 未知名称 “pages”"),
    ],
)
def test_validation_names_the_place(mutate: Any, expected: str) -> None:
    errors = broken(mutate)
    assert any(expected in e for e in errors), errors


def test_validation_of_rule_names_and_json_text() -> None:
    with pytest.raises(DefinitionError, match="未注册的规则 “not_author”"):
        load_definition(minimal(), known_rules=["other"])
    assert load_definition(json.dumps(minimal()), known_rules=["not_author"]).key == "doc"
    with pytest.raises(DefinitionError, match="JSON"):
        load_definition("{not json")


def test_load_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(minimal(initial="x")), encoding="utf-8")
    with pytest.raises(DefinitionError) as info:
        load_file(path)
    assert info.value.errors[0].startswith("bad.json: ")


# --- diagram -----------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_svg_is_well_formed_and_labels_every_state(lang: str) -> None:
    for defn in [*shipped_definitions(SHIPPED).values(), load_definition(minimal())]:
        svg = diagram_svg(defn, lang)
        root = ET.fromstring(svg)
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        texts = {"".join(el.itertext()) for el in root.iter("{http://www.w3.org/2000/svg}text")}
        for state in defn.states.values():
            assert state.text(lang) in texts, (defn.key, state.key)
        for t in defn.transitions:
            assert any(t.text(lang) in text for text in texts), (defn.key, t.key)
        assert "http://" not in svg.replace("http://www.w3.org/2000/svg", "")
        assert "https://" not in svg and "<script" not in svg


def test_svg_escapes_labels() -> None:
    data = minimal()
    data["states"][0]["label"] = {"zh": '<草稿 & "x">', "en": "Draft"}
    svg = diagram_svg(load_definition(data))
    ET.fromstring(svg)
    assert "&lt;草稿 &amp;" in svg
