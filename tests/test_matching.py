"""Every list's search box finds what is typed wherever it occurs, ignoring case, and takes it
literally: % and _ are characters, not wildcards (kernel.matching, on both databases)."""

from __future__ import annotations

from conftest import run
from metrolab.business.tables import Entrustment
from metrolab.customers import services as customers
from metrolab.customers.tables import Customer
from metrolab.kernel.matching import contains, like_pattern

NAMES = ("峰峰集团大淑村矿", "100%合格 计量站", "A_B Petrol", "ab petrol", "back\\slash 站")


def test_a_search_finds_the_characters_typed_and_nothing_wider(db):
    run(Customer.insert(*[Customer(name=n, category="煤矿") for n in NAMES]))

    def found(q: str) -> set[str]:
        return {r["name"] for r in run(customers.search(q))[0]}

    assert found("大淑村") == {"峰峰集团大淑村矿"}
    assert found("%") == {"100%合格 计量站"}  # a wildcard would find all five
    assert found("0%合") == {"100%合格 计量站"}
    assert found("a_b") == {"A_B Petrol"}  # not "ab petrol": _ is an underscore; case ignored
    assert found("_") == {"A_B Petrol"}
    assert found("k\\s") == {"back\\slash 站"}
    assert found("petrol") == {"A_B Petrol", "ab petrol"}


def test_a_joined_column_brings_its_join(db):
    query = Entrustment.select(Entrustment.id).where(contains(Entrustment.customer.name, "矿"))
    assert "JOIN" in str(query) and run(query) == []  # the statement runs: its join is there
    assert like_pattern("5%_\\") == "%5\\%\\_\\\\%"
