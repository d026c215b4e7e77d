"""The demo lab's business (`metrolab demo`): entrustments and certificates in every state, made through
the same services the pages use, so a newcomer can click through each role's work at once.

Demo users act here without typing their passwords (a SignerProof stands for the re-entered password);
everything else — rules, workflow, numbering, PDF — is the real path."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from metrolab.web.auth import CurrentUser

log = logging.getLogger("metrolab")
DEMO_TYPE = "methane_detector"
# How far each demo entrustment goes (one instrument each).
STAGES = ["registered", "assigned", "compiling", "checking", "approving", "issued", "stored"]


async def _people() -> dict[str, CurrentUser] | None:
    from metrolab.accounts.services import roles_of
    from metrolab.accounts.tables import User

    people = {}
    for username in ("clerk", "verifier", "checker", "signatory"):
        row = await User.select(User.id, User.full_name).where(User.username == username).first()
        if row is None:
            return None
        roles = frozenset(r["key"] for r in await roles_of(row["id"]))
        people[username] = CurrentUser(
            id=row["id"],
            username=username,
            full_name=row["full_name"],
            language="zh",
            department_id=None,
            roles=roles,
        )
    return people


async def _fill(record_id: int, verifier: CurrentUser) -> None:
    """The verifier's readings: the form's sample data, saved through the records service (so the
    record has its first revision and is sealed in the audit chain, as when a person saves it)."""
    from metrolab.engine.forms import sample_data
    from metrolab.indicators.services import get_catalogue, standards_for_picker
    from metrolab.records import services as records

    itype = await get_catalogue(DEMO_TYPE)
    rec = await records.record_or_404(record_id)
    pin = await records.pinned(rec["form_version"])
    picker = await standards_for_picker(date.today(), DEMO_TYPE)
    chosen = ([s for s in picker if not s.get("expired")] or picker)[:2]
    # The shipped demo standards expire (one on purpose): verify on a day they were all valid.
    on = min(
        [date.today(), *(date.fromisoformat(s["valid_until"]) for s in chosen if s["valid_until"])]
    )
    data = {
        **sample_data(pin.defn, itype),
        **{k: v for k, v in (rec["data"] or {}).items() if v},  # what the entrustment filled in
        "standards": [s["code"] for s in chosen],
        "verification_date": on.isoformat(),
    }
    header = {"customer": rec["customer"], "instrument_name": rec["instrument_name"]}
    outcome = await records.save(record_id, header, data, verifier)
    if not outcome.saved:
        raise RuntimeError(f"demo record not saved: {outcome.header_errors or outcome.problems}")


async def _entrust(clerk: CurrentUser, customer: str, serial: str) -> dict[str, Any]:
    from metrolab.business import services
    from metrolab.engine.forms import parse_submission

    pin = await services.entrustment_form()
    posted = {
        "customer": customer,
        "contact": "王站长",
        "phone": "0310-5551234",
        "service_mode": "送检",
        "instruments.0.instrument_type": DEMO_TYPE,
        "instruments.0.serial": serial,
        "instruments.0.quantity": "1",
        "instruments.0.model": "JCB4",
    }
    data = parse_submission(pin.defn, posted)
    problems, codes = await services.check_entrustment(pin, data)
    if problems:
        raise RuntimeError(f"demo entrustment refused: {problems}")
    return await services.create_entrustment(clerk, pin, data, codes)


async def seed_demo_business() -> int:
    from metrolab.business import services, storage_in
    from metrolab.business.tables import Entrustment
    from metrolab.certificates import workflow as cw
    from metrolab.customers.tables import Customer
    from metrolab.workflows.signatures import SignerProof

    people = await _people()
    if people is None or await Entrustment.exists():
        return 0
    customer = await Customer.select(Customer.name).where(Customer.category == "煤矿").first()
    if customer is None:
        return 0
    p = people
    made = 0
    for n, stage in enumerate(STAGES, start=1):
        e = await _entrust(p["clerk"], customer["name"], f"DEMO-{n:03d}")
        made += 1
        if stage == "registered":
            continue
        await services.receive(e["id"], p["verifier"], 1)
        (task,) = await services.tasks_of(e["id"])
        await services.assign(task["id"], p["verifier"].id, p["verifier"])
        if stage == "assigned":
            continue
        await _fill(await services.open_record(task["id"], p["verifier"]), p["verifier"])
        cid = await services.compile_certificate(task["id"], p["verifier"])
        steps = [("submit", "verifier"), ("pass_check", "checker"), ("approve", "signatory")]
        wanted = {"compiling": 0, "checking": 1, "approving": 2}.get(stage, 3)
        try:
            for action, who in steps[:wanted]:
                await cw.act(cid, action, p[who], password=SignerProof(p[who].id))
        except Exception as exc:  # noqa: BLE001 - no PDF converter on this machine: stop before issuing
            log.warning("demo certificate %s stopped at %s: %s", cid, stage, exc)
            continue
        if stage == "stored":  # 完成入库: the clerk can hand it over (release) in the demo
            await storage_in.store(
                e["id"], p["verifier"], location="仪表库 A-01", receiver=p["verifier"].id, count=1
            )
    return made
