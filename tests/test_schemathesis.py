"""schemathesis over the whole JSON API (/schema/openapi.json, loaded in-process from the ASGI app), as an
administrator, a verifier and a clerk, each with an API token made through the accounts service.

Checks, for every generated request (valid and invalid data): no server error, the response conforms
to its declared schema, and its status code is one the operation declares. Bounded so the suite stays
fast: a few examples per operation, a per-request time limit and a per-role time budget. The run
prints, per role, the operations and the generated cases; every failure is listed with the request
that reproduces it (curl) and, for a 500, the exception the server logged.

An operation whose permission the role does not hold gets a single case (the guard answers 403
before anything else is read); the others get EXAMPLES cases, valid and invalid data mixed, some
aimed at objects that exist. METROLAB_FUZZ_EXAMPLES=50 and METROLAB_FUZZ_SEED=random explore further
than the suite does; the suite's run has a fixed seed, so it is repeatable.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import re
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

pytestmark = pytest.mark.schemathesis

ROLES = ["admin", "verifier", "clerk"]
EXAMPLES = int(os.environ.get("METROLAB_FUZZ_EXAMPLES", "6"))  # per operation the role may use
REQUEST_TIMEOUT = 10  # seconds; a slower answer is a failure (a request a client gives up on)
ROLE_BUDGET = float(
    os.environ.get("METROLAB_FUZZ_BUDGET", "150")
)  # seconds per role, a safety stop
REPORT_DIR = Path(__file__).resolve().parents[1] / "var" / "test-results"


@dataclass
class Run:
    role: str
    operations: int = 0
    cases: int = 0
    statuses: Counter = field(default_factory=Counter)
    # (operation, what failed) → the first reproduction seen, and how often it happened
    failures: dict[tuple[str, str], str] = field(default_factory=dict)
    counts: Counter = field(default_factory=Counter)
    unfinished: list[str] = field(default_factory=list)
    remints: int = 0

    def fail(self, operation: str, what: str, detail: str) -> None:
        self.counts[(operation, what)] += 1
        self.failures.setdefault((operation, what), detail)

    def summary(self) -> str:
        lines = [
            f"schemathesis as {self.role}: {self.operations} operations, {self.cases} generated "
            f"cases, statuses {dict(sorted(self.statuses.items()))}, "
            f"{len(self.failures)} distinct failures"
        ]
        if self.remints:
            lines.append(f"  (the run revoked its own token {self.remints}× and made a new one)")
        if self.unfinished:
            lines.append(f"  not reached within {ROLE_BUDGET:.0f} s: {', '.join(self.unfinished)}")
        for (operation, what), detail in sorted(self.failures.items()):
            lines.append(f"- {operation}: {what} (×{self.counts[(operation, what)]})\n    {detail}")
        return "\n".join(lines)


class _ServerLog(logging.Handler):
    """The exceptions the app logged (web.errors.server_error), to name a 500's cause."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def last_cause(self) -> str:
        for record in reversed(self.records):
            if record.exc_info and record.exc_info[1] is not None:
                exc = record.exc_info[1]
                frames = [
                    f"{Path(f.filename).name}:{f.lineno} {f.name}"
                    for f in traceback.extract_tb(exc.__traceback__)
                    if "metrolab" in f.filename
                ]
                where = frames[-1] if frames else "?"
                return f"{type(exc).__name__}: {str(exc)[:200]} at {where}"
        return "(nothing logged)"


def _route_permissions(app) -> dict[tuple[str, str], str]:  # noqa: ANN001
    """(method, path as the document writes it) → the permission the route declares."""
    found = {}
    for route in app.routes:
        path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)
        for handler in getattr(route, "route_handlers", []):
            for method in getattr(handler, "http_methods", None) or ():
                found[(method, path)] = handler.opt.get("permission", "")
    return found


def _role_permissions(role: str) -> set[str]:
    import json

    from metrolab.paths import data_folder

    roles = json.loads((data_folder("seed_data") / "roles.json").read_text(encoding="utf-8"))
    return next(set(r["permissions"]) for r in roles["roles"] if r["key"] == role)


def _checks() -> list:
    from schemathesis.checks import (
        not_a_server_error,
        response_schema_conformance,
        status_code_conformance,
    )

    return [not_a_server_error, response_schema_conformance, status_code_conformance]


def _what(failure: BaseException) -> str:
    title = getattr(failure, "title", "") or type(failure).__name__
    return str(title).splitlines()[0][:160]


def _strategies(operation, known_ids: dict[str, list]):  # noqa: ANN001, ANN202
    """Valid and invalid data, and valid data aimed at objects that exist (ids from the sample lab)."""
    from schemathesis import GenerationMode

    names = [p.name for p in operation.path_parameters]
    strategies = [operation.as_strategy(GenerationMode.POSITIVE)]
    with contextlib.suppress(Exception):  # nothing to negate (no parameters, no body)
        strategies.append(operation.as_strategy(GenerationMode.NEGATIVE))
    if names and all(n in known_ids for n in names):
        for values in itertools.islice(itertools.product(*(known_ids[n] for n in names)), 3):
            strategies.append(
                operation.as_strategy(
                    GenerationMode.POSITIVE, path_parameters=dict(zip(names, values, strict=True))
                )
            )
    return strategies


