#!/bin/sh
# Create $(repo)/.venv-uno: a venv on the system Python that can `import uno`
# (Debian's python3-uno), with unoserver installed. LibreOffice's UNO bridge
# only loads in that interpreter, so the server cannot live in the project venv;
# the project talks to it through unoserver.client (XML-RPC).
set -eu

repo="$(cd "$(dirname "$0")/.." && pwd)"
venv="$repo/.venv-uno"
python="${METROLAB_UNO_PYTHON:-/usr/bin/python3}"

if ! "$python" -c "import uno" 2>/dev/null; then
    echo "error: $python cannot import uno; install python3-uno (apt-get install python3-uno)" >&2
    exit 1
fi

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv --system-site-packages "$venv"
fi
# Keep the venv out of git without touching the repository's .gitignore.
printf '*\n' > "$venv/.gitignore"

"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "unoserver==3.7"
"$venv/bin/python" -c "import uno, unoserver.server" 
echo "unoserver ready: $venv/bin/unoserver"
