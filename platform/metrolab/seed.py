"""Load shipped data from seed_data/ (idempotent) and create the demo lab's users."""

from __future__ import annotations

import json
import secrets
from datetime import date
from typing import Any

from metrolab.paths import data_folder


def _read(name: str) -> Any:
    path = data_folder("seed_data") / name
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


async def seed_roles() -> int:
    from metrolab.accounts.tables import Role
    from metrolab.features import register_all
    from metrolab.web.permissions import PERMISSIONS

    register_all()

    roles = _read("roles.json")["roles"]
    for role in roles:
        unknown = set(role["permissions"]) - set(PERMISSIONS)
        if unknown:
            raise ValueError(
                f"seed_data/roles.json: 角色 {role['key']} 含未知权限 {sorted(unknown)}"
            )
        # Only missing roles are created: an administrator's later changes to a role are kept.
        if not await Role.exists().where(Role.key == role["key"]):
            await Role.insert(
                Role(
                    key=role["key"],
                    name_zh=role["name"]["zh"],
                    name_en=role["name"]["en"],
                    permissions=role["permissions"],
                )
            )
    return len(roles)


async def seed_lab() -> int:
    from metrolab.accounts.tables import Department
    from metrolab.lab.tables import PublicPage

    lab = _read("lab.json")
    for dept in lab["departments"]:
        if not await Department.exists().where(Department.code == dept["code"]):
            await Department.insert(
                Department(
                    name=dept["name"], code=dept["code"], description=dept.get("description", "")
                )
            )
    for i, page in enumerate(lab["public_pages"]):
        if not await PublicPage.exists().where(PublicPage.slug == page["slug"]):
            await PublicPage.insert(
                PublicPage(
                    slug=page["slug"],
                    position=i,
                    title_zh=page["title"]["zh"],
                    title_en=page["title"]["en"],
                    body_zh=page["body"]["zh"],
                    body_en=page["body"].get("en", ""),
                )
            )
    return len(lab["departments"]) + len(lab["public_pages"])


_CATEGORY_OF_KIND = {"gas_station": "加油站", "coal_mine": "煤矿"}


async def seed_customers() -> int:
    from metrolab.customers.tables import Contact, Customer

    demo = _read("demo_lab.json") or {}
    n = 0
    for c in demo.get("customers", []):
        if await Customer.exists().where(Customer.name == c["name"]):
            continue
        category = c.get("category") or _CATEGORY_OF_KIND.get(c.get("kind", ""), "")
        customer = Customer(
            name=c["name"],
            credit_code=c.get("credit_code", ""),
            category=category,
            address=c.get("address", ""),
            phone=c.get("phone", ""),
        )
        await customer.save()
        contacts = c.get("contacts") or (
            [{"name": c["contact"], "phone": c.get("phone", "")}] if c.get("contact") else []
        )
        for p in contacts:
            await Contact.insert(
                Contact(
                    customer=customer.id,
                    name=p["name"],
                    phone=p.get("phone", ""),
                    position=p.get("position", ""),
                )
            )
        n += 1
    return n


async def seed_all(demo: bool = False) -> dict[str, int]:
    """Every feature's seeders in feature order (then the demo lab's, when asked)."""
    from metrolab.audit.chain import adopt
    from metrolab.features import seeders

    steps = seeders() + (seeders(demo=True) if demo else [])
    done = {name: await fn() for name, fn in steps}
    # What the seed made (and rows from before the chains existed) enters the audit chains.
    done["审计链（新封存）"] = sum((await adopt()).values())
    return done


async def demo_users() -> list[tuple[str, str, str]]:
    """One user per role. Returns (username, role, password) for users created now — printed once."""
    from metrolab.accounts import staff
    from metrolab.accounts.tables import Department, Qualification, User

    demo = _read("demo_users.json")
    created = []
    for u in demo["users"]:
        if await User.exists().where(User.username == u["username"]):
            continue
        dept = (
            await Department.select(Department.id)
            .where(Department.code == u.get("department", ""))
            .first()
        )
        password = secrets.token_urlsafe(9)
        user = await staff.create_user(
            {
                "username": u["username"],
                "full_name": u["full_name"],
                "password": password,
                "department": str(dept["id"]) if dept else "",
            },
            u["roles"],
        )
        for q in u.get("qualifications", []):
            await Qualification.insert(
                Qualification(
                    user=user.id,
                    certificate_no=q["certificate_no"],
                    instrument_types=q["instrument_types"],
                    valid_until=date.fromisoformat(q["valid_until"]),
                )
            )
        created.append((u["username"], ",".join(u["roles"]), password))
    return created
