"""The bench's verdicts: a run that misses a target must say so, and one that meets it must not
be reported as a miss. Synthetic rows, each built to sit on one side of a target's line."""

from __future__ import annotations

import pytest

from bench.figures import attach_costs, attach_ratios, table_lines, targets


def row(scenario: str, mode: str, level, throughput: float, p99: float = 5.0, **extra) -> dict:
    return {
        "scenario": scenario,
        "name": scenario,
        "mode": mode,
        "level": level,
        "throughput": throughput,
        "p50_ms": p99 / 2,
        "p95_ms": p99,
        "p99_ms": p99,
        "errors": 0,
        "server_peak_rss_mb": 150.0,
        "server_peak_process_rss_mb": 70.0,
        **extra,
    }


def verdict(after: str, ok: bool = True, deadlocks: int = 0, overdrawn: int = 0) -> dict:
    return {
        "after": after,
        "ok": ok,
        "verdict": "ledger verified: OK" if ok else "ledger verification FAILED",
        "new_deadlocks": deadlocks,
        "overdrawn": overdrawn,
    }


# Instructions per request (bench.instructions), on f's lines: a capture at exactly 1.15x.
COUNTED = {"a": 2_000_000, "f2": 2_300_000, "f3": 2_100_000}


def run(rows: list[dict], verify: list[dict] | None = None, counted: dict | None = None) -> dict:
    """A run that meets every target; each test moves one figure across its line."""
    fanout = {"subscribers": 1000, "missing_deliveries": 0, "server_peak_rss_mb": 190.0}
    base = [
        row("a", "closed", 4, 1000.0, server_cpu_ms_per_request=1.0),
        row("a", "closed", 16, 990.0, p99=30.0, server_cpu_ms_per_request=1.1),
        row("a", "open-70%", 700, 700.0, p99=25.0),
        row("b", "closed", 16, 700.0),
        # f's CPU time per request is not judged (the hot row's queueing): its instructions are.
        row("f2", "closed", 16, 900.0, server_cpu_ms_per_request=9.9),
        row("f3", "closed", 16, 900.0, server_cpu_ms_per_request=9.9),
        row("g1", "closed", 4, 50.0, batch_size=100, posting_rate=5000.0),
        row("g2", "closed", 4, 50.0, batch_size=100, posting_rate=5000.0),
        row("d1", "closed", 1, 300.0, p99=20.0),
        row("d1", "closed", 16, 600.0, p99=45.0),  # throughput level: its p99 is queueing
        row("d1", "open-70%", 420, 420.0, p99=19.0),
        row("d2", "closed", 1, 300.0, p99=8.0),
        row("d2", "open-70%", 420, 420.0, p99=12.0),
        row("e", "fixed-rate", 2, 2000.0, p99=100.0, **fanout),
    ]
    replaced = {(r["scenario"], r["mode"], r["level"]) for r in rows}
    kept = [r for r in base if (r["scenario"], r["mode"], r["level"]) not in replaced]
    return {
        "rows": kept + rows,
        "verify": verify or [verdict("seeding"), verdict("a"), verdict("b (hot merchant)")],
        "config": {"history": 1_000_000},
        "instructions": {"per_request": COUNTED if counted is None else counted},
    }


def misses(result: dict) -> list[str]:
    return [t["target"] for t in targets(result) if not t["met"]]


def test_a_run_on_every_line_meets_every_target():
    found = targets(run([]))
    assert len(found) == 14
    assert misses(run([])) == []


@pytest.mark.parametrize(
    ("changed", "missed"),
    [
        (row("a", "closed", 4, 999.0), "a: uniform transfers >= 1,000/s"),
        (row("a", "open-70%", 700, 700.0, p99=25.1), "a: p99 <= 25 ms at 70% of peak"),
        (row("a", "open-70%", 700, 700.0, errors=1), "a: p99 <= 25 ms at 70% of peak"),
        (row("b", "closed", 16, 699.0), "b: hot merchant >= 70% of uniform"),
        (row("g1", "closed", 4, 49.9, batch_size=100, posting_rate=4990.0), "g: batches of 100"),
        (row("g2", "closed", 4, 49.9, batch_size=100, posting_rate=4990.0), "g: batches of 100"),
        (row("d1", "closed", 1, 300.0, p99=20.1), "d: history first page"),
        (row("d1", "open-70%", 420, 420.0, p99=20.1), "d: history first page"),
        (row("d2", "open-70%", 420, 420.0, errors=2), "d: history deep page"),
        (row("a", "closed", 64, 900.0, server_peak_rss_mb=201.0), "server RSS <= 200 MB"),
    ],
)
def test_one_figure_over_its_line_is_a_miss(changed: dict, missed: str):
    """(`changed` replaces the base row of its scenario, mode and level.)"""
    (target,) = misses(run([changed]))
    assert target.startswith(missed)


@pytest.mark.parametrize(
    ("counted", "missed"),
    [
        ({**COUNTED, "f2": 2_300_001}, ["f: a capture costs"]),
        ({**COUNTED, "f3": 2_300_001}, ["f: a refund costs"]),
        ({}, ["f: a capture costs", "f: a refund costs"]),  # no valgrind: not counted
        ({"f2": 2_000_000, "f3": 2_000_000}, ["f: a capture costs", "f: a refund costs"]),
    ],
)
def test_f_is_judged_on_instructions_per_request(counted: dict, missed: list[str]):
    found = misses(run([], counted=counted))
    assert [t[: len(m)] for t, m in zip(found, missed, strict=True)] == missed


