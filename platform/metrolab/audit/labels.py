"""What an audit event means to a reader: a 中文 label for each action code the code writes
(`record("…")` across the features), a label for each object type, and where the object lives.
A code without its own label is read as «object · verb» (workflow moves: the transition's own label),
so no raw code is shown when the parts are known."""

from __future__ import annotations

from metrolab.web.i18n import N_, _

ACTIONS = {
    "user.login": N_("登录"),
    "user.login_failed": N_("登录失败"),
    "user.created": N_("新建用户"),
    "user.updated": N_("修改用户"),
    "user.enabled": N_("启用用户"),
    "user.disabled": N_("停用用户"),
    "user.password_changed": N_("修改本人密码"),
    "user.password_reset": N_("重置密码"),
    "user.password_change_failed": N_("修改密码失败"),
    "user.signature_set": N_("设置签名图"),
    "user.signature_removed": N_("删除签名图"),
    "signature.failed": N_("签名验证失败"),
    "qualification.added": N_("登记资质"),
    "role.updated": N_("修改角色权限"),
    "department.created": N_("新建科室"),
    "token.created": N_("创建 API 令牌"),
    "token.revoked": N_("吊销 API 令牌"),
    "customer.created": N_("新建客户"),
    "customer.updated": N_("修改客户"),
    "customer.deleted": N_("删除客户"),
    "certificate.created": N_("生成证书"),
    "certificate.issued": N_("签发证书"),
    "certificate.issue_failed": N_("证书签发失败"),
    "certificate.signing_keys_created": N_("首次使用时生成本所签名密钥"),
    "certificate.revision_created": N_("生成证书修订版"),
    "certificate.new_revision": N_("开启证书新版次"),
    "certificate.batch_approved": N_("批量批准证书"),
    "certificate.compiler_edits": N_("编制人修改证书"),
    "certificate.printed": N_("打印证书"),
    "certificate.reprinted": N_("补打证书"),
    "certificate.number_voided": N_("作废证书编号"),
    "certificate_template.uploaded": N_("上传证书模板"),
    "record.created": N_("新建原始记录"),
    "record.saved": N_("保存原始记录"),
    "record.revised": N_("修改原始记录"),
    "entrustment.created": N_("登记委托"),
    "entrustment.received_count_differs": N_("收样数量与委托不符"),
    "entrustment.released": N_("放行委托"),
    "task.assigned": N_("分配检定任务"),
    "task.compiled": N_("编制检定任务"),
    "instrument_type.created": N_("新建器具类型"),
    "instrument_type.updated": N_("修改器具类型"),
    "instrument_type.activated": N_("启用器具类型"),
    "instrument_type.deactivated": N_("停用器具类型"),
    "instrument_type.imported": N_("导入器具类型"),
    "standard.created": N_("新建计量标准"),
    "standard.updated": N_("修改计量标准"),
    "standard.imported": N_("导入计量标准"),
    "form.imported": N_("导入表单定义"),
    "form.saved": N_("保存表单"),
    "form.submitted": N_("提交表单审核"),
    "form.approved": N_("批准表单"),
    "form.returned": N_("退回表单"),
    "form.retired": N_("停用表单"),
    "lab.settings_saved": N_("保存机构信息"),
    "public_page.saved": N_("保存公共服务页面"),
    "delay_request.registered": N_("登记延期申请"),
    "ledger.synced": N_("同步台账"),
    "ledger.imported": N_("导入台账"),
    "ledger.portal_link": N_("生成客户查询链接"),
    "ledger.licence_scan": N_("上传证照扫描件"),
    "ledger.self_check": N_("登记自查"),
    "ledger.application_saved": N_("保存申请材料"),
    "ledger.application_package": N_("下载申请材料包"),
    "ledger.instrument_saved": N_("保存台账器具"),
    "ledger.external_certificate": N_("登记外单位证书"),
    "notice.created": N_("撰写公告"),
    "notice.published": N_("发布公告"),
    "notice.withdrawed": N_("撤回公告"),
    "notice.deleted": N_("删除公告"),
    "notice.acknowledge": N_("确认收到公告"),
    "notice.done": N_("确认已办理公告"),
    "incoming_document.registered": N_("收文登记"),
    "incoming_document.read": N_("签阅收文"),
    "weekly_plan.registered": N_("登记周工作计划"),
    "weekly_plan.items_saved": N_("保存周工作计划"),
}

