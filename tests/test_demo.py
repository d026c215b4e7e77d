"""`metrolab demo` (what `make run` does first): a fresh lab with one user per role and work in every state."""

import os
import re
import subprocess
import sys

import pytest

from conftest import TEST_DB

pytestmark = pytest.mark.skipif(
    TEST_DB != "sqlite", reason="the demo lab is a SQLite file; run once"
)


def test_demo_lab_has_users_and_entrustments_and_certificates_in_every_state(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("METROLAB_DATABASE")}
    env.update(METROLAB_DATA_DIR=str(tmp_path), METROLAB_SECRET_KEY="demo-test")
    out = subprocess.run(
        [sys.executable, "-m", "metrolab.cli", "demo"],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    users = dict(re.findall(r"^  (\w+)\s+\w+\s+(\S+)$", out.stdout, re.M))
    users.pop("用户名", None)
    assert set(users) == {
        "admin",
        "manager",
        "reviewer",
        "clerk",
        "verifier",
        "checker",
        "signatory",
    }
    check = (
        "import asyncio\n"
        "from metrolab.certificates.tables import Certificate\n"
        "from metrolab.business.tables import Entrustment\n"
        "async def m():\n"
        "    print(sorted({r['status'] for r in await Certificate.select(Certificate.status)}))\n"
        "    print(sorted({r['status'] for r in await Entrustment.select(Entrustment.status)}))\n"
        "asyncio.run(m())\n"
    )
    states = subprocess.run(
        [sys.executable, "-c", check], env=env, capture_output=True, text=True, check=True
    )
    certificates, entrustments = states.stdout.splitlines()
    assert certificates == str(["approving", "checking", "compiling", "issued"])
    assert entrustments == str(["completed", "in_progress", "received", "registered"])
    again = subprocess.run(
        [sys.executable, "-m", "metrolab.cli", "demo"],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert (
        again.returncode == 0 and "演示用户已存在" in again.stdout
    )  # passwords are printed once only
