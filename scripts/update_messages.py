"""Collect every `_("…")` message from templates and Python into the English catalogue.

New messages are added with an empty translation (the UI shows 中文 until someone translates them);
messages no longer used are dropped. Run: .venv/bin/python scripts/update_messages.py [--check]
(--check exits 1 when a message lacks an English translation)."""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "platform" / "metrolab"
PO = PACKAGE / "locale" / "en" / "LC_MESSAGES" / "messages.po"
METHODS = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
OPTIONS = {"**/templates/**.html": {"trimmed": "true"}}


def collect() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for filename, lineno, message, _comments, _ctx in extract_from_dir(
        PACKAGE, METHODS, options_map=OPTIONS, keywords={"_": None, "gettext": None, "N_": None}
    ):
        if isinstance(message, str) and message:
            found.setdefault(message, []).append(f"{filename}:{lineno}")
    return found


def main() -> int:
    old = read_po(PO.open("rb")) if PO.exists() else Catalog(locale="en")
    new = Catalog(locale="en", project="metrolab", charset="utf-8")
    missing = []
    for msgid, places in sorted(collect().items()):
        previous = old.get(msgid)
        string = previous.string if previous else ""
        new.add(msgid, string, locations=[(p.rsplit(":", 1)[0], int(p.rsplit(":", 1)[1])) for p in places[:3]])
        if not string:
            missing.append(msgid)
    # Messages translated by hand for text that reaches `_()` dynamically (refusal details) are kept.
    for message in old:
        if message.id and message.string and message.id not in new and "dynamic" in (message.auto_comments or []):
            new.add(message.id, message.string, auto_comments=["dynamic"])
    if "--check" in sys.argv:
        for msgid in missing:
            print(f"untranslated: {msgid}")
        return 1 if missing else 0
    PO.parent.mkdir(parents=True, exist_ok=True)
    with PO.open("wb") as f:
        write_po(f, new, width=0, omit_header=False, sort_output=True)
    print(f"{len(new)} messages, {len(missing)} untranslated → {PO.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