OBJECTS = {
    "user": N_("用户"),
    "customer": N_("客户"),
    "certificate": N_("证书"),
    "certificate_number": N_("证书编号"),
    "certificate_template_version": N_("证书模板版本"),
    "original_record": N_("原始记录"),
    "record": N_("原始记录"),
    "entrustment": N_("委托"),
    "verification_task": N_("检定任务"),
    "task": N_("检定任务"),
    "form_version": N_("表单版本"),
    "form": N_("表单"),
    "instrument_type": N_("器具类型"),
    "standard": N_("计量标准"),
    "department": N_("科室"),
    "role": N_("角色"),
    "token": N_("API 令牌"),
    "lab_settings": N_("机构信息"),
    "lab": N_("机构"),
    "public_page": N_("公共服务页面"),
    "delay_request": N_("延期申请"),
    "ledger": N_("台账"),
    "ledger_instrument": N_("台账器具"),
    "notice": N_("公告"),
    "incoming_document": N_("收文"),
    "weekly_plan": N_("周工作计划"),
    "qualification": N_("资质"),
    "signature": N_("签名"),
}

# Verbs of codes built at run time (`ledger.{kind}_added`, `notice.{needs_action}`…).
VERBS = {
    "created": N_("新建"),
    "updated": N_("修改"),
    "saved": N_("保存"),
    "deleted": N_("删除"),
    "added": N_("登记"),
    "read": N_("阅读"),
    "confirmed": N_("确认"),
    "acknowledged": N_("确认"),
    "imported": N_("导入"),
    "issued": N_("签发"),
    "approve": N_("批准"),
    "reject": N_("驳回"),
    "submit": N_("提交"),
}

# Where an object of a type is shown; `{id}` is the audit row's target id.
LINKS = {
    "certificate": "/certificates/{id}",
    "original_record": "/records/{id}",
    "record": "/records/{id}",
    "entrustment": "/entrustments/{id}",
    "customer": "/customers/{id}",
    "user": "/staff/{id}",
    "delay_request": "/delays/{id}",
    "ledger_instrument": "/ledger/instruments/{id}",
    "incoming_document": "/office/documents/{id}",
    "weekly_plan": "/office/plans/{id}",
    "notice": "/office/notices/{id}",
    "instrument_type": "/instrument-types/{id}",
    "standard": "/standards/{id}",
    "public_page": "/lab/pages/{id}",
    "lab_settings": "/lab/settings",
}
_NUMERIC = {
    k
    for k, v in LINKS.items()
    if v.endswith("{id}") and k not in {"instrument_type", "standard", "public_page"}
}


STATE_KEYS = {"from", "to", "status"}  # details that hold a workflow state
DETAILS = {
    "from": N_("原状态"),
    "to": N_("新状态"),
    "status": N_("状态"),
    "reason": N_("原因"),
    "number": N_("编号"),
    "seq": N_("序号"),
    "fields": N_("修改的字段"),
    "done": N_("完成"),
    "failed": N_("未完成"),
    "note": N_("说明"),
    "comment": N_("意见"),
}


def detail_label(key: str) -> str:
    return _(DETAILS[key]) if key in DETAILS else key.replace("_", " ")


def object_label(target_type: str) -> str:
    return _(OBJECTS[target_type]) if target_type in OBJECTS else target_type.replace("_", " ")


def action_label(code: str, moves: dict[str, str] | None = None) -> str:
    """The 中文 label of an action code; ``moves`` = {"certificate.approve": "批准"} from the workflows."""
    if code in ACTIONS:
        return _(ACTIONS[code])
    thing, _dot, verb = code.partition(".")
    if moves and code in moves:
        return f"{object_label(thing)} · {moves[code]}"
    tail = verb.rsplit("_", 1)[-1] if verb else ""
    head = verb[: -len(tail) - 1] if tail and tail != verb else ""
    if verb in VERBS:
        return f"{object_label(thing)} · {_(VERBS[verb])}"
    if tail in VERBS and head:
        return f"{object_label(thing)} · {_(VERBS[tail])} {object_label(head)}"
    # Unknown: readable words, not the dotted code.
    return " · ".join(p.replace("_", " ") for p in (object_label(thing), verb) if p)


def link(target_type: str, target_id: str) -> str:
    """The page of the object, '' when its type has none (or the id cannot be one)."""
    pattern = LINKS.get(target_type)
    if not pattern or ("{id}" in pattern and not target_id):
        return ""
    if target_type in _NUMERIC and not target_id.isdigit():
        return ""
    from urllib.parse import quote

    return pattern.replace("{id}", quote(target_id, safe=""))
