#!/bin/sh
# Fails unless every face the shipped certificate templates name resolves, through metrolab's
# fontconfig file (the one LibreOffice is given), to the metric-compatible free face. Run by
# install_system_deps.sh after installing, so a machine that lacks one stops here, not in a test.
set -eu
conf="$(cd "$(dirname "$0")/../deploy/fontconfig" && pwd)/fonts.conf"  # absolute: fontconfig ignores a relative FONTCONFIG_FILE
fail=0
while IFS='|' read -r family want; do
  got="$(FONTCONFIG_FILE="$conf" fc-match -f '%{family[0]}' "$family")"
  case "$got" in
    "$want"*) ;;
    *) echo "font: \"$family\" resolves to \"$got\", expected \"$want\"" >&2; fail=1 ;;
  esac
done <<'FACES'
Times New Roman|Liberation Serif
Arial|Liberation Sans
Courier New|Liberation Mono
Courier|Liberation Mono
Calibri|Carlito
Cambria|Caladea
宋体|Noto Serif CJK SC
黑体|Noto Sans CJK SC
FACES
[ "$fail" = "0" ] || { echo "Install fonts-liberation2 fonts-crosextra-carlito fonts-crosextra-caladea fonts-noto-cjk" >&2; exit 1; }
