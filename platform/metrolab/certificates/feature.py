"""The certificates feature: templates as reviewed data, numbering, issuing, verification, printing."""

from piccolo.query.methods.count import Count

from metrolab.certificates import rules, uncertainty, workflow
from metrolab.certificates.routes import router
from metrolab.web.auth import CurrentUser
from metrolab.web.navigation import NavItem, TaskCounter
from metrolab.workflows.services import EffectCall

PERMISSIONS = {
    "certificates.view": ("查看证书", "View certificates"),
    "certificates.print": ("打印证书与原始记录", "Print certificates and original records"),
    "certificates.issue": (
        "出具证书（生成 PDF，失败后重试）",
        "Issue certificates (render the PDF, retry)",
    ),
    "certificates.void": (
        "撤回证书、作废证书编号",
        "Recall certificates, void certificate numbers",
    ),
    "templates.design": ("制作证书模板", "Design certificate templates"),
    "templates.review": ("审核证书模板", "Review certificate templates"),
}
NAV = [
    NavItem("检定证书管理", "证书查询", "/certificates", "certificates.view", 40),
    NavItem("检定证书管理", "证书打印", "/certificates/print", "certificates.print", 41),
    NavItem("检定证书管理", "作废证书编号", "/certificates/numbers", "certificates.void", 42),
    NavItem("检定证书管理", "证书模板", "/certificate-templates", "certificates.view", 43),
]


def _to_print(user: CurrentUser) -> Count:
    from metrolab.certificates.tables import Certificate

    return Certificate.count().where(
        (Certificate.pdf_sha256 != "") & (Certificate.status == "issued")
    )


def _templates_to_review(user: CurrentUser) -> Count:
    from metrolab.certificates.tables import TemplateVersion

    return TemplateVersion.count().where(
        (TemplateVersion.status == "in_review") & (TemplateVersion.author != user.id)
    )


TASKS = [
    TaskCounter(
        "certificates_to_print",
        "待打印证书",
        "/certificates/print",
        "certificates.print",
        _to_print,
        40,
    ),
    TaskCounter(
        "certificate_templates_to_review",
        "待审核证书模板",
        "/certificate-templates",
        "templates.review",
        _templates_to_review,
        41,
    ),
]


async def _seed_templates() -> int:
    from metrolab.certificates.template_versions import seed_templates

    return await seed_templates()


SEEDERS = [("certificate_templates", _seed_templates)]
RULES = {
    "verifier_qualified": rules.verifier_qualified,
    "standards_valid": rules.standards_valid,
    "checker_not_verifier": rules.checker_not_verifier,
    "approver_authorised": rules.approver_authorised,
    "approver_not_verifier": rules.approver_not_verifier,
    "approver_not_checker": rules.approver_not_checker,
    "recall_requester_responsible": rules.recall_requester_responsible,
}
HOOKS = {"record.locked_by": [workflow.record_lock], "record.uncertainty": [uncertainty.for_record]}


async def _retire_previous_template(call: EffectCall) -> None:
    from metrolab.certificates.template_versions import retire_previous

    await retire_previous(call)


EFFECTS = {
    "retire_previous_template_version": _retire_previous_template,
    "issue_certificate": workflow.issue_effect,
    "new_revision": workflow.new_revision_effect,
    "record_print": workflow.record_print_effect,
}
__all__ = ["router"]
