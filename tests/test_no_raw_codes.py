"""No raw codes on a page: every page of the demo lab, walked by every demo user in 中文 and in English,
shows workflow states and actions, roles and form categories by their labels, never by their keys —
and no link it is shown ends on an error page (no dead ends).

The walk starts at the home page and follows every link inside the site (GET only, two pages per
path shape, downloads and the API left out). The codes looked for are read from the definitions
themselves (seed_data/workflows/*.json, the role table, the form categories), so a new workflow is
covered without touching this test. In English a code is only flagged when it cannot be an English
word (it has an underscore: `return_check`, `tech_manager`); in 中文 any code word is flagged, except a
person's username (the demo users are called after their roles). An identifier a definition page shows
on purpose beside its label is marked as such (`<code>` or class `ml-key`) and not counted."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from conftest import ROOT, run

SKIP = re.compile(
    r"^/(static|api|logout|language)|\.(pdf|docx|xlsx|csv|png|svg|zip|json|xml)$|/(export|print)$"
)
PER_SHAPE = 2  # pages per path shape (/customers/1 and /customers/2 are one shape)
MAX_PAGES = 160  # per person and language


class _Text(HTMLParser):
    """The visible text of a page (no scripts, styles, attribute values or hover tips) and its links."""

    VOID = {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "source",
        "wbr",
    }

    def __init__(self) -> None:
        super().__init__()
        self.chunks: list[str] = []
        self.links: list[str] = []
        self._open: list[tuple[str, bool]] = []  # (tag, hides its content)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "a" and attributes.get("href"):
            self.links.append(attributes["href"] or "")
        if tag in self.VOID:
            return
        in_svg = any(t == "svg" for t, _ in self._open)
        hides = (
            tag in {"script", "style", "template", "textarea"}  # a textarea holds what is typed
            or (tag == "title" and in_svg)  # a diagram's <title> is a hover tip
            # an identifier shown on purpose beside its label (definition pages): <code> or .ml-key
            or tag == "code"
            or "ml-key" in (attributes.get("class") or "").split()
        )
        self._open.append((tag, hides))

    def handle_endtag(self, tag: str) -> None:
        if any(t == tag for t, _ in self._open):
            while self._open and self._open.pop()[0] != tag:
                pass

    def handle_data(self, data: str) -> None:
        if not any(hides for _, hides in self._open):
            self.chunks.append(data)


def _codes() -> set[str]:
    codes: set[str] = set()
    for path in (ROOT / "seed_data" / "workflows").glob("*.json"):
        definition = json.loads(path.read_text(encoding="utf-8"))
        codes |= {s["key"] for s in definition["states"]}
        codes |= {t["key"] for t in definition["transitions"]}
    roles = json.loads((ROOT / "seed_data" / "roles.json").read_text(encoding="utf-8"))
    codes |= {r["key"] for r in (roles["roles"] if isinstance(roles, dict) else roles)}
    from metrolab.engine.forms.model import KINDS

    codes |= set(KINDS)  # form categories
    return {c for c in codes if re.fullmatch(r"[a-z][a-z0-9_]+", c)}


def _around(text: str, word: str) -> str:
    at = re.search(rf"(?<![\w./-]){word}(?![\w/-])", text)
    return text[max(0, at.start() - 30) : at.end() + 10] if at else ""


def _shape(path: str) -> str:
    return re.sub(r"/\d+", "/N", path)


def _walk(
    browser,  # noqa: ANN001
    lang: str,
    codes: set[str],
    usernames: set[str],
    dead: dict[str, str],
) -> dict[str, set[str]]:
    """Pages (by URL) → the raw codes found on them; links that end in an error page go to `dead`
    (link → the page that offered it)."""
    browser.post("/language", data={"language": lang}, follow_redirects=False)
    found: dict[str, set[str]] = {}
    queue, seen, shapes = [("/", "")], {"/"}, {}
    while queue and len(seen) <= MAX_PAGES:
        url, came_from = queue.pop(0)
        r = browser.get(url, follow_redirects=True)
        if r.status_code >= 400:
            dead[url] = f"{r.status_code} from {came_from}"
            continue
        if r.status_code != 200 or "text/html" not in r.headers.get("content-type", ""):
            continue
        page = _Text()
        page.feed(r.text)
        text = re.sub(r"\s+", " ", " ".join(page.chunks))
        words = set(re.findall(r"(?<![\w./-])[a-z][a-z0-9_]+(?![\w/-])", text))
        if lang == "en":
            raw = {w for w in words & codes if "_" in w}
        else:
            raw = (words & codes) - usernames
        if raw:  # each with where it stands, so the failure says which words to look for
            found[url] = {f"{w} «{_around(text, w)}»" for w in raw}
        for href in page.links:
            target = urlsplit(urljoin("http://testserver.local" + url, href))
            if target.netloc != "testserver.local" or SKIP.search(target.path):
                continue
            link = target.path + (f"?{target.query}" if target.query else "")
            shape = _shape(target.path)
            if link in seen or shapes.get(shape, 0) >= PER_SHAPE:
                continue
            shapes[shape] = shapes.get(shape, 0) + 1
            seen.add(link)
            queue.append((link, url))
    return found


def test_no_page_of_the_demo_lab_shows_a_raw_code(new_browser, seeded, converter):
    from metrolab.accounts.tables import User
    from metrolab.features import seeders
    from metrolab.seed import demo_users

    async def demo() -> list[tuple[str, str, str]]:
        created = await demo_users()
        for _name, seed in seeders(demo=True):
            await seed()
        return created

    people = run(demo())
    usernames = {r["username"] for r in run(User.select(User.username))}
    codes = _codes()
    assert {"return_check", "tech_manager", "issued"} <= codes  # the definitions were read
    problems, dead_ends = {}, {}
    for username, _role, password in people:
        browser = new_browser().login({"username": username, "password": password})
        for lang in ("zh", "en"):
            dead: dict[str, str] = {}
            for url, raw in _walk(browser, lang, codes, usernames, dead).items():
                problems[f"{username} {lang} {url}"] = sorted(raw)
            dead_ends.update({f"{username} {url}": why for url, why in dead.items()})
    assert not problems, "raw codes on pages:\n" + "\n".join(
        f"  {where}: {', '.join(raw)}" for where, raw in sorted(problems.items())
    )
    # No dead ends: a link a person is shown opens for that person.
    assert not dead_ends, "links that end on an error page:\n" + "\n".join(
        f"  {where}: {why}" for where, why in sorted(dead_ends.items())
    )
