import argparse
import subprocess
import sys
from importlib.metadata import entry_points

import pytest

from models.data.cli import register


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="specks")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


def test_register_imports_neither_torch_nor_cv2():
    code = ("import argparse, sys; import models.data.cli as c; "
            "c.register(argparse.ArgumentParser().add_subparsers()); "
            "print('torch' in sys.modules, 'cv2' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_entry_point_is_wired():
    points = {e.name: e.value for e in entry_points(group="specks.commands")}
    assert points.get("data") == "models.data.cli:register"


def test_synth_then_check_ok(tmp_path, capsys):
    assert run(["data", "synth", str(tmp_path), "--images", "3", "--size", "128x96",
                "--seed", "1", "--max-size", "20"]) == 0
    assert (tmp_path / "data.yaml").is_file()
    assert len(list((tmp_path / "images" / "train").glob("*.png"))) == 2
    assert run(["data", "check", str(tmp_path)]) == 0
    assert "dataset OK" in capsys.readouterr().out


def test_check_lists_every_error(tmp_path, capsys):
    run(["data", "synth", str(tmp_path), "--images", "2", "--size", "96x96", "--max-size", "16"])
    labels = sorted((tmp_path / "labels" / "train").glob("*.txt"))[0]
    labels.write_text(labels.read_text() + "7 0.5 0.5 0.1 0.1\n0 0.5 0.5 x 0.1\n")
    n = len(labels.read_text().splitlines())
    assert run(["data", "check", str(tmp_path / "data.yaml")]) == 1
    out = capsys.readouterr().out.replace("\n", "")
    assert f"{labels.name}:{n - 1}:" in out and f"{labels.name}:{n}:" in out
    assert "2 error(s)" in out


def test_check_coco_and_unusable_yaml(tmp_path, capsys):
    run(["data", "synth", str(tmp_path), "--images", "2", "--size", "96x96", "--max-size", "16",
         "--format", "coco", "--val-fraction", "0"])
    assert run(["data", "check", str(tmp_path / "train.json")]) == 0
    assert run(["data", "check", str(tmp_path / "missing.yaml")]) == 1


def test_synth_clip(tmp_path):
    assert run(["data", "synth", str(tmp_path), "--size", "96x64", "--max-size", "16",
                "--frames", "3", "--image-folder"]) == 0
    assert len((tmp_path / "gt.jsonl").read_text().splitlines()) == 3
    assert len(list((tmp_path / "frames").glob("*.png"))) == 3


def test_bad_size_argument():
    with pytest.raises(SystemExit):
        run(["data", "synth", "out", "--size", "big"])
