"""The 委托单 and 检定任务 lists (§5.7.1, §5.8.1): paged, counted and searched as the certificate
and record lists are (``kernel.listing``), so that a lab's millionth task costs what its first did.

A filter names its value in the statement (``listing.equals``); what is typed is found on the
list's own columns and, through the indexes, as the ids of the matching customers, entrustments
and certificates — not as a join of every row to its customer.
"""

from __future__ import annotations

import functools
import operator
from typing import Any

from piccolo.custom_types import Combinable

from metrolab.business.services import AWAITING_RELEASE, task_columns, to_compile
from metrolab.business.tables import Entrustment, VerificationTask
from metrolab.certificates.tables import Certificate
from metrolab.customers.tables import Customer
from metrolab.kernel import listing
from metrolab.kernel.matching import contains, number_contains
from metrolab.kernel.paging import Total
from metrolab.kernel.text import actor_id

PER_PAGE = 50
# What the 委托单 list's search box reads besides the number and customer (the task list's: none).
ENTRUSTMENT_TEXT = (Entrustment.contact, Entrustment.phone)


async def entrustments(
    q: str = "", status: str = "", stage: str = "", *, page_no: int = 1, per_page: int = PER_PAGE
) -> tuple[list[dict[str, Any]], Total]:
    """A page of 委托单 (newest first) and the list's count. What is typed finds an entrustment by
    its number, contact or phone, or its customer; ``stage="release"``: those awaiting 发放."""
    columns = [
        *Entrustment.all_columns(exclude=[Entrustment.data]),
        Entrustment.customer.name.as_alias("customer_name"),
    ]
    where: list[Combinable] = []
    if status:
        where.append(listing.equals(Entrustment.status, status))
    if stage == "release":
        where.append(listing.among(Entrustment.status, AWAITING_RELEASE))
    return await listing.newest_first(
        Entrustment, columns, where, await _entrustment_found(q), page_no=page_no, per_page=per_page
    )


async def _entrustment_found(text: str) -> listing.Found | None:
    q = listing.searchable(text)
    if not q:
        return None
    row_by_row, indexed = await _entrustment_matches(q, ENTRUSTMENT_TEXT)
    return listing.Found(row_by_row, indexed, countable=len(q) >= listing.TRIGRAM)


async def _entrustment_matches(q: str, text: tuple[Any, ...]) -> tuple[Combinable, Combinable]:
    """Entrustments whose number, other ``text`` columns or customer contain ``q``, tested row by
    row and through the indexes (the number's suffixes): on their own columns, the few matching
    customers named by id."""
    others = [contains(column, q) for column in text]
    if customers := await listing.ids_matching(Customer, contains(Customer.name, q)):
        others.append(Entrustment.customer.is_in(customers))
    return (
        functools.reduce(operator.or_, [contains(Entrustment.number, q), *others]),
        functools.reduce(operator.or_, [number_contains(Entrustment.number, q), *others]),
    )


async def tasks(
    user: Any,
    mine: bool = False,  # noqa: FBT001, FBT002 — the list's 只看我的 box
    stage: str = "",
    q: str = "",
    *,
    page_no: int = 1,
    per_page: int = PER_PAGE,
) -> tuple[list[dict[str, Any]], Total]:
    """A page of 检定任务 (newest first) and the list's count: ``mine`` the signed-in person's,
    ``stage`` 待编制 (compile) or 待分配 (unassigned). What is typed finds a task by its 出厂编号,
    name or model, its 委托单号 or customer, or its certificate number."""
    where: list[Combinable] = []
    if mine:
        uid = actor_id(user)
        where.append(
            listing.equals(VerificationTask.assigned_to, uid)
            if uid is not None
            else VerificationTask.assigned_to.is_null()
        )
    if stage == "compile":
        where.append(to_compile())
    elif stage == "unassigned":
        where.append(listing.equals(VerificationTask.status, "registered"))
    return await listing.newest_first(
        VerificationTask,
        task_columns(),
        where,
        await _task_found(q),
        page_no=page_no,
        per_page=per_page,
    )


async def _task_found(text: str) -> listing.Found | None:
    """Walking the newest tasks, each looks its entrustment and certificate up; through the
    indexes the matching entrustments and certificates are named by id instead."""
    q = listing.searchable(text)
    if not q:
        return None
    own = [
        contains(column, q)
        for column in (VerificationTask.serial, VerificationTask.name, VerificationTask.model)
    ]
    entrustment, entrustment_indexed = await _entrustment_matches(q, ())
    looked_up = [
        listing.through(VerificationTask.entrustment, entrustment),
        listing.through(VerificationTask.certificate, contains(Certificate.number, q)),
    ]
    by_id = []
    if found := await listing.ids_matching(Entrustment, entrustment_indexed, q):
        by_id.append(VerificationTask.entrustment.is_in(found))
    if found := await listing.ids_matching(Certificate, number_contains(Certificate.number, q), q):
        by_id.append(VerificationTask.certificate.is_in(found))
    walked: list[Combinable] = [*own, *looked_up]
    by_index: list[Combinable] = [*own, *by_id]
    return listing.Found(
        functools.reduce(operator.or_, walked),
        functools.reduce(operator.or_, by_index),
        countable=len(q) >= listing.TRIGRAM,
    )
