"""Pages of the business feature: 委托单, tasks, certificate steps, batch approval, progress, release."""

from __future__ import annotations

import base64
from datetime import date
from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.response import Template

from metrolab import storage
from metrolab.business import api, lists, onsite, release, services, storage_in
from metrolab.business.tables import Entrustment
from metrolab.certificates import workflow as cw
from metrolab.web.errors import UserError
from metrolab.web.i18n import _
from metrolab.web.pages import form_dict, page, see_other
from metrolab.web.params import INT32_MAX, Id, PageNo, SearchText
from metrolab.web.permissions import perm
from metrolab.workflows import services as wf


def _int(value: Any, default: int | None = None) -> int | None:
    """A posted whole number the database can hold, else ``default`` (the service then refuses)."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return default
    return number if -INT32_MAX <= number <= INT32_MAX else default


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


async def _state_labels(key: str) -> dict[str, str]:
    return await wf.state_labels(key)


async def _action_labels(key: str) -> dict[str, str]:
    from metrolab.web.i18n import current_language

    defn, _v = await wf.definition(key)
    return {t.key: t.text(current_language()) for t in defn.transitions}


# The buttons of the detail page: receive (with its count) and the other workflow actions.
ENTRUSTMENT_ACTIONS = ("receive", *services.ENTRUSTMENT_ACTIONS)


# ── 委托单 ────────────────────────────────────────────────────────────────────────────────────


@get("/entrustments", opt=perm("business.view"), include_in_schema=False)
async def entrustment_list(
    q: SearchText = "", status: SearchText = "", stage: SearchText = "", page_no: PageNo = 1
) -> Template:
    rows, total = await lists.entrustments(
        q, status, stage, page_no=page_no, per_page=lists.PER_PAGE
    )
    return page(
        "business/entrustment_list.html",
        title=_("委托单"),
        rows=rows,
        total=total,
        page_no=page_no,
        pages=total.pages(lists.PER_PAGE),
        query={"q": q, "status": status, "stage": stage},
        labels=await _state_labels("entrustment"),
    )


async def _new_page(
    pin: services.Pinned,
    data: dict,
    problems: list,
    status_code: int = 200,
    message: str = "",
    edit: dict | None = None,
    reason: str = "",
    reason_error: str = "",
    choice: dict[str, bool] | None = None,
    action: str = "",
    heading: str = "",
) -> Template:
    """The 委托单 form; ``action``/``heading``: another feature's page that receives it (报价单 转为委托单)."""
    return page(
        "business/entrustment_new.html",
        status_code=status_code,
        title=heading or (_("修改委托单") if edit else _("受理委托")),
        pin=pin,
        data=data,
        problems=problems,
        types=await services.instrument_types(),
        message=message,
        edit=edit,
        reason=reason,
        reason_error=reason_error,
        choice=choice or {},
        compute_url="/entrustments/compute",
        action=action,
        heading=heading,
    )


@get("/entrustments/new", opt=perm("business.entrust"), include_in_schema=False)
async def entrustment_new() -> Template:
    pin = await services.entrustment_form()
    return await _new_page(pin, {"service_mode": "送检", "instruments": [{"quantity": "1"}]}, [])


@post(
    "/entrustments",
    opt=perm("business.entrust", api="POST /api/v1/entrustments"),
    include_in_schema=False,
)
async def entrustment_create(request: Request) -> Response:
    from metrolab.engine.forms import apply_row_action, parse_submission

    form = await request.form()
    pin = await services.entrustment_form(_int(form.get("_version")))
    data = parse_submission(pin.defn, form)
    action = str(form.get("_action") or "")
    if action.startswith(("add_row", "remove_row")):
        return await _new_page(pin, apply_row_action(pin.defn, data, action), [])
    choice = {k: bool(form.get(k)) for k in ("_new_customer", "_confirm_similar")}
    try:
        e = await services.submit_entrustment(
            request.user, pin, data, choice["_new_customer"], choice["_confirm_similar"]
        )
    except services.FormProblems as exc:  # the typed form again, a message beside each field
        return await _new_page(
            pin, data, exc.problems, 400, _("请按提示修改后再提交"), choice=choice
        )
    return see_other(f"/entrustments/{e['id']}")


@post(
    "/entrustments/compute",
    opt=perm("business.entrust", api="POST /api/v1/entrustments/compute"),
    include_in_schema=False,
    status_code=200,
)
async def entrustment_compute(request: Request) -> Template:
    """htmx while typing: #form-body again with 器具总数 and what is shown (现场地址 only 现场检定)."""
    from metrolab.engine.forms import parse_submission

    form = await request.form()
    pin = await services.entrustment_form(_int(form.get("_version")))
    return page(
        "business/_entrustment_body.html",
        pin=pin,
        data=parse_submission(pin.defn, form),
        problems=[],
        compute_url="/entrustments/compute",
    )


