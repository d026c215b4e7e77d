"""Stamp the sessions and tokens that exist with their user's current password (so they stay
valid until the password changes)."""

import hashlib

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table
from piccolo.columns import Varchar

ID = "2026-12-02T04:12:38:783926"
VERSION = "1.38.0"
DESCRIPTION = "login_session, api_token: stamp existing rows with the password"


class AppUser(Table, tablename="app_user"):
    password_hash = Varchar(length=255)


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="accounts", description=DESCRIPTION
    )

    async def stamp():
        for user in await AppUser.select(AppUser.id, AppUser.password_hash):
            value = hashlib.sha256((user["password_hash"] or "").encode()).hexdigest()
            for table in ("login_session", "api_token"):
                await AppUser.raw(
                    f'UPDATE {table} SET password_stamp = {{}} WHERE "user" = {{}}',
                    value,
                    user["id"],
                )

    manager.add_raw(stamp)
    return manager
