"""Certificate throughput: render → QR → PDF through the warm LibreOffice pool.

    .venv/bin/python bench/certificates.py --n 200

Renders N certificates from the sample contract (number and serial varied), converts them
with ``LibreOfficePool`` and reports per-stage times, certificates/s and warm single-certificate
latency; then converts the same documents with a naive ``soffice --convert-to pdf`` per document
(a sample, extrapolated) and with one soffice batch call per core (the floor), as ratios.
Prints a table and writes ``bench/results/certificates.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "platform"))

from metrolab.certificates.contract import sample_context, sample_images  # noqa: E402
from metrolab.engine.documents.pdf import LibreOfficePool, SofficeOnceConverter  # noqa: E402
from metrolab.engine.documents.qr import qr_png  # noqa: E402
from metrolab.engine.documents.render import render_docx  # noqa: E402

TEMPLATE = (ROOT / "certificate_templates" / "verification_certificate.docx").read_bytes()
SIGNATURES = {k: v for k, v in sample_images().items() if k != "qr_code"}


def one_certificate(i: int, pool: LibreOfficePool) -> dict[str, float]:
    ctx = sample_context(number=f"JD2025-{i:06d}", serial=f"SN-{i:05d}")
    t0 = time.perf_counter()
    qr = qr_png(ctx["verify_url"])
    t1 = time.perf_counter()
    docx = render_docx(TEMPLATE, ctx, SIGNATURES | {"qr_code": qr})
    t2 = time.perf_counter()
    pdf = pool.convert(docx)
    t3 = time.perf_counter()
    assert pdf.startswith(b"%PDF")
    return {"qr": t1 - t0, "render": t2 - t1, "pdf": t3 - t2, "total": t3 - t0}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="certificates in the throughput run")
    parser.add_argument("--servers", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--threads", type=int, default=0, help="concurrent certificates (default servers + 1)"
    )
    parser.add_argument("--latency-n", type=int, default=20, help="sequential warm certificates")
    parser.add_argument("--naive-sample", type=int, default=10)
    parser.add_argument(
        "--out", type=Path, default=ROOT / "bench" / "results" / "certificates.json"
    )
    args = parser.parse_args()
    cores = os.cpu_count() or 1

    t = time.perf_counter()
    pool = LibreOfficePool(size=args.servers)
    pool_start = time.perf_counter() - t
    try:
        one_certificate(0, pool)  # warm the render workers too

        # throughput: keep every server busy, render and QR overlapping with conversion
        t = time.perf_counter()
        with ThreadPoolExecutor(args.threads or args.servers + 1) as ex:
            stages = list(ex.map(lambda i: one_certificate(i, pool), range(1, args.n + 1)))
        wall = time.perf_counter() - t
        per_s = args.n / wall

        # latency: one certificate at a time, warm
        latency = [one_certificate(10_000 + i, pool)["total"] for i in range(args.latency_n)]
    finally:
        pool.close()

    # the same documents the naive way: a fresh soffice per document
    docs = [
        render_docx(
            TEMPLATE,
            ctx := sample_context(number=f"JD2025-{i:06d}"),
            SIGNATURES | {"qr_code": qr_png(ctx["verify_url"])},
        )
        for i in range(1, args.n + 1)
    ]
    soffice = SofficeOnceConverter(timeout=600)
    naive_times = []
    for doc in docs[: args.naive_sample]:
        t = time.perf_counter()
        soffice.convert(doc)
        naive_times.append(time.perf_counter() - t)
    naive_each = statistics.mean(naive_times)
    naive_total = naive_each * args.n

    # the floor: one soffice batch call per core, in parallel
    chunks = [docs[i::cores] for i in range(cores)]
    t = time.perf_counter()
    with ThreadPoolExecutor(cores) as ex:
        list(ex.map(SofficeOnceConverter(timeout=1800).convert_many, chunks))
    batch_total = time.perf_counter() - t

    def stage(name: str) -> dict[str, float]:
        values = [s[name] for s in stages]
        return {
            "mean_ms": 1000 * statistics.mean(values),
            "p50_ms": 1000 * percentile(values, 0.5),
            "p95_ms": 1000 * percentile(values, 0.95),
        }

    result = {
        "machine": {
            "cores": cores,
            "python": platform.python_version(),
            "libreoffice": _soffice_version(),
        },
        "n": args.n,
        "servers": args.servers,
        "pool_start_s": pool_start,
        "stages_under_load": {name: stage(name) for name in ("render", "qr", "pdf", "total")},
        "throughput_per_s": per_s,
        "wall_s": wall,
        "latency_warm": {
            "n": args.latency_n,
            "p50_s": percentile(latency, 0.5),
            "p95_s": percentile(latency, 0.95),
        },
        "naive_soffice": {
            "sample": args.naive_sample,
            "each_s": naive_each,
            "extrapolated_total_s": naive_total,
            "per_s": 1 / naive_each,
        },
        "batch_floor": {"calls": cores, "total_s": batch_total, "per_s": args.n / batch_total},
        "ratios": {
            "pool_vs_naive": naive_total / wall,
            "pool_vs_batch_floor": batch_total / wall,
        },
        "targets": {"throughput_per_s": 4.0, "latency_p50_s": 0.6},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print_table(result)
    print(f"\nwritten {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    return 0


def print_table(r: dict) -> None:
    rows = [
        ("certificates", f"{r['n']} on {r['servers']} warm servers, {r['machine']['cores']} cores"),
        ("pool start", f"{r['pool_start_s']:.1f} s"),
    ]
    for name, s in r["stages_under_load"].items():
        rows.append(
            (
                f"stage {name} (under load)",
                f"mean {s['mean_ms']:.0f} ms, p50 {s['p50_ms']:.0f} ms, p95 {s['p95_ms']:.0f} ms",
            )
        )
    lat = r["latency_warm"]
    rows += [
        ("throughput", f"{r['throughput_per_s']:.2f} certificates/s (target ≥ 4)"),
        (
            "latency warm, one at a time",
            f"p50 {lat['p50_s']:.3f} s, p95 {lat['p95_s']:.3f} s (target p50 < 0.6 s)",
        ),
        (
            "naive soffice per document",
            f"{r['naive_soffice']['each_s']:.2f} s each → "
            f"{r['naive_soffice']['extrapolated_total_s']:.0f} s for "
            f"{r['n']}",
        ),
        (
            "soffice batch, one call per core",
            f"{r['batch_floor']['total_s']:.1f} s ({r['batch_floor']['per_s']:.2f}/s)",
        ),
        ("pool vs naive", f"{r['ratios']['pool_vs_naive']:.1f}× faster"),
        (
            "pool vs batch floor",
            f"{r['ratios']['pool_vs_batch_floor']:.2f}× (1 = as fast as the floor)",
        ),
    ]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")


def _soffice_version() -> str:
    try:
        out = subprocess.run(["soffice", "--version"], capture_output=True, timeout=60)
        return out.stdout.decode().strip()
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"


if __name__ == "__main__":
    sys.exit(main())