@get("/entrustments/customers", opt=perm("business.entrust"), include_in_schema=False)
async def entrustment_customers(q: SearchText = "") -> Template:
    """htmx while typing 委托单位: the customers on file whose name contains it."""
    from metrolab.business import customer_pick

    return page("business/_customer_suggestions.html", q=q, rows=await customer_pick.suggest(q))


@get(
    "/entrustments/{entrustment_id:int}/edit", opt=perm("business.entrust"), include_in_schema=False
)
async def entrustment_edit(entrustment_id: Id) -> Template:
    e = await services.get_entrustment(entrustment_id)
    return await _new_page(
        await services.entrustment_form(e["form_version"]), e["data"] or {}, [], edit=e
    )


@post(
    "/entrustments/{entrustment_id:int}/edit",
    opt=perm("business.entrust", api="PUT /api/v1/entrustments/{entrustment_id}"),
    include_in_schema=False,
)
async def entrustment_update(request: Request, entrustment_id: Id) -> Response:
    """修改委托单: on its pinned form version, with a reason; errors beside the fields, nothing lost."""
    from metrolab.engine.forms import apply_row_action, parse_submission

    e = await services.get_entrustment(entrustment_id)
    form = await request.form()
    pin = await services.entrustment_form(e["form_version"])
    data = parse_submission(pin.defn, form)
    reason = str(form.get("_reason") or "").strip()
    action = str(form.get("_action") or "")
    if action.startswith(("add_row", "remove_row")):
        return await _new_page(
            pin, apply_row_action(pin.defn, data, action), [], edit=e, reason=reason
        )
    try:
        await services.change_entrustment(
            entrustment_id, request.user, data, reason, expected_lock=_int(form.get("lock_version"))
        )
    except services.FormProblems as exc:
        return await _new_page(
            pin,
            data,
            [p for p in exc.problems if p.path != "_reason"],
            400,
            _("请按提示修改后再提交"),
            edit=e,
            reason=reason,
            reason_error=next((p.message_zh for p in exc.problems if p.path == "_reason"), ""),
        )
    return see_other(f"/entrustments/{entrustment_id}")


@get("/entrustments/{entrustment_id:int}", opt=perm("business.view"), include_in_schema=False)
async def entrustment_detail(request: Request, entrustment_id: Id) -> Template:
    return await _detail_page(request, entrustment_id)


async def _detail_page(
    request: Request,
    entrustment_id: int,
    error: str = "",
    status_code: int = 200,
    typed: dict | None = None,
) -> Template:
    from metrolab.engine import workflow as engine

    e = await services.get_entrustment(entrustment_id)
    defn, _v = await wf.definition("entrustment")
    pending = await services.pending_certificates(entrustment_id)
    actions = [
        (t, r)
        for t, r in engine.action_status(
            defn, e["status"], request.user.roles, services.entrustment_context(e, pending)
        )
        if t.key in ENTRUSTMENT_ACTIONS
    ]
    return page(
        "business/entrustment_detail.html",
        status_code=status_code,
        error=error,
        typed=typed or {},
        title=_("委托单 {n}", n=e["number"]),
        e=e,
        due=await wf.current_due(e["number"], e["requested_date"]),
        tasks=await services.tasks_of(entrustment_id),
        actions=actions,
        labels=await _state_labels("entrustment"),
        cert_labels=await _state_labels("certificate"),
        task_zh=services.TASK_STATUS_ZH,
        verifiers=await services.verifiers(),
        history=await wf.history(Entrustment, entrustment_id),
        releases=await release.releases_of(entrustment_id),
        modes=release.MODES,
        onsite_order=await onsite.order_of(entrustment_id),
        storage=await storage_in.storage_of(entrustment_id),
        archived=await storage_in.archived_records(entrustment_id),
    )


@get("/entrustments/{entrustment_id:int}/slip", opt=perm("business.view"), include_in_schema=False)
async def entrustment_slip(entrustment_id: Id) -> Template:
    from metrolab.engine.documents.qr import qr_png

    e = await services.get_entrustment(entrustment_id)
    qr = base64.b64encode(qr_png(e["number"])).decode()
    return page(
        "business/entrustment_slip.html",
        title=_("委托受理单 {n}", n=e["number"]),
        e=e,
        tasks=await services.tasks_of(entrustment_id),
        qr=qr,
    )


