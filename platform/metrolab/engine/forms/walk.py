"""Walk a record's data along the scope tree: every field with its path, value and labels."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from metrolab.engine.forms.model import text_of
from metrolab.engine.forms.problems import Labels, row_label
from metrolab.engine.forms.scopes import Entry, Scope


@dataclass
class Visit:
    path: str
    entry: Entry
    value: Any
    labels: Labels
    container: dict[str, Any]


def rows_of(value: Any) -> list[dict[str, Any]]:
    return [r if isinstance(r, dict) else {} for r in value] if isinstance(value, list) else []


def visit(scope: Scope, data: Any, prefix: str = "", labels: Labels = ()) -> Iterator[Visit]:
    """Every entry of ``scope`` over ``data``, descending into rows, groups, items and points."""
    data = data if isinstance(data, dict) else {}
    for key, entry in scope.entries.items():
        path = prefix + key
        value = data.get(key)
        yield Visit(path, entry, value, labels, data)
        if entry.inner is not None and entry.repeat:
            for i, row in enumerate(rows_of(value)):
                yield from visit(
                    entry.inner, row, f"{path}.{i}.", labels + (row_label(entry.node, i),)
                )
        elif entry.inner is not None:
            yield from visit(entry.inner, value, f"{path}.", labels)
        elif entry.kind == "indicator":
            items = value if isinstance(value, dict) else {}
            for spec in entry.items:
                if spec.code == "*":
                    continue
                name = spec.item.get("name") or {}
                ilabels = labels + ((text_of(name, "zh"), text_of(name, "en")),)
                found = items.get(spec.code)
                idata = found if isinstance(found, dict) else {}
                for j, pdata in enumerate(rows_of(idata.get("points"))):
                    point = spec.points[j] if j < len(spec.points) else {}
                    plabel = point.get("label") or {
                        "zh": point.get("code", ""),
                        "en": point.get("code", ""),
                    }
                    yield from visit(
                        spec.point_scope,
                        pdata,
                        f"{path}.{spec.code}.points.{j}.",
                        ilabels + ((text_of(plabel, "zh"), text_of(plabel, "en")),),
                    )
