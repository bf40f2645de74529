"""The pure parts of bench/pareto.py: the front, the peers' JSON, the table and the plot, and
that every design builds from the registry with its overrides."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from bench.pareto import DESIGNS, mark_fronts, markdown, pareto_front, peer_rows, steps_budget
from bench.pareto_plot import plot
from models.registry import create_model


def test_front_keeps_only_undominated_points_by_latency() -> None:
    points = [(2.0, 0.5), (1.0, 0.3), (3.0, 0.4), (1.5, 0.3), (4.0, 0.6)]
    # (3.0, 0.4) is dominated by (2.0, 0.5); (1.5, 0.3) by (1.0, 0.3)
    assert pareto_front(points) == [1, 0, 4]


def test_equal_points_do_not_dominate_each_other() -> None:
    assert pareto_front([(1.0, 0.5), (1.0, 0.5)]) == [0, 1]


@pytest.mark.parametrize("design", DESIGNS, ids=lambda d: d.name)
def test_every_design_builds(design) -> None:
    model = create_model(design.model, **design.model_config).eval()
    with torch.no_grad():
        heat, _, _ = model(torch.rand(1, 3, 64, 64))
    assert heat.shape[-1] == 64 // model.stride
    json.dumps(design.model_config)  # recorded in checkpoints as the recipe


def _rows() -> list[dict]:
    return [{"design": "a", "mAP50": 0.5, "mAP50-95": 0.3, "AP_small": 0.2,
             "ms": {"tflite": 1.0, "pte": 2.0}, "timed_here": {"tflite": True, "pte": True}},
            {"design": "b", "mAP50": 0.6, "mAP50-95": 0.2, "AP_small": 0.3,
             "ms": {"tflite": 2.0, "pte": 1.5}, "timed_here": {"tflite": True, "pte": True}},
            {"design": "yolo11n", "mAP50": 0.7, "mAP50-95": 0.4, "AP_small": 0.1,
             "ms": {"tflite": 3.0}, "timed_here": {"tflite": False, "pte": False}}]


def test_fronts_per_panel_skip_rows_timed_elsewhere(tmp_path: Path) -> None:
    rows = _rows()
    mark_fronts(rows)
    assert rows[0]["front"] == {"AP_small/tflite": True, "AP_small/pte": False,
                                "mAP50-95/tflite": True, "mAP50-95/pte": True}
    assert rows[1]["front"]["AP_small/pte"] and not rows[1]["front"]["mAP50-95/tflite"]
    assert rows[2]["front"] == {}
    table = markdown(rows, "header")
    assert "| yolo11n |" in table and "3.00 (other run)" in table
    png = tmp_path / "front.png"
    plot(rows, png, "title")
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_peer_rows_read_accuracy_files_and_other_run_latency(tmp_path: Path) -> None:
    tflite = tmp_path / "yolo26n_int8.tflite"
    tflite.write_bytes(b"x")
    result = {"config": {"minutes": 5.0},
              "accuracy": {"yolo26n": {"params": 2.4e6, "mAP50": 0.4, "mAP50-95": 0.2,
                                       "AP_small": 0.1}},
              "latency": {"artifacts": {"yolo26n/tflite_int8": str(tflite),
                                        "yolo26n/pte_int8": str(tmp_path / "gone.pte")},
                          "rows": [{"artifact": "pte_int8", "yolo26n_ms": 7.5}]}}
    path = tmp_path / "peers.json"
    path.write_text(json.dumps(result))
    (row,) = peer_rows(path)
    assert row["design"] == "yolo26n" and row["AP_small"] == 0.1
    assert row["files"] == {"tflite": str(tflite)}
    assert row["other_run_ms"] == {"pte": 7.5}
    assert peer_rows(tmp_path / "missing.json") == []


def test_a_steps_budget_fixes_the_run_and_keeps_the_recipes_warmup_share() -> None:
    recipe = {"epochs": 45, "steps_per_epoch": 100, "warmup_steps": 300}
    assert steps_budget(None, recipe) == {}
    assert steps_budget(1200, recipe) == {"epochs": 12, "warmup_steps": 80}
    assert steps_budget(4500, recipe) == {"epochs": 45, "warmup_steps": 300}
    assert steps_budget(10, recipe) == {"epochs": 1, "warmup_steps": 7}
