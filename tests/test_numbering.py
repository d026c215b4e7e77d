"""Every numbered series under concurrency (委托单, 原始记录): one allocator, no duplicate, no 500."""

from __future__ import annotations

import asyncio

from conftest import run
from factories import person_async


def test_concurrent_series_numbers_are_distinct_and_consecutive(db):
    from metrolab.lab.series import allocate, numbering_transaction

    async def one() -> str:
        async with numbering_transaction():
            return await allocate("test", 2040, lambda seq: f"T{seq:03d}", _never_taken)

    async def _never_taken(number: str) -> bool:
        return False

    async def many() -> list[str]:
        return await asyncio.gather(*(one() for _ in range(20)))

    assert sorted(run(many())) == [f"T{n:03d}" for n in range(1, 21)]


def test_twenty_records_created_at_once_all_get_numbers(db):
    """Issue 12: 20 concurrent record creations gave 11 × 500 with max+1 numbering."""
    from metrolab.customers.tables import Customer
    from metrolab.records.services import create_record
    from metrolab.seed import seed_all

    run(seed_all())
    customer = Customer(name="并发测试客户")
    run(customer.save())
    verifier = run(person_async("verifier"))

    async def many() -> list[dict]:
        return await asyncio.gather(
            *(
                create_record(verifier, customer_id=customer.id, instrument_type="pressure_gauge")
                for _ in range(20)
            )
        )

    numbers = [r["number"] for r in run(many())]
    assert len(set(numbers)) == 20 and all(n.startswith("YS") for n in numbers)


def test_two_clerks_submitting_at_the_same_moment_both_get_an_entrustment(db):
    """Issue 12: concurrent entrustments gave UniqueViolation 500s in 4 of 5 trials."""
    from metrolab.business import services
    from metrolab.engine.forms import parse_submission
    from metrolab.seed import seed_all
    from test_business import entrust_form

    run(seed_all())
    clerks = [run(person_async("clerk")) for _ in range(5)]

    async def submit(clerk, n: int) -> dict:  # noqa: ANN001
        pin = await services.entrustment_form()
        data = parse_submission(pin.defn, entrust_form((f"SN-CC-{n}",)))
        problems, codes = await services.check_entrustment(pin, data)
        assert not problems
        return await services.create_entrustment(clerk, pin, data, codes)

    async def many() -> list[dict]:
        return await asyncio.gather(*(submit(c, i) for i, c in enumerate(clerks)))

    numbers = sorted(e["number"] for e in run(many()))
    assert (
        len(set(numbers)) == 5 and numbers[0].endswith("-00001") and numbers[-1].endswith("-00005")
    )