def test_without_scenario_f_there_is_no_f_line():
    result = run([])
    result["rows"] = [r for r in result["rows"] if not r["scenario"].startswith("f")]
    result.pop("instructions")
    assert not any(t["target"].startswith("f:") for t in targets(result))
    assert misses(result) == []


@pytest.mark.parametrize(
    "fanout",
    [
        {"p99": 100.1},
        {"missing_deliveries": 1},
        {"subscribers": 999},
        {"server_peak_rss_mb": 200.5},
    ],
)
def test_fan_out_misses_on_latency_a_lost_delivery_too_few_subscribers_or_memory(fanout: dict):
    figures = {"subscribers": 1000, "missing_deliveries": 0, "server_peak_rss_mb": 190.0}
    p99 = fanout.pop("p99", 100.0)
    changed = row("e", "fixed-rate", 2, 2000.0, p99=p99, **{**figures, **fanout})
    assert len(misses(run([changed]))) == 1


@pytest.mark.parametrize(
    ("check", "missed"),
    [
        (verdict("b (hot merchant)", deadlocks=1), "b: zero deadlocks"),
        (verdict("b (hot merchant)", overdrawn=1), "b: zero deadlocks"),
    ],
)
def test_a_deadlock_or_an_overdraft_in_the_hot_merchant_phase_is_a_miss(check: dict, missed: str):
    result = run([], verify=[verdict("seeding"), check])
    assert [t.split(",")[0] for t in misses(result)] == [missed]


def test_a_failed_verification_after_any_phase_fails_the_run():
    result = run([], verify=[verdict("seeding"), verdict("a", ok=False), verdict("b")])
    assert misses(result) == ["walletql verify clean after every write scenario"]
    (verify,) = [t for t in targets(result) if t["target"].startswith("walletql verify")]
    assert "a: ledger verification FAILED" in verify["detail"]


def test_without_the_fixed_rate_rows_the_pages_are_judged_at_one_client():
    result = run([])
    result["rows"] = [r for r in result["rows"] if r["mode"] != "open-70%"]
    names = [t["target"] for t in targets(result)]
    assert not any(n.startswith("a: p99") for n in names)
    assert misses(result) == []


def test_ratios_compare_with_the_ceiling_at_the_same_concurrency_and_its_peak():
    rows = [
        row("a", "ceiling-fn", 4, 2000.0, p99=2.0),
        row("a", "ceiling-fn", 16, 2500.0),
        row("a", "ceiling-multi", 4, 1250.0),
        row("a", "closed", 4, 1000.0, p99=8.0),
        row("a", "open-70%", 700, 700.0),
        row("d1", "ceiling-sql", 16, 3000.0),
        row("d1", "closed", 16, 600.0),
    ]
    attach_ratios(rows)
    closed, open_, page = rows[3], rows[4], rows[6]
    assert closed["ratio_ceiling-fn"] == pytest.approx(0.5)
    assert closed["ratio_ceiling-multi"] == pytest.approx(0.8)
    assert closed["p99_x_ceiling-fn"] == pytest.approx(4.0)
    assert open_["ratio_ceiling-fn"] == pytest.approx(700 / 2500)  # the ceiling's peak
    assert page["ratio_ceiling-sql"] == pytest.approx(0.2)
    assert "ratio_ceiling-fn" not in page


def test_cpu_per_request_is_cores_over_rate_and_a_fan_out_row_is_per_posting():
    rows = [
        row("a", "closed", 4, 800.0, server_cpu_cores=1.0, postgres_cpu_cores=0.6),
        {**row("e", "fixed-rate", 10, 0.0, server_cpu_cores=0.5), "posting_rate": 10.0},
        row("a", "closed", 64, 0.0, server_cpu_cores=1.0),
    ]
    attach_costs(rows)
    assert rows[0]["server_cpu_ms_per_request"] == pytest.approx(1.25)
    assert rows[0]["postgres_cpu_ms_per_request"] == pytest.approx(0.75)
    assert rows[1]["server_cpu_ms_per_request"] == pytest.approx(50.0)
    assert "server_cpu_ms_per_request" not in rows[2]  # nothing answered: no cost to show


def test_the_table_marks_a_row_measured_on_a_busy_machine():
    busy = row("a", "closed", 4, 800.0, other_cpu_cores=0.5)
    quiet = row("a", "closed", 16, 800.0, other_cpu_cores=0.1)
    lines = table_lines({"rows": [busy, quiet]})
    assert lines[2].endswith(" !")
    assert not lines[3].endswith("!")


def test_batches_must_also_reach_five_times_the_transfers_peak():
    faster = run([row("a", "closed", 4, 1100.0, server_cpu_ms_per_request=1.0)])
    assert [m for m in misses(faster) if m.startswith("g:")] == [
        "g: batches of 100 transfers (atomic) >= 5,000 postings/s and >= 5x a's peak",
        "g: batches of 100 transfers (not atomic) >= 5,000 postings/s and >= 5x a's peak",
    ]
