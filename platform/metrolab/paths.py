"""Where the shipped data folders live: the repository root in a checkout, package data in a wheel."""

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
_REPO_ROOT = PACKAGE_DIR.parents[1]
_WHEEL_DATA = PACKAGE_DIR / "_data"


def data_folder(name: str) -> Path:
    """A top-level data folder (seed_data, form_schemas, certificate_templates, designer)."""
    in_checkout = _REPO_ROOT / name
    if in_checkout.is_dir():
        return in_checkout
    return _WHEEL_DATA / name
