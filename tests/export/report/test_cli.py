"""``specks report`` through the real command-line entry point."""

from pathlib import Path

import numpy as np
import pytest

from firmware_py.cli import main
from tests.export.report.test_report import known_log


def test_report_command_writes_files_and_prints_the_summary(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    known_log(tmp_path / "stats.jsonl", np.random.default_rng(0))
    assert main(["report", str(tmp_path / "stats.jsonl"), "--out", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    assert "mean 5 W" in out and "0.5 J/frame" in out
    assert (tmp_path / "r" / "power.png").is_file()
    assert main(["report", str(tmp_path / "stats.jsonl")]) == 0  # default: LOG's folder/report
    assert (tmp_path / "report" / "summary.json").is_file()


def test_report_of_a_missing_log_fails_with_its_name(tmp_path: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    assert main(["report", str(tmp_path / "nope.csv")]) == 2
    assert "nope.csv" in caplog.text

