#!/bin/sh
# Fails unless every face the shipped certificate templates name (and every face metrolab knows a free
# twin for) resolves, through metrolab's fontconfig file (the one LibreOffice is given), to that
# metric-compatible face. The list of twins lives in one place, platform/metrolab/engine/documents/fonts.py,
# which `metrolab check` uses too. Run by install_system_deps.sh after installing, so a machine that
# lacks a face stops here, not in a test. Needs only the system python3 (the venv may not exist yet).
set -eu
root="$(cd "$(dirname "$0")/.." && pwd)"
PYTHONPATH="$root/platform" exec python3 -m metrolab.engine.documents.fonts
