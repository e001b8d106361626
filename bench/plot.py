"""Throughput against concurrency for scenarios a and b, API and ceilings: bench/throughput.png.

    python -m bench.plot [results.json] [-o bench/throughput.png]

Without a path it plots bench/latest.json, or else the newest bench/results/*.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def newest() -> Path:
    if (HERE / "latest.json").exists():
        return HERE / "latest.json"
    runs = sorted((HERE / "results").glob("2*.json"))
    if not runs:
        raise SystemExit("no results: run `python -m bench.run` first")
    return runs[-1]


def plot(result: dict, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5), dpi=120)
    styles = {
        "closed": ("-", "o", "API (GraphQL over HTTP)"),
        "ceiling-fn": ("--", "s", "ceiling: SQL function, 1 round trip"),
        "ceiling-multi": (":", "^", "ceiling: BEGIN/lock/CTE/COMMIT"),
    }
    colors = {"a": "tab:blue", "b": "tab:red"}
    names = {"a": "a: uniform transfers", "b": "b: hot merchant"}
    for scenario in ("a", "b"):
        for mode, (line, marker, label) in styles.items():
            rows = sorted(
                (r for r in result["rows"] if r["scenario"] == scenario and r["mode"] == mode),
                key=lambda r: r["level"],
            )
            if not rows:
                continue
            ax.plot(
                [r["level"] for r in rows],
                [r["throughput"] for r in rows],
                linestyle=line,
                marker=marker,
                color=colors[scenario],
                label=f"{names[scenario]} - {label}",
            )
    ax.axhline(1000, color="grey", linewidth=0.8, linestyle="-.")
    ax.text(1, 1000, " target a: 1,000/s", va="bottom", fontsize=8, color="grey")
    ax.set_xscale("log", base=2)
    levels = sorted(
        {r["level"] for r in result["rows"] if r["scenario"] in ("a", "b") and r["mode"] in styles}
    )
    ax.set_xticks(levels, [str(x) for x in levels])
    ax.minorticks_off()
    ax.set_xlabel("concurrent clients (closed loop)")
    ax.set_ylabel("postings per second")
    m = result.get("machine", {})
    cfg = result.get("config", {})
    ax.set_title(
        f"walletql postings: {m.get('cpus', '?')} CPUs shared with PostgreSQL, "
        f"{cfg.get('workers', '?')} uvicorn workers",
        fontsize=10,
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    fig.savefig(out)
    print(f"wrote {out}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.plot")
    p.add_argument("results", nargs="?", type=Path)
    p.add_argument("-o", "--out", type=Path, default=HERE / "throughput.png")
    args = p.parse_args(argv)
    plot(json.loads((args.results or newest()).read_text()), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