@post(
    "/entrustments/{entrustment_id:int}/receive",
    opt=perm("business.receive", api="POST /api/v1/entrustments/{entrustment_id}/receive"),
    include_in_schema=False,
)
async def entrustment_receive(request: Request, entrustment_id: Id) -> Response:
    form = await form_dict(request)
    try:
        await services.receive(
            entrustment_id,
            request.user,
            _int(form.get("count"), 0) or 0,
            expected_lock=_int(form.get("lock_version")),
        )
    except UserError as exc:  # a wrong count: the page again, the message beside the form
        if exc.status_code != 400:
            raise
        return await _detail_page(
            request, entrustment_id, str(exc.detail), 400, {"count": form.get("count", "")}
        )
    return see_other(f"/entrustments/{entrustment_id}")


@post(
    "/entrustments/{entrustment_id:int}/act/{action:str}",
    opt=perm("business.view", api="POST /api/v1/entrustments/{entrustment_id}/actions/{action}"),
    include_in_schema=False,
)
async def entrustment_act(request: Request, entrustment_id: Id, action: str) -> Response:
    form = await form_dict(request)
    if action in onsite.OWN_FORM:
        raise UserError(onsite.OWN_FORM[action])
    await services.entrustment_act(
        entrustment_id,
        action,
        request.user,
        reason=form.get("reason") or None,
        expected_lock=_int(form.get("lock_version")),
    )
    return see_other(f"/entrustments/{entrustment_id}")


# ── tasks ─────────────────────────────────────────────────────────────────────────────────────


@get("/tasks", opt=perm("business.view"), include_in_schema=False)
async def task_list(
    request: Request,
    mine: SearchText = "",
    stage: SearchText = "",
    q: SearchText = "",
    page_no: PageNo = 1,
) -> Template:
    rows, total = await lists.tasks(
        request.user, bool(mine), stage, q, page_no=page_no, per_page=lists.PER_PAGE
    )
    return page(
        "business/task_list.html",
        title=_("检定任务"),
        rows=rows,
        total=total,
        page_no=page_no,
        pages=total.pages(lists.PER_PAGE),
        task_zh=services.TASK_STATUS_ZH,
        query={"mine": mine, "stage": stage, "q": q},
        cert_labels=await _state_labels("certificate"),
    )


@post(
    "/tasks/{task_id:int}/assign",
    opt=perm("business.receive", api="POST /api/v1/tasks/{task_id}/assign"),
    include_in_schema=False,
)
async def task_assign(request: Request, task_id: Id) -> Response:
    form = await form_dict(request)
    await services.assign(
        task_id, _int(form.get("verifier"), 0) or 0, request.user, form.get("department", "")
    )
    task = await services.get_task(task_id)
    return see_other(f"/entrustments/{task['entrustment']}")


@post(
    "/tasks/{task_id:int}/record",
    opt=perm("business.compile", api="POST /api/v1/tasks/{task_id}/record"),
    include_in_schema=False,
)
async def task_record(request: Request, task_id: Id) -> Response:
    form = await form_dict(request)
    record_id = await services.open_record(
        task_id, request.user, _date(form.get("verified_on", ""))
    )
    return see_other(f"/records/{record_id}/edit")


@post(
    "/tasks/{task_id:int}/compile",
    opt=perm("business.compile", api="POST /api/v1/tasks/{task_id}/compile"),
    include_in_schema=False,
)
async def task_compile(request: Request, task_id: Id) -> Response:
    cert_id = await services.compile_certificate(task_id, request.user)
    return see_other(f"/business/certificates/{cert_id}")


# ── certificates ─────────────────────────────────────────────────────────────────────────────


@get("/business/certificates", opt=perm("business.view"), include_in_schema=False)
async def certificate_list(
    request: Request,
    status: SearchText = "",
    q: SearchText = "",
    mine: SearchText = "",
    issued_from: SearchText = "",
    issued_to: SearchText = "",
    page_no: PageNo = 1,
) -> Template:
    rows, total = await services.search_certificates(
        status, q, bool(mine), request.user, _date(issued_from), _date(issued_to), page_no
    )
    return page(
        "business/certificate_list.html",
        title=_("证书进度"),
        rows=rows,
        total=total,
        page_no=page_no,
        per_page=50,
        labels=await _state_labels("certificate"),
        stages=services.STAGES,
        progress=services.progress,
        query={
            "status": status,
            "q": q,
            "mine": mine,
            "issued_from": issued_from,
            "issued_to": issued_to,
        },
    )


