"""`python -m bench`: discovery by convention, result files turned into rows with ratios, the table.

The benchmarks themselves run for minutes on real servers; here the runner's own logic is checked
on result files shaped like the ones the benchmarks write.
"""
from __future__ import annotations

import importlib
from pathlib import Path

runner = importlib.import_module("bench.__main__")
ROOT = Path(__file__).resolve().parents[2]

HTTP_RESULT = {
    "benchmark": "profiles",
    "original": {"GET /profile/:id": {"rps": 370, "p50_ms": 127, "p99_ms": 986}},
    "results": {
        "GET /profile/:id": {"rps": 740.0, "p50_ms": 63.5, "p99_ms": 493.0, "non_2xx": 0, "runs_rps": [700.0, 740.0], "socket_errors": ""},
        "POST /swipes": {"rps": 160.0, "p50_ms": 270.0, "p99_ms": 1000.0, "non_2xx": 0},
    },
}
SOCKET_RESULT = {
    "original": {"pipeline_1": {"msgs_per_s": 149, "ack_p50_ms": 6.3}, "idle_mb_per_1000": 17.5},
    "results": {
        "pipeline_1": {"phase": "send", "msgs_per_s": 298.0, "failures": 0, "ack": {"p50_ms": 3.15, "p99_ms": 9.0}},
        "idle": {"sockets": 1000, "mb_per_1000": 35.0},
    },
}
LIST_RESULT = {"results": [{"sessions": 1000, "median_seconds": 0.3, "queries": [9], "matches": 477}]}


def test_every_script_under_bench_is_discovered_except_helpers_and_the_runner():
    found = [p.name for p in runner.discover([], [])]
    on_disk = sorted(p.name for p in (ROOT / "bench").glob("*.py") if not p.name.startswith("_"))
    assert found == on_disk
    assert "shutdown_bench.py" in found and "__main__.py" not in found
    assert [p.name for p in runner.discover(["shutdown"], [])] == ["shutdown_bench.py"]
    assert "shutdown_bench.py" not in [p.name for p in runner.discover([], ["shutdown"])]


def test_quick_arguments_come_from_the_script_then_the_fallbacks():
    assert runner.quick_args(ROOT / "bench" / "shutdown_bench.py") == ["--idle-runs", "2", "--load-seconds", "4"]
    assert runner.quick_args(ROOT / "bench" / "after_hours_matching.py") == ["--sizes", "1000", "--runs", "1"]
    assert runner.quick_args(ROOT / "bench" / "profiles_bench.py") == ["--runs", "1", "--duration", "5"]


def test_http_results_become_rows_with_ratios_to_the_original():
    rows = runner.rows_of("profiles_bench", HTTP_RESULT)
    assert [(r["case"], r["ratios"]) for r in rows] == [
        ("GET /profile/:id", {"rps": 2.0, "p50_ms": 0.5, "p99_ms": 0.5}),
        ("POST /swipes", {}),
    ]
    assert rows[0]["figures"] == {"rps": 740.0, "p50_ms": 63.5, "p99_ms": 493.0, "non_2xx": 0}


def test_nested_figures_and_flat_originals_are_matched_by_name():
    rows = {r["case"]: r for r in runner.rows_of("socket_bench", SOCKET_RESULT)}
    assert rows["pipeline_1"]["figures"] == {"msgs_per_s": 298.0, "failures": 0, "ack_p50_ms": 3.15, "ack_p99_ms": 9.0}
    assert rows["pipeline_1"]["ratios"] == {"msgs_per_s": 2.0, "ack_p50_ms": 0.5}
    assert rows["idle"]["ratios"] == {"mb_per_1000": 2.0}


def test_list_results_are_named_by_their_first_field():
    [row] = runner.rows_of("after_hours_matching", LIST_RESULT)
    assert row["case"] == "sessions=1000"
    assert row["figures"] == {"sessions": 1000, "median_seconds": 0.3, "matches": 477}


def test_the_table_has_one_line_per_case_and_says_when_a_benchmark_failed():
    entries = {
        "profiles_bench": {"status": "ok", "rows": runner.rows_of("profiles_bench", HTTP_RESULT)},
        "shutdown_bench": {
            "status": "ok",
            "rows": runner.rows_of(
                "shutdown_bench",
                {"original": {"idle": {"exit_ms": "19-46"}}, "headline": ["exit_ms_median"], "results": {"idle": {"exit_ms_median": 64.3, "runs": 5}}},
            ),
        },
        "socket_bench": {"status": "failed", "rows": []},
    }
    lines = runner.table(entries).splitlines()
    assert lines[0].split() == ["benchmark", "case", "result", "vs", "original", "(ours", "/", "theirs)"]
    assert lines[2].startswith("profiles_bench  GET /profile/:id")
    assert "rps 740, p50_ms 63.5, p99_ms 493, non_2xx 0" in lines[2] and "rps 2.00x, p50_ms 0.50x, p99_ms 0.50x" in lines[2]
    assert "exit_ms_median 64.3" in lines[4] and "exit_ms was 19-46" in lines[4] and "runs" not in lines[4]
    assert lines[5].split()[:3] == ["socket_bench", "-", "FAILED"]
    assert runner.markdown_table(entries).splitlines()[2].startswith("| profiles_bench | `GET /profile/:id` | rps 740")
