"""A published (or retired) form version never changes: a trigger refuses an UPDATE of its content."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-24T13:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "published form versions are immutable"


# A published (or retired) version never changes: only published → retired is allowed.
_SQLITE_TRIGGER = """
CREATE TRIGGER form_version_published_immutable BEFORE UPDATE ON form_version
WHEN OLD.status IN ('published', 'retired') AND (
    NEW.definition IS NOT OLD.definition OR NEW.schema IS NOT OLD.schema
    OR NEW.number IS NOT OLD.number OR NEW.form IS NOT OLD.form
    OR NEW.approval_signature IS NOT OLD.approval_signature OR NEW.revision IS NOT OLD.revision
    OR (NEW.status <> OLD.status AND NEW.status <> 'retired'))
BEGIN SELECT RAISE(ABORT, '已发布的表单版本不可修改'); END
"""
_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION form_version_published_immutable() RETURNS trigger AS $$
BEGIN
  IF OLD.status IN ('published', 'retired') AND (
      NEW.definition::text IS DISTINCT FROM OLD.definition::text
      OR NEW.schema::text IS DISTINCT FROM OLD.schema::text
      OR NEW.number IS DISTINCT FROM OLD.number OR NEW.form IS DISTINCT FROM OLD.form
      OR NEW.approval_signature::text IS DISTINCT FROM OLD.approval_signature::text
      OR NEW.revision IS DISTINCT FROM OLD.revision
      OR (NEW.status <> OLD.status AND NEW.status <> 'retired')) THEN
    RAISE EXCEPTION '已发布的表单版本不可修改' USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql
"""
_PG_TRIGGER = """
CREATE TRIGGER form_version_published_immutable BEFORE UPDATE ON form_version
FOR EACH ROW EXECUTE FUNCTION form_version_published_immutable()
"""


async def _immutable_trigger():
    from piccolo.engine.postgres import PostgresEngine

    from metrolab.forms.tables import FormVersion

    engine = FormVersion._meta.db
    if isinstance(engine, PostgresEngine):
        await engine.run_ddl(_PG_FUNCTION)
        await engine.run_ddl(_PG_TRIGGER)
    else:
        await engine.run_ddl(_SQLITE_TRIGGER)



async def _drop_trigger():
    from piccolo.engine.postgres import PostgresEngine

    from metrolab.forms.tables import FormVersion

    engine = FormVersion._meta.db
    await engine.run_ddl("DROP TRIGGER IF EXISTS form_version_published_immutable"
                         + (" ON form_version" if isinstance(engine, PostgresEngine) else ""))


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="forms", description=DESCRIPTION)
    manager.add_raw(_immutable_trigger)
    manager.add_raw_backwards(_drop_trigger)
    return manager