@get(
    "/business/certificates/export",
    opt=perm("business.view", api="GET /api/v1/certificates/progress/export"),
    include_in_schema=False,
)
async def certificate_list_export(
    request: Request,
    status: SearchText = "",
    q: SearchText = "",
    mine: SearchText = "",
    issued_from: SearchText = "",
    issued_to: SearchText = "",
    format: SearchText = "",
) -> Response:
    return await api.progress_export(
        request.user, status, q, bool(mine), _date(issued_from), _date(issued_to), format
    )


@get(
    "/business/certificates/{certificate_id:int}",
    opt=perm("business.view"),
    include_in_schema=False,
)
async def certificate_detail(request: Request, certificate_id: Id) -> Template:
    """The 流转与操作 tab of the one certificate page (/certificates/{id}): actions and history."""
    from metrolab.accounts.tables import Role
    from metrolab.certificates import compiler_edits
    from metrolab.certificates.tables import Certificate
    from metrolab.web.i18n import current_language

    cert = await compiler_edits.certificate(certificate_id)  # bounded id: 404, not a database error
    en = current_language() == "en"
    role_names = {
        r["key"]: (r["name_en"] if en else r["name_zh"]) or r["name_zh"]
        for r in await Role.select(Role.key, Role.name_zh, Role.name_en)
    }
    return page(
        "business/certificate_detail.html",
        title=_("证书流转"),
        c=cert,
        tab="workflow",
        role_names=role_names,
        newer=await cw.newer_revision(certificate_id),
        action_labels=await _action_labels("certificate"),
        actions=await cw.certificate_actions(cert, request.user),
        labels=await _state_labels("certificate"),
        stages=services.STAGES,
        progress=services.progress(cert["status"]),
        task=await services.task_for_certificate(certificate_id),
        history=await wf.history(Certificate, certificate_id),
    )


@get(
    "/business/certificates/{certificate_id:int}/preview.pdf",
    opt=perm("business.view", api="GET /api/v1/certificates/{certificate_id}/preview.pdf"),
    include_in_schema=False,
)
async def certificate_preview(certificate_id: Id) -> Response:
    """The certificate as it would print now (no number yet, a preview QR)."""
    return Response(
        await services.preview_pdf(certificate_id),
        media_type="application/pdf",
        headers={"content-disposition": f'inline; filename="certificate-{certificate_id}.pdf"'},
    )


@post(
    "/business/certificates/{certificate_id:int}/act/{action:str}",
    opt=perm("business.view", api="POST /api/v1/certificates/{certificate_id}/actions/{action}"),
    include_in_schema=False,
)
async def certificate_act(request: Request, certificate_id: Id, action: str) -> Response:
    form = await form_dict(request)
    cert = await services.certificate_act(
        certificate_id,
        action,
        request.user,
        reason=form.get("reason") or None,
        password=form.get("password") or None,
        expected_lock=_int(form.get("lock_version")),
    )
    return see_other(f"/business/certificates/{cert['id']}")


@post(
    "/business/certificates/{certificate_id:int}/reissue",
    opt=perm("business.approve", api="POST /api/v1/certificates/{certificate_id}/reissue"),
    include_in_schema=False,
)
async def certificate_reissue(request: Request, certificate_id: Id) -> Response:
    await services.reissue(certificate_id, request.user)
    return see_other(f"/business/certificates/{certificate_id}")


@get("/business/approvals", opt=perm("business.approve"), include_in_schema=False)
async def approval_list() -> Template:
    return page(
        "business/approvals.html",
        title=_("批量批准"),
        rows=await services.approval_queue(),
        result=None,
        error="",
    )


@post(
    "/business/approvals",
    opt=perm("business.approve", api="POST /api/v1/approvals"),
    include_in_schema=False,
    status_code=200,
)
async def approval_batch(request: Request) -> Template:
    """The batch without JavaScript: the ticked certificates and one password."""
    form = await request.form()
    ids = [i for i in (_int(v) for v in form.getall("ids", [])) if i and i > 0]
    try:
        result = await services.approve_batch(ids, request.user, str(form.get("password") or ""))
    except UserError as exc:  # nothing ticked, a wrong password: the list again with the reason
        from metrolab.kernel.errors import PasswordProblem

        beside = isinstance(exc, PasswordProblem)  # the password's own: beside its field
        return page(
            "business/approvals.html",
            status_code=exc.status_code,
            title=_("批量批准"),
            rows=await services.approval_queue(),
            result=None,
            error="" if beside else _(str(exc.detail)),
            password_error=_(str(exc.detail)) if beside else "",
        )
    return page(
        "business/approvals.html",
        title=_("批量批准"),
        rows=await services.approval_queue(),
        result=result,
        error="",
    )


