"""Original records printed from the 证书打印 page (§5.8.11): the record's data rendered by the form
engine in "view" mode under the form version it was filled with. The records feature owns the
tables; they are imported lazily so this feature works before and after it lands."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from metrolab.certificates.catalogue import instrument_type
from metrolab.kernel.errors import NotFound


async def printable_record(record_id: int) -> dict[str, Any]:
    from metrolab.certificates.services import in_range

    if not in_range(record_id):
        raise NotFound("原始记录不存在")
    try:
        from metrolab.forms.tables import FormVersion
        from metrolab.records.tables import OriginalRecord
    except ImportError as exc:
        raise NotFound("原始记录功能尚未安装") from exc
    from metrolab.engine.forms import load_definition, render_form

    row = (
        await OriginalRecord.select()
        .where(OriginalRecord.id == record_id)
        .output(load_json=True)
        .first()
    )
    if row is None:
        raise NotFound("原始记录不存在")
    version = (
        await FormVersion.select(FormVersion.definition)
        .where(FormVersion.id == row["form_version"])
        .output(load_json=True)
        .first()
    )
    if version is None:
        raise NotFound("原始记录的表单版本不存在")
    catalogue = await instrument_type(row["instrument_type"])
    defn = load_definition(version["definition"], catalogue=catalogue)
    html = render_form(defn, row["data"] or {}, [], catalogue, {}, "zh", "view")
    title = defn.title.get("zh") if isinstance(getattr(defn, "title", None), dict) else ""
    return {"title": title or "原始记录", "record": row, "html": Markup(html)}  # noqa: S704
