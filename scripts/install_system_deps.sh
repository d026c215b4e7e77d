#!/bin/sh
# System packages metrolab needs on Debian/Ubuntu: Python venv, npm, LibreOffice (certificate PDFs),
# CJK fonts and metric-compatible Latin faces for Times New Roman / Arial / Courier New (Liberation),
# Calibri (Carlito) and Cambria (Caladea) — without them digits fall back to the wider DejaVu and a
# certificate's lines wrap differently from the Word template — poppler (PDF checks), Chromium
# (browser tests), python3-uno (warm converter), zbar (QR checks), postgresql-client (backup / restore), libpq5 (the job queue's psycopg).
# Installs only what is missing, and only when run as root with apt-get; otherwise prints what to install.
set -eu
need=""
python3 -c "import ensurepip, venv" 2>/dev/null || need="$need python3-venv"
command -v npm >/dev/null || need="$need npm"
command -v soffice >/dev/null || need="$need libreoffice-writer-nogui"
fc-list 2>/dev/null | grep -q "Noto Serif CJK" || need="$need fonts-noto-cjk"
fc-list 2>/dev/null | grep -q "Liberation Serif" || need="$need fonts-liberation2"
fc-list 2>/dev/null | grep -q "Carlito" || need="$need fonts-crosextra-carlito"
fc-list 2>/dev/null | grep -q "Caladea" || need="$need fonts-crosextra-caladea"
command -v pdftotext >/dev/null || need="$need poppler-utils"
command -v chromium >/dev/null || need="$need chromium"
/usr/bin/python3 -c "import uno" 2>/dev/null || need="$need python3-uno"
command -v zbarimg >/dev/null || need="$need zbar-tools"
command -v pg_dump >/dev/null || need="$need postgresql-client"  # metrolab backup / restore
ldconfig -p 2>/dev/null | grep -q "libpq.so.5" || need="$need libpq5"  # psycopg: the job queue
[ -z "$need" ] && exec "$(dirname "$0")/check_fonts.sh"
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "Installing:$need"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need
  exec "$(dirname "$0")/check_fonts.sh"
else
  echo "Missing system packages:$need" >&2
  echo "Install them with: sudo apt-get install$need" >&2
  [ "${METROLAB_SYSTEM_DEPS_OPTIONAL:-0}" = "1" ] || exit 1
fi
