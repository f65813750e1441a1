"""bench/dispatch_rate.py reports FIGURE rows for `make bench`: the rate against the cap, with
the busiest 1-second window judged "never above" (the bench itself prints, never asserts)."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture
def dispatch_rate(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(BENCH))  # the bench imports its sibling dispatch_support
    import dispatch_rate

    return dispatch_rate


def _row(module: ModuleType, capsys: pytest.CaptureFixture[str], workers: int, rate: float,
         busiest: int, cap: float = 50.0) -> tuple[dict[str, object], str]:
    module.report(workers, "postgresql", cap, module.Figures(500, 499 / rate, rate, busiest))
    out = capsys.readouterr().out
    [row] = [json.loads(line[len("FIGURE "):]) for line in out.splitlines()
             if line.startswith("FIGURE ")]
    return row, out


def test_rows_name_the_case_and_the_goal(dispatch_rate: ModuleType,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    row, out = _row(dispatch_rate, capsys, 1, 49.8, 50)
    assert row["name"] == "dispatcher at cap, 1 worker" and row["backend"] == "postgresql"
    assert row["goal"] == "within 5 % of the cap, never above"
    assert row["value"] == 49.8 and row["ok"] is True
    assert "busiest 1-s window 50 sends vs cap 50 (never above)" in str(row["floor"])
    assert "dispatcher 1 worker(s): 49.8/s at cap 50/s (99.6 %)" in out  # the readable line
    row, _ = _row(dispatch_rate, capsys, 3, 50.1, 50)
    assert row["name"] == "dispatcher at cap, 3 workers" and row["ok"] is True


@pytest.mark.parametrize(("rate", "busiest", "why"), [
    (47.0, 47, "more than 5 % under the cap"),
    (50.0, 51, "one second held more than the cap"),
    (53.0, 55, "above the cap"),
])
def test_missed(dispatch_rate: ModuleType, capsys: pytest.CaptureFixture[str], rate: float,
                busiest: int, why: str) -> None:
    row, _ = _row(dispatch_rate, capsys, 3, rate, busiest)
    assert row["ok"] is False, why
    if busiest > 50:
        assert f"busiest 1-s window {busiest} sends vs cap 50 (above)" in str(row["floor"])
