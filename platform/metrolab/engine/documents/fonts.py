"""The font faces certificate templates name, and what each becomes through metrolab's fontconfig file.

A Latin face must resolve to its metric-compatible free twin (same advance widths, so a line breaks
where it does in Word), a CJK face to Noto CJK. This is the one list of those twins: ``metrolab
check`` (``pdf.diagnose``) reports the shipped templates' faces with it, and scripts/check_fonts.sh
runs this module at install time::

    PYTHONPATH=platform python3 -m metrolab.engine.documents.fonts   # exit 1 when a face is wrong

Standard library only: it runs before the project's virtualenv exists.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from metrolab.engine.documents.libreoffice import soffice_env

LATIN_TWINS = {
    "Times New Roman": "Liberation Serif",
    "Times": "Liberation Serif",
    "Arial": "Liberation Sans",
    "Helvetica": "Liberation Sans",
    "Courier New": "Liberation Mono",
    "Courier": "Liberation Mono",
    "Calibri": "Carlito",
    "Cambria": "Caladea",
}
CJK_FACES = {
    "宋体": "Noto Serif CJK SC",
    "SimSun": "Noto Serif CJK SC",
    "新宋体": "Noto Serif CJK SC",
    "NSimSun": "Noto Serif CJK SC",
    "黑体": "Noto Sans CJK SC",
    "SimHei": "Noto Sans CJK SC",
    "微软雅黑": "Noto Sans CJK SC",
    "Microsoft YaHei": "Noto Sans CJK SC",
}
# Other CJK faces (仿宋, 楷体 …) pass when they reach a real CJK face (fonts.conf prefers these).
CJK_FAMILIES = ("Noto Serif CJK", "Noto Sans CJK", "FandolFang", "FandolKai", "AR PL")
SYMBOL_FACES = {"Symbol", "Wingdings", "OpenSymbol"}  # list bullets: no text, no widths to match
PACKAGES = "fonts-liberation2 fonts-crosextra-carlito fonts-crosextra-caladea fonts-noto-cjk"
_RFONTS = re.compile(r"<w:rFonts\b([^>]*)>")
_FACE_ATTR = re.compile(r'\bw:(ascii|hAnsi|eastAsia)="([^"]+)"')


@dataclass(frozen=True)
class FaceCheck:
    face: str
    resolved: str
    expected: str  # "" when the face is not compared (a symbol font)
    ok: bool

    @property
    def detail(self) -> str:
        if not self.expected:
            return f"→ {self.resolved}（符号字体，不比较字宽）"
        if self.ok:
            return f"→ {self.resolved}"
        return f"→ {self.resolved}，应为 {self.expected}（安装 {PACKAGES}）"


def template_faces(docx_files: Iterable[Path]) -> list[str]:
    """The faces (w:rFonts ascii / hAnsi / eastAsia) named anywhere in these .docx files."""
    faces: set[str] = set()
    for path in docx_files:
        with zipfile.ZipFile(path) as zf:
            for name in zf.namelist():
                if name.startswith("word/") and name.endswith(".xml"):
                    xml = zf.read(name).decode("utf-8", "replace")
                    for attrs in _RFONTS.findall(xml):
                        faces.update(face for _attr, face in _FACE_ATTR.findall(attrs))
    return sorted(faces)


def is_cjk(face: str) -> bool:
    return face in CJK_FACES or any("\u2e80" <= ch <= "\u9fff" for ch in face)


def expected_family(face: str) -> str:
    if face in SYMBOL_FACES:
        return ""
    if face in LATIN_TWINS:
        return LATIN_TWINS[face]
    if is_cjk(face):
        return CJK_FACES.get(face, "Noto CJK")
    return face  # a Latin face without a known twin must be installed itself


def resolve(face: str) -> str:
    """The family fontconfig picks for ``face`` with the environment LibreOffice gets."""
    fc_match = shutil.which("fc-match")
    if fc_match is None:
        return "（未找到 fc-match：apt install fontconfig）"
    env = soffice_env()
    if env.get("FONTCONFIG_FILE"):  # fontconfig ignores a relative FONTCONFIG_FILE
        env["FONTCONFIG_FILE"] = str(Path(env["FONTCONFIG_FILE"]).resolve())
    out = subprocess.run(
        [fc_match, "-f", "%{family[0]}", face], env=env, capture_output=True, text=True, timeout=30
    )
    return out.stdout.strip() or "（无）"


def check_face(face: str) -> FaceCheck:
    want, got = expected_family(face), resolve(face)
    if not want:
        return FaceCheck(face, got, "", True)
    if want == "Noto CJK":
        return FaceCheck(face, got, "Noto Serif/Sans CJK", got.startswith(CJK_FAMILIES))
    return FaceCheck(face, got, want, got.startswith(want))


def shipped_templates() -> list[Path]:
    from metrolab.paths import data_folder

    return sorted(data_folder("certificate_templates").glob("*.docx"))


def check_templates(docx_files: Iterable[Path] | None = None) -> list[FaceCheck]:
    """One check per face the (shipped) certificate templates use."""
    files = list(docx_files) if docx_files is not None else shipped_templates()
    return [check_face(face) for face in template_faces(files)]


def main() -> int:
    """Every face with a known twin and every face of the shipped templates; 1 when one is wrong."""
    faces = sorted({*LATIN_TWINS, *CJK_FACES, *template_faces(shipped_templates())})
    failed = [c for c in map(check_face, faces) if not c.ok]
    for c in failed:
        print(
            f'font: "{c.face}" resolves to "{c.resolved}", expected "{c.expected}"', file=sys.stderr
        )
    if failed:
        print(f"Install {PACKAGES}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
