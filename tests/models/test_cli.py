"""Host commands report bad input in one line and exit 2, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np


def test_train_on_a_bad_label_names_the_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    (tmp_path / "labels").mkdir()
    cv2.imwrite(str(tmp_path / "images" / "x.png"), np.zeros((64, 64, 3), np.uint8))
    (tmp_path / "labels" / "x.txt").write_text("0 0.5 0.5 0.1\n")
    (tmp_path / "data.yaml").write_text(f"path: {tmp_path}\ntrain: images\nval: images\n"
                                        "names: [a]\n")
    done = subprocess.run([sys.executable, "-m", "firmware_py.cli", "train", "--data",
                           str(tmp_path / "data.yaml"), "--out", str(tmp_path / "run")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert f"{tmp_path / 'labels' / 'x.txt'}:1: expected 5 fields" in lines[0]
