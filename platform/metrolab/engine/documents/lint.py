"""Check an uploaded certificate template before anyone may use it.

Refuses, from the file alone: a file that is not a .docx, an oversize file, a zip
bomb (judged from the zip directory, before anything is extracted), Jinja syntax
errors (quoting the paragraph), sandbox escapes such as ``{{ ''.__class__ }}``,
variables the certificate data does not provide, and tags that would print a value the
caller marks optional (a contract's ``OPTIONAL_VARIABLES``: blank or None on a real certificate)
without a guard — so "大气压：None kPa" cannot reach a certificate.
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from jinja2 import nodes
from jinja2.exceptions import TemplateSyntaxError

from metrolab.engine.documents.problems import TemplateProblem
from metrolab.engine.documents.uploads import DOCX_LIMITS, UploadRefused, ZipLimits, zip_directory

Limits = ZipLimits  # the zip-bomb guard every office upload shares (engine/documents/uploads.py)
LIMITS = DOCX_LIMITS
# python-docx parses with one module-level lxml parser, which threads must not share.
PARSE_LOCK = threading.Lock()
_DUNDER = re.compile(r"__\w+")
# Methods a template may call on provided dicts / lists without being "unknown".
_CONTAINER_METHODS = {"items", "keys", "values", "get"}
_PROPERTIES = ("author", "comments", "keywords", "subject", "title", "category", "content_status")


def check_container(data: bytes, limits: ZipLimits = LIMITS) -> list[TemplateProblem]:
    """Is this a .docx of sane size? Reads only the zip directory (``uploads.zip_directory``)."""
    not_docx = TemplateProblem(
        "不是 Word 文档（.docx）", "not a Word document (.docx)", "文件 / file"
    )
    try:
        infos = zip_directory(data, limits)
    except UploadRefused as exc:
        if exc.code == "not_zip":
            return [not_docx]
        return [TemplateProblem(exc.message_zh, exc.message_en, exc.place)]
    names = {i.filename for i in infos}
    if "[Content_Types].xml" not in names or "word/document.xml" not in names:
        return [not_docx]
    return []


@dataclass
class Source:
    """One templated part of the document, one paragraph per line (as docxtpl renders it)."""

    place_zh: str
    xml: str

    def paragraph(self, lineno: int | None) -> str:
        if not lineno:
            return self.place_zh
        lines = self.xml.splitlines()
        line = lines[min(lineno, len(lines)) - 1]
        text = re.sub(r"<[^>]+>", "", line).strip()
        text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
        return f"{self.place_zh}第 {lineno - 1} 段：「{text[:120]}」"


def template_sources(data: bytes) -> Iterator[Source]:
    """The body, headers and footers as docxtpl hands them to Jinja."""
    from docxtpl import DocxTemplate

    tpl = DocxTemplate(io.BytesIO(data))
    tpl.init_docx()

    def lines(xml: str) -> str:
        return re.sub(r"<w:p([ >])", r"\n<w:p\1", tpl.patch_xml(xml))

    yield Source("正文", lines(tpl.get_xml()))
    props = tpl.docx.core_properties  # docxtpl renders these strings too
    values = [getattr(props, name) or "" for name in _PROPERTIES]
    yield Source("文档属性", "\n" + "\n".join(v.replace("\n", " ") for v in values))
    for uri, label in ((tpl.HEADER_URI, "页眉"), (tpl.FOOTER_URI, "页脚")):
        for _key, part in tpl.get_headers_footers(uri):
            yield Source(label, lines(tpl.get_part_xml(part)))


def sandbox_problems(tree: nodes.Template, source: Source) -> list[TemplateProblem]:
    """``_``-prefixed attributes are what every sandbox escape goes through."""
    problems = []
    for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Name, nodes.Const)):
        name: Any = None
        if isinstance(node, nodes.Getattr):
            name = node.attr if node.attr.startswith("_") else None
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            value = node.arg.value
            name = value if isinstance(value, str) and value.startswith("_") else None
        elif isinstance(node, nodes.Name):
            name = node.name if node.name.startswith("__") else None
        elif isinstance(node, nodes.Const) and isinstance(node.value, str):
            match = _DUNDER.search(node.value)
            name = match.group(0) if match else None
        if name:
            problems.append(
                TemplateProblem(
                    f"模板访问了受保护的属性 {name}，出于安全原因被拒绝",
                    f"access to the protected attribute {name!r} is refused (sandbox)",
                    source.paragraph(node.lineno),
                )
            )
    return problems


def variable_paths(data: Any, prefix: str = "") -> set[str]:
    """Dotted paths a template may use; list items as ``name[]`` (``results[].item``)."""
    paths: set[str] = set()
    if isinstance(data, dict):
        for key, value in data.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            paths.add(path)
            paths |= variable_paths(value, path)
    elif isinstance(data, list):
        if data:
            paths.add(f"{prefix}[]")
        for item in data:
            paths |= variable_paths(item, f"{prefix}[]")
    return paths


def _provided_paths(provided: set[str] | frozenset[str] | dict[str, Any]) -> set[str]:
    if isinstance(provided, dict):
        from metrolab.engine.documents.render import to_plain

        return variable_paths(to_plain(provided))
    return set(provided)


def _chain(node: nodes.Node, scope: dict[str, str]) -> str | None:
    """``instrument.name`` for ``instrument.name`` / ``instrument['name']``; None otherwise."""
    if isinstance(node, nodes.Name):
        return scope.get(node.name, node.name)
    if isinstance(node, nodes.Getattr):
        base = _chain(node.node, scope)
        return f"{base}.{node.attr}" if base else None
    if isinstance(node, nodes.Getitem):
        base = _chain(node.node, scope)
        if base is None or not isinstance(node.arg, nodes.Const):
            return None
        if isinstance(node.arg.value, int):
            return f"{base}[]"
        return f"{base}.{node.arg.value}" if isinstance(node.arg.value, str) else None
    return None


def unknown_paths(tree: nodes.Template, provided: set[str]) -> dict[str, int]:
    """Nested paths used under a provided root but not provided: ``{path: lineno}``."""
    roots = {p.split(".")[0].split("[")[0] for p in provided}
    found: dict[str, int] = {}

    def parent_is_leaf(path: str) -> bool:
        parent, _, attr = path.rpartition(".")
        children = any(p.startswith(parent + ".") for p in provided)
        return parent in provided and (not children or attr in _CONTAINER_METHODS)

    def check(path: str, lineno: int) -> None:
        root = path.split(".")[0].split("[")[0]
        if root not in roots or path in provided:
            return
        # walk up: the first missing segment is the one to report
        parts = path.split(".")
        for i in range(1, len(parts) + 1):
            prefix = ".".join(parts[:i])
            if prefix not in provided:
                if i > 1 and parent_is_leaf(prefix):
                    return  # a method of a str / dict value, e.g. .upper() or .items()
                found.setdefault(prefix, lineno)
                return

    def visit(node: nodes.Node, scope: dict[str, str]) -> None:
        if isinstance(node, nodes.For):
            visit(node.iter, scope)
            inner = dict(scope)
            iterated = _chain(node.iter, scope)
            if isinstance(node.target, nodes.Name):
                element = f"{iterated}[]" if iterated else ""
                known = element and any(p.startswith(element) for p in provided)
                inner[node.target.name] = element if known else ""  # "" = cannot follow
            for child in [*node.body, *node.else_, *([node.test] if node.test else [])]:
                visit(child, inner)
            return
        if isinstance(node, (nodes.Getattr, nodes.Getitem)):
            path = _chain(node, scope)
            if path:
                check(path, node.lineno)
                if isinstance(node, nodes.Getitem):
                    visit(node.arg, scope)
                return
        for child in node.iter_child_nodes():
            visit(child, scope)

    visit(tree, {})
    return found


def _test_guards(test: nodes.Node, scope: dict[str, str]) -> tuple[set[str], set[str]]:
    """(paths known truthy where ``test`` holds, paths known truthy where it fails)."""
    if isinstance(test, nodes.Not):
        holds, fails = _test_guards(test.node, scope)
        return fails, holds
    if isinstance(test, (nodes.And, nodes.Or)):
        left, right = _test_guards(test.left, scope), _test_guards(test.right, scope)
        if isinstance(test, nodes.And):
            return left[0] | right[0], left[1] & right[1]
        return left[0] & right[0], left[1] | right[1]
    if isinstance(test, nodes.Test) and test.name == "none":  # x is none
        path = _chain(test.node, scope)
        return set(), {path} if path else set()
    if isinstance(test, nodes.Compare) and len(test.ops) == 1:  # x != "" / x == none
        path, op = _chain(test.expr, scope), test.ops[0]
        blank = isinstance(op.expr, nodes.Const) and op.expr.value in ("", None)
        if path and blank and op.op in ("ne", "eq"):
            return ({path}, set()) if op.op == "ne" else (set(), {path})
        return set(), set()
    path = _chain(test, scope)
    return ({path} if path else set()), set()


def _is_blank_default(node: nodes.Filter) -> bool:
    """``x|default('—', true)``: replaces None and "" (without ``true`` only undefined)."""
    if node.name not in ("default", "d"):
        return False
    flag = (
        node.args[1]
        if len(node.args) > 1
        else next((k.value for k in node.kwargs if k.key == "boolean"), None)
    )
    return isinstance(flag, nodes.Const) and flag.value is True


def unguarded_optional(tree: nodes.Template, optional: set[str]) -> dict[str, tuple[int, str, str]]:
    """Optional paths printed outside every guard: ``{path: (lineno, tag as written, its guard)}``
    of the first such tag (``s.valid_until.iso`` for ``standard_devices[].valid_until``)."""
    found: dict[str, tuple[int, str, str]] = {}

    def optional_in(path: str) -> str | None:
        for o in optional:
            if path == o or path.startswith((o + ".", o + "[")):
                return o
        return None

    def printed(node: nodes.Node, scope: dict[str, str], guarded: set[str]) -> None:
        if isinstance(node, nodes.CondExpr):
            holds, fails = _test_guards(node.test, scope)
            printed(node.expr1, scope, guarded | holds)
            if node.expr2 is not None:
                printed(node.expr2, scope, guarded | fails)
            return
        if isinstance(node, (nodes.Or, nodes.And)):
            holds, fails = _test_guards(node.left, scope)
            if isinstance(node, nodes.Or):  # x or '—': x is printed only when truthy
                printed(node.left, scope, guarded | holds)
                printed(node.right, scope, guarded | fails)
            else:  # x and y: x is printed when falsy
                printed(node.left, scope, guarded)
                printed(node.right, scope, guarded | holds)
            return
        if isinstance(node, nodes.Filter) and node.node is not None and _is_blank_default(node):
            path = _chain(node.node, scope)
            printed(node.node, scope, guarded | ({path} if path else set()))
            return
        if isinstance(node, (nodes.Name, nodes.Getattr, nodes.Getitem)):
            path = _chain(node, scope)
            if path:
                o = optional_in(path)
                if o and o not in guarded:
                    written = _chain(node, {}) or path
                    suffix = path[len(o) :]
                    guard = (
                        written[: len(written) - len(suffix)]
                        if written.endswith(suffix)
                        else written
                    )
                    found.setdefault(o, (node.lineno, written, guard))
                return
        for child in node.iter_child_nodes():
            printed(child, scope, guarded)

    def visit(node: nodes.Node, scope: dict[str, str], guarded: set[str]) -> None:
        if isinstance(node, nodes.Output):
            for expr in node.nodes:
                if not isinstance(expr, nodes.TemplateData):
                    printed(expr, scope, guarded)
            return
        if isinstance(node, nodes.If):
            holds, fails = _test_guards(node.test, scope)
            for child in node.body:
                visit(child, scope, guarded | holds)
            for child in [*node.elif_, *node.else_]:
                visit(child, scope, guarded | fails)
            return
        if isinstance(node, nodes.For):
            inner = dict(scope)
            iterated = _chain(node.iter, scope)
            if isinstance(node.target, nodes.Name):
                inner[node.target.name] = f"{iterated}[]" if iterated else ""
            holds = _test_guards(node.test, inner)[0] if node.test else set()
            for child in node.body:
                visit(child, inner, guarded | holds)
            for child in node.else_:
                visit(child, scope, guarded)
            return
        for child in node.iter_child_nodes():
            visit(child, scope, guarded)

    visit(tree, {}, set())
    return found


def _optional_problem(path: str, written: str, guard: str, place: str) -> TemplateProblem:
    about = guard if guard == path else f"{guard}（{path}）"
    return TemplateProblem(
        f"模板标签 {{{{ {written} }}}} 直接打印了可能为空的 {about}：没有数据时证书上会印出“None”"
        f"或只剩单位。请放在 {{% if {guard} %}}…{{% endif %}} 中，或写成 "
        f"{{{{ {written}|default('—', true) }}}}",
        f"{{{{ {written} }}}} prints {path}, which may be blank or None, without a guard: wrap it in "
        f"{{% if {guard} %}}…{{% endif %}} or write {{{{ {written}|default('—', true) }}}}",
        place,
    )


def lint_template(
    data: bytes,
    provided: set[str] | frozenset[str] | dict[str, Any],
    limits: ZipLimits = LIMITS,
    *,
    optional: set[str] | frozenset[str] | None = None,
) -> list[TemplateProblem]:
    """Every problem found in ``data``; an empty list means the template may be used.

    ``provided``: the variables the certificate data offers, as dotted paths
    (``certificates.contract.PROVIDED_VARIABLES``) or as a sample dict to derive them from.
    ``optional``: paths that may be blank and must be printed behind a guard (the certificate
    contract's ``OPTIONAL_VARIABLES``).
    """
    problems = check_container(data, limits)
    if problems:
        return problems
    from docxtpl import DocxTemplate

    from metrolab.engine.documents.render import sandbox_environment

    env = sandbox_environment()
    paths = _provided_paths(provided)
    optional = set(optional or ()) & paths
    unguarded: dict[str, tuple[str, str, str]] = {}
    try:
        with PARSE_LOCK:
            sources = list(template_sources(data))
            declared = DocxTemplate(io.BytesIO(data)).get_undeclared_template_variables(env)
    except TemplateSyntaxError:
        declared = None  # reported per part below
    except Exception as exc:  # noqa: BLE001 - a broken docx inside a valid zip
        return [TemplateProblem(f"无法读取 Word 文档：{exc}", f"cannot read the document: {exc}")]

    unknown: dict[str, str] = {}
    for source in sources:
        try:
            tree = env.parse(source.xml)
        except TemplateSyntaxError as exc:
            problems.append(
                TemplateProblem(
                    f"模板语法错误：{exc.message}",
                    f"template syntax error: {exc.message}",
                    source.paragraph(exc.lineno),
                )
            )
            continue
        problems += sandbox_problems(tree, source)
        for path, (lineno, written, guard) in unguarded_optional(tree, set(optional)).items():
            unguarded.setdefault(path, (written, guard, source.paragraph(lineno)))
        for path, lineno in unknown_paths(tree, paths).items():
            unknown.setdefault(path, source.paragraph(lineno))
        if declared is not None:
            roots = {p.split(".")[0].split("[")[0] for p in paths}
            for name in sorted(declared - roots):
                if name in source.xml:
                    for node in tree.find_all(nodes.Name):
                        if node.name == name:
                            unknown.setdefault(name, source.paragraph(node.lineno))
                            break
    problems += [_optional_problem(path, *where) for path, where in sorted(unguarded.items())]
    if unknown:
        names = sorted(unknown)
        problems.append(
            TemplateProblem(
                f"模板使用了证书数据中没有的变量：{'、'.join(names)}",
                f"unknown variables (not in the certificate data): {', '.join(names)}",
                "；".join(dict.fromkeys(unknown[n] for n in names)),
            )
        )
    return problems
