"""A results file as Markdown (the README's Performance table): `python -m bench.report [json]`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bench.plot import newest


def _f(v, fmt="{:.1f}") -> str:
    return "-" if v is None else fmt.format(v)


def markdown(result: dict) -> str:
    head = (
        "| scenario | mode | clients / rate | ok/s | p50 ms | p95 ms | p99 ms | errors | "
        "server CPU | server ms/req | server RSS MB | PG CPU | loadgen CPU | ceiling/s | "
        "ratio | ratio (multi) |"
    )
    lines = [head, "|" + "---|" * 16]
    for r in result["rows"]:
        fixed = r["mode"] in ("fixed-rate", "open-70%")
        level = f"{r['level']:g}/s" if fixed else str(r["level"])
        ceil = "ceiling-sql" if r["scenario"] in ("c", "d1", "d2", "d3") else "ceiling-fn"
        thr = r.get("throughput", r.get("deliveries_per_s"))
        name = f"{r['scenario']} {r['name']}"
        if r["scenario"] == "e":
            name += f" ({r['subscribers']} subscribers; ok/s = deliveries)"
        lines.append(
            f"| {name} | {r['mode']} | {level} | {_f(thr)} | {_f(r['p50_ms'])} | "
            f"{_f(r['p95_ms'])} | {_f(r['p99_ms'])} | {r['errors']} | "
            f"{_f(r.get('server_cpu_cores'), '{:.2f}')} | "
            f"{_f(r.get('server_cpu_ms_per_request'), '{:.2f}')} | "
            f"{_f(r.get('server_peak_rss_mb'), '{:.0f}')} | "
            f"{_f(r.get('postgres_cpu_cores'), '{:.2f}')} | "
            f"{_f(r.get('loadgen_cpu_cores'), '{:.2f}')} | "
            f"{_f(r.get(f'{ceil}_throughput'), '{:.0f}')} | "
            f"{_f(r.get(f'ratio_{ceil}'), '{:.2f}')} | "
            f"{_f(r.get('ratio_ceiling-multi'), '{:.2f}')} |"
        )
    lines.append("")
    lines.append("| target | met | measured |")
    lines.append("|---|---|---|")
    for t in result["targets"]:
        lines.append(f"| {t['target']} | {'yes' if t['met'] else '**no**'} | {t['detail']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.report")
    p.add_argument("results", nargs="?", type=Path)
    args = p.parse_args(argv)
    print(markdown(json.loads((args.results or newest()).read_text())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