class Fuzzer:
    """One role's run: every operation of the schema, each with its own bounded Hypothesis test."""

    def __init__(self, app, user: dict, role: str, known_ids: dict[str, list]) -> None:  # noqa: ANN001
        import schemathesis

        self.user, self.known_ids = user, known_ids
        self.headers = dict(user["headers"])
        self.schema = schemathesis.openapi.from_asgi(
            "/schema/openapi.json", app, headers=self.headers
        )
        self.checks = _checks()
        self.result = Run(role)
        self.permissions = _route_permissions(app)
        self.role_permissions = _role_permissions(role)
        self.server_log = _ServerLog()

    def run(self) -> Run:
        logger = logging.getLogger("metrolab")
        logger.addHandler(self.server_log)
        started = time.monotonic()
        try:
            for item in self.schema.get_all_operations():
                operation = item.ok()
                if time.monotonic() - started > ROLE_BUDGET:
                    self.result.unfinished.append(operation.label)
                    continue
                self.result.operations += 1
                allowed = self.may(operation.method.upper(), operation.path)
                self._operation(operation, EXAMPLES if allowed else 1)
        finally:
            logger.removeHandler(self.server_log)
        return self.result

    def may(self, method: str, path: str) -> bool:
        code = self.permissions.get((method, path))
        return code is None or code == "authenticated" or code in self.role_permissions

    def _operation(self, operation, examples: int) -> None:  # noqa: ANN001
        import hypothesis
        from hypothesis import HealthCheck, Phase
        from hypothesis import strategies as st

        seed = os.environ.get("METROLAB_FUZZ_SEED", "0")
        settings = hypothesis.settings(
            max_examples=examples,
            deadline=None,  # the transport's timeout bounds each request instead
            phases=[Phase.explicit, Phase.generate],  # no shrinking: failures are reported as met
            suppress_health_check=list(HealthCheck),
            database=None,
        )

        def test(case) -> None:  # noqa: ANN001
            self._case(operation.label, case)

        test = settings(hypothesis.given(st.one_of(_strategies(operation, self.known_ids)))(test))
        if seed != "random":
            test = hypothesis.seed(int(seed))(test)
        test()

    def _case(self, label: str, case) -> None:  # noqa: ANN001
        import requests
        from schemathesis.errors import FailureGroup

        from conftest import mint_api_token, run
        from metrolab.accounts import services
        from metrolab.web.auth import sha256

        result, headers = self.result, self.headers
        result.cases += 1
        curl = case.as_curl_command(headers=headers)
        try:
            response = case.call(headers=headers, timeout=REQUEST_TIMEOUT)
        except requests.exceptions.Timeout:
            result.fail(label, f"no answer within {REQUEST_TIMEOUT} s", curl)
            return
        result.statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=self.checks, headers=headers)
        except FailureGroup as group:
            for failure in group.exceptions:
                if response.status_code >= 500 and "server error" not in _what(failure).lower():
                    continue  # a 500 is never declared: said once, as the server error
                if response.status_code >= 500:
                    detail = f"{curl}\n    server: {self.server_log.last_cause()}"
                else:
                    text = response.content[:300].decode("utf-8", "replace")
                    detail = f"{curl}\n    answer {response.status_code}: {text}"
                result.fail(label, _what(failure), detail)
        except AssertionError as failure:
            result.fail(label, _what(failure), curl)
        # An operation may have revoked the caller's own token: go on with a new one.
        token = headers["Authorization"].removeprefix("Bearer ")
        if response.status_code == 401 and run(services.user_for_token(sha256(token))) is None:
            token = mint_api_token(self.user["id"], "schemathesis")
            headers["Authorization"] = f"Bearer {token}"
            result.remints += 1


@pytest.mark.parametrize("role", ROLES)
def test_schemathesis_finds_no_server_error_and_no_undeclared_answer(role, sample_lab, api_user):
    from metrolab.app import create_app

    user = api_user(role)
    known = dict(sample_lab["ids"])
    known["code"] = ["methane_detector", "FAC-GAS-01"]
    result = Fuzzer(create_app(), user, role, known).run()
    report = result.summary()
    print(report)
    REPORT_DIR.mkdir(parents=True, exist_ok=True)
    db = os.environ.get("METROLAB_TEST_DB", "sqlite")
    (REPORT_DIR / f"schemathesis-{db}-{role}.txt").write_text(report + "\n", encoding="utf-8")
    assert result.operations > 0 and result.cases > result.operations
    assert not result.unfinished, report
    assert not result.failures, report
