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
    "results": {
        "GET /profile/:id": {
            "rps": 740.0,
            "p50_ms": 63.5,
            "p99_ms": 493.0,
            "non_2xx": 0,
            "runs_rps": [700.0, 740.0],
            "socket_errors": "",
        },
        "POST /swipes": {"rps": 160.0, "p50_ms": 270.0, "p99_ms": 1000.0, "non_2xx": 0},
    },
}
SOCKET_RESULT = {
    "results": {
        "pipeline_1": {
            "phase": "send",
            "msgs_per_s": 298.0,
            "failures": 0,
            "ack": {"p50_ms": 3.15, "p99_ms": 9.0},
        },
        "idle": {"sockets": 1000, "mb_per_1000": 35.0},
    },
}
# A side-by-side result (bench/_sxs.py): per case, one set of figures per target of the same run.
SXS_RESULT = {
    "targets": ["node_1", "ours_1", "node_2", "ours_2"],
    "results": {
        "GET /profile/:id": {
            "node_1": {"rps": 1000.0, "p50_ms": 40.0, "p99_ms": 100.0, "per_cpu_s": 1000.0, "non_2xx": 0},
            "ours_1": {"rps": 800.0, "p50_ms": 50.0, "p99_ms": 150.0, "per_cpu_s": 1100.0, "non_2xx": 0},
            "node_2": {"rps": 1500.0, "p50_ms": 30.0, "p99_ms": 80.0, "per_cpu_s": 900.0, "non_2xx": 0},
            "ours_2": {"rps": 1650.0, "p50_ms": 25.0, "p99_ms": 60.0, "per_cpu_s": 950.0, "non_2xx": 0},
        },
        "pipeline_1": {"ours_1": {"msgs_per_s": 300.0, "ack": {"p50_ms": 3.0, "p99_ms": 7.0}}},
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
    assert runner.quick_args(ROOT / "bench" / "shutdown_bench.py") == [
        "--idle-runs",
        "2",
        "--load-seconds",
        "4",
    ]
    assert runner.quick_args(ROOT / "bench" / "after_hours_matching.py") == ["--sizes", "1000", "--runs", "1"]
    assert runner.quick_args(ROOT / "bench" / "profiles_bench.py") == ["--runs", "1", "--duration", "5"]


def test_results_of_one_target_become_rows_of_figures_without_ratios():
    rows = runner.rows_of("profiles_bench", HTTP_RESULT)
    assert [(r["case"], r["figures"]) for r in rows] == [
        ("GET /profile/:id", {"rps": 740.0, "p50_ms": 63.5, "p99_ms": 493.0, "non_2xx": 0}),
        ("POST /swipes", {"rps": 160.0, "p50_ms": 270.0, "p99_ms": 1000.0, "non_2xx": 0}),
    ]
    assert all("ratios" not in r for r in rows)


def test_nested_figures_are_flattened_by_name():
    rows = {r["case"]: r for r in runner.rows_of("socket_bench", SOCKET_RESULT)}
    assert rows["pipeline_1"]["figures"] == {
        "msgs_per_s": 298.0,
        "failures": 0,
        "ack_p50_ms": 3.15,
        "ack_p99_ms": 9.0,
    }
    assert rows["idle"]["figures"] == {"sockets": 1000, "mb_per_1000": 35.0}


def test_side_by_side_ratios_come_from_the_same_run_and_the_goal_names_what_missed():
    rows = {r["case"]: r for r in runner.rows_of("profiles_bench", SXS_RESULT)}
    profile = rows["GET /profile/:id"]
    assert profile["ratios"] == {
        "ours_1/node_1": {"rps": 0.8, "per_cpu_s": 1.1, "p50_ms": 1.25, "p99_ms": 1.5},
        "ours_2/node_2": {"rps": 1.1, "per_cpu_s": 1.06, "p50_ms": 0.83, "p99_ms": 0.75},
    }
    assert profile["goal"] == "not met: p99, 1 vs 1 1.50"
    # Without the original's figures (no VLVT_ANCHOR) there is nothing to divide by.
    assert rows["pipeline_1"]["ratios"] == {}
    assert rows["pipeline_1"]["goal"] == "-"
    assert rows["pipeline_1"]["targets"]["ours_1"] == {
        "msgs_per_s": 300.0,
        "ack_p50_ms": 3.0,
        "ack_p99_ms": 7.0,
    }


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
                {"headline": ["exit_ms_median"], "results": {"idle": {"exit_ms_median": 64.3, "runs": 5}}},
            ),
        },
        "socket_bench": {"status": "failed", "rows": []},
    }
    lines = runner.table(entries).splitlines()
    assert lines[0].split() == ["benchmark", "case", "result"]
    assert lines[2].startswith("profiles_bench  GET /profile/:id")
    assert lines[2].endswith("rps 740, p50_ms 63.5, p99_ms 493, non_2xx 0")
    assert lines[4].endswith("exit_ms_median 64.3") and "runs" not in lines[4]
    assert lines[5].split()[:3] == ["socket_bench", "-", "FAILED"]
    assert runner.markdown_table(entries).splitlines()[2] == (
        "| profiles_bench | `GET /profile/:id` | rps 740, p50_ms 63.5, p99_ms 493, non_2xx 0 |"
    )


def test_the_side_by_side_table_shows_each_target_and_the_ratios_of_the_run():
    entries = {"profiles_bench": {"status": "ok", "rows": runner.rows_of("profiles_bench", SXS_RESULT)}}
    text = runner.table(entries)
    assert text.splitlines()[0] == "side by side (ratios: ours / the original's, this run)"
    assert "    ours / Node, 1 vs 1      req/s 0.80, per CPU-s 1.10, p50 1.25, p99 1.50" in text
    assert "    goal                     not met: p99, 1 vs 1 1.50" in text
    markdown = runner.markdown_table(entries).splitlines()
    assert markdown[-2].startswith(
        "| profiles_bench | `GET /profile/:id` | 1000 req/s, p50 40.0 ms, p99 100 ms"
    )