@post(
    "/business/approvals/one",
    opt=perm("business.approve", api="POST /api/v1/approvals/one"),
    include_in_schema=False,
    status_code=200,
)
async def approval_one(request: Request) -> dict[str, Any]:
    """One certificate of a batch run by the page's script (progress shown as it goes)."""
    form = await form_dict(request)
    cid = _int(form.get("id"))
    if not cid or cid < 1:
        raise UserError(status_code=400, detail="请选择要批准的证书")
    return await services.approve_one(cid, request.user, str(form.get("password") or ""))


# ── release ───────────────────────────────────────────────────────────────────────────────────


@get(
    "/entrustments/{entrustment_id:int}/release",
    opt=perm("business.entrust"),
    include_in_schema=False,
)
async def release_page(entrustment_id: Id) -> Template:
    return await _release_page(entrustment_id, {}, "")


async def _release_page(
    entrustment_id: int, values: dict, error: str, status_code: int = 200
) -> Template:
    e = await services.get_entrustment(entrustment_id)
    tasks = [t for t in await services.tasks_of(entrustment_id) if t["status"] != "released"]
    return page(
        "business/release.html",
        status_code=status_code,
        title=_("发放"),
        e=e,
        tasks=tasks,
        modes=release.MODES,
        methods=release.METHODS,
        on_the_spot=release.ON_THE_SPOT,
        values=values,
        error=error,
        cert_labels=await _state_labels("certificate"),
    )


@post(
    "/entrustments/{entrustment_id:int}/release",
    opt=perm("business.entrust", api="POST /api/v1/entrustments/{entrustment_id}/release"),
    include_in_schema=False,
    request_max_body_size=release.MAX_SIGNATURE_BYTES * 2,
)
async def release_do(request: Request, entrustment_id: Id) -> Response:
    form = await request.form()
    values: dict[str, Any] = {k: str(v) for k, v in form.items() if k != "signature"}
    values["tasks"] = [str(v) for v in form.getall("tasks", [])]
    task_ids = [i for i in (_int(v) for v in values["tasks"]) if i and i > 0]
    try:
        release_id = await release.release(
            entrustment_id,
            request.user,
            mode=str(form.get("mode") or ""),
            task_ids=task_ids,
            collector=str(form.get("collector") or ""),
            method=str(form.get("method") or ""),
            signature_data_url=str(form.get("signature") or ""),
            remarks=str(form.get("remarks") or ""),
            carrier=str(form.get("carrier") or ""),
            tracking_no=str(form.get("tracking_no") or ""),
        )
    except UserError as exc:
        return await _release_page(entrustment_id, values, str(exc.detail), 400)
    return see_other(f"/business/releases/{release_id}/slip")


@get(
    "/business/releases/{release_id:int}/slip",
    opt=perm("business.view", api="GET /api/v1/business/releases/{release_id}"),
    include_in_schema=False,
)
async def release_slip(release_id: Id) -> Template:
    """交接单: what was handed over, to whom and how — printed for the file and the customer."""
    r = await release.get_release(release_id)
    return page(
        "business/release_slip.html",
        title=_("交接单 {n}", n=r["entrustment_row"]["number"]),
        r=r,
        e=r["entrustment_row"],
        cert_labels=await _state_labels("certificate"),
    )


@get(
    "/business/releases/{release_id:int}/signature.png",
    opt=perm("business.view"),
    include_in_schema=False,
)
async def release_signature(release_id: Id) -> Response:
    from metrolab.business.tables import Release

    row = await Release.select(Release.signature_sha256).where(Release.id == release_id).first()
    if row is None or not row["signature_sha256"]:
        raise UserError(status_code=404, detail="没有签名")
    return Response(storage.get(row["signature_sha256"]), media_type="image/png")


router = Router(
    path="/",
    route_handlers=[
        entrustment_list,
        entrustment_new,
        entrustment_create,
        entrustment_compute,
        entrustment_customers,
        entrustment_edit,
        entrustment_update,
        entrustment_detail,
        entrustment_slip,
        entrustment_receive,
        entrustment_act,
        task_list,
        task_assign,
        task_record,
        task_compile,
        certificate_list,
        certificate_list_export,
        certificate_detail,
        certificate_preview,
        certificate_act,
        certificate_reissue,
        approval_list,
        approval_batch,
        approval_one,
        release_page,
        release_do,
        release_slip,
        release_signature,
        *api.HANDLERS,
    ],
)
