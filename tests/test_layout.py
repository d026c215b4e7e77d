"""The source layout: `platform/` is a source folder, not a package, so the standard library wins."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_platform_and_uuid_still_import_from_the_repository_root():
    code = "import platform, uuid; print(platform.system(), uuid.uuid4().version)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    system, version = out.stdout.split()
    assert system == __import__("platform").system()
    assert version == "4"


def test_platform_folder_is_not_a_package():
    assert not (ROOT / "platform" / "__init__.py").exists()
    assert (ROOT / "platform" / "metrolab" / "__init__.py").exists()


def test_top_level_folders_exist():
    for name in (
        "designer",
        "form_schemas",
        "certificate_templates",
        "seed_data",
        "bench",
        "tests",
    ):
        assert (ROOT / name).is_dir(), name
    assert (ROOT / "uv.lock").exists() and (ROOT / "pyproject.toml").exists()


def test_no_cdn_links_in_templates():
    pkg = ROOT / "platform" / "metrolab"
    for path in list(pkg.rglob("*.html")) + list(pkg.rglob("*.css")):
        text = path.read_text(encoding="utf-8")
        for marker in ("https://", "http://cdn", "//cdn.", "unpkg.com", "jsdelivr", "googleapis"):
            assert marker not in text, f"{path} links to {marker}"
