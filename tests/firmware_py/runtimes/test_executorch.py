"""The torch-free ExecuTorch runner on the shipped bundles: it runs the int8 and fp32 ``.pte``
in a process where torch cannot be imported, computes exactly what ExecuTorch's own Python
runtime computes, and its int8 detections agree with LiteRT's int8 ``.tflite``.

Tiles are real 320x320 scenes of the synthetic generator (``models.data.synth``, seeds
``[11, i]``: objects of 4-40 px on noise, clutter and sensor noise), made here and handed to
the torch-free process as a ``.npy``.

ExecuTorch vs LiteRT tolerance (the two int8 artifacts are quantised by two exporters, so they
differ slightly): every detection scoring at least ``threshold + 0.02`` has a detection of the
same label in the other runtime with IoU >= 0.5 and a score within 0.02; a detection without a
partner scores under ``threshold + 0.02``; the median IoU of the pairs is at least 0.95.
Measured on 120 tiles of these seeds (642 pairs): score difference at most 0.0133 (median
0.002), IoU at least 0.55 (1% under 0.92, median 0.987), unpaired detections all under 0.3125
with threshold 0.3.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from firmware_py.decode import Detections
from firmware_py.device import load_trusted_keys
from firmware_py.nms import pairwise_overlap
from firmware_py.pipeline.model import BundleModel
from firmware_py.runtimes.executorch import ExecuTorchError, ExecuTorchRunner
from firmware_py.shipped import DEFAULT_BUNDLE, ZOO_KEYS

ROOT = Path(__file__).resolve().parents[3]
DETECTOR = DEFAULT_BUNDLE  # the shipped specknet-nano, from the package or the checkout
KEYS = ZOO_KEYS
SCORE_TOL, MIN_IOU, MIN_MEDIAN_IOU = 0.02, 0.5, 0.95

# Runs in a fresh interpreter where any import of torch raises: each shipped .pte through the
# device path (BundleModel -> ExecuTorchRunner), saving the prepared inputs, raw outputs and
# detections.
TORCH_FREE = """
import importlib.abc, json, sys

class NoTorch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "torch":
            raise ImportError(f"torch is blocked in this process ({name})")
        return None

sys.meta_path.insert(0, NoTorch())
try:
    import torch
    blocked = False
except ImportError:
    blocked = True

from pathlib import Path
import numpy as np
from firmware_py.device import load_trusted_keys
from firmware_py.pipeline.model import BundleModel

bundle, keys, tiles_path, out_path = sys.argv[1:5]
tiles = np.load(tiles_path)
saved, files = {}, {}
for precision in ("int8", "fp32"):
    model = BundleModel(bundle, load_trusted_keys(Path(keys)), runtime="executorch",
                        precision=precision, threads=2)
    files[precision] = model.artifact.file
    for i, tile in enumerate(tiles):
        saved[f"{precision}/input/{i}"] = np.ascontiguousarray(model.prepare(tile))
        for k, y in enumerate(model.runner.run([saved[f"{precision}/input/{i}"]])):
            saved[f"{precision}/output/{i}/{k}"] = y
        det = model.detect(tile[None])[0]
        saved[f"{precision}/boxes/{i}"] = det.boxes
        saved[f"{precision}/scores/{i}"] = det.scores
        saved[f"{precision}/labels/{i}"] = det.labels
np.savez(out_path, **saved)
print(json.dumps({"blocked": blocked, "files": files,
                  "torch_loaded": sorted(m for m in sys.modules if m.split(".")[0] == "torch")}))
"""


@pytest.fixture(scope="module")
def tiles() -> np.ndarray:
    from models.data.synth import SynthConfig, synth_image

    cfg = SynthConfig(width=320, height=320, background_prob=0.0)
    return np.stack([synth_image(cfg, [11, i]).image for i in range(8)])  # (N, 320, 320, 3)


@pytest.fixture(scope="module")
def torch_free(tiles: np.ndarray, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict]:
    """``(report, arrays)`` of the shipped .pte run in a process that cannot import torch."""
    folder = tmp_path_factory.mktemp("torch-free")
    np.save(folder / "tiles.npy", tiles)
    done = subprocess.run([sys.executable, "-c", TORCH_FREE, str(DETECTOR), str(KEYS),
                           str(folder / "tiles.npy"), str(folder / "out.npz")],
                          capture_output=True, text=True, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    with np.load(folder / "out.npz") as saved:
        return json.loads(done.stdout.strip().splitlines()[-1]), dict(saved)


def _detections(arrays: dict, precision: str, i: int) -> Detections:
    return Detections(arrays[f"{precision}/boxes/{i}"], arrays[f"{precision}/scores/{i}"],
                      arrays[f"{precision}/labels/{i}"])


def test_shipped_pte_run_where_torch_cannot_be_imported(torch_free, tiles) -> None:
    report, arrays = torch_free
    assert report["blocked"]  # the blocker works: `import torch` failed in that process
    assert report["torch_loaded"] == []
    assert report["files"] == {"int8": "specknet-nano_int8.pte",
                               "fp32": "specknet-nano_fp32.pte"}
    for precision in ("int8", "fp32"):
        heatmaps = np.stack([arrays[f"{precision}/output/{i}/0"] for i in range(len(tiles))])
        assert heatmaps.shape == (len(tiles), 1, 4, 80, 80) and np.isfinite(heatmaps).all()
        assert sum(len(_detections(arrays, precision, i)) for i in range(len(tiles))) > 0


@pytest.mark.host
def test_outputs_equal_executorchs_python_runtime(torch_free, tiles) -> None:
    """Bit for bit: the same C++ runtime and XNNPACK kernels, the same 2-thread pool."""
    import torch
    from executorch.runtime import Runtime

    _, arrays = torch_free
    for precision in ("int8", "fp32"):
        program = Runtime.get().load_program(DETECTOR / f"specknet-nano_{precision}.pte")
        method = program.load_method("forward")
        for i in range(len(tiles)):
            x = torch.from_numpy(arrays[f"{precision}/input/{i}"])
            for k, want in enumerate(method.execute([x])):
                np.testing.assert_array_equal(arrays[f"{precision}/output/{i}/{k}"],
                                              want.numpy())


def _pairs(a: Detections, b: Detections) -> tuple[list[tuple[int, int, float]], list[int]]:
    """Greedy same-label pairs of ``a`` with ``b`` by IoU (``a`` in score order); the unpaired
    indices of ``a``."""
    if not len(a) or not len(b):
        return [], list(range(len(a)))
    overlap = pairwise_overlap(a.boxes, b.boxes) * (a.labels[:, None] == b.labels[None, :])
    pairs, unpaired, used = [], [], set()
    for i in range(len(a)):
        order = [j for j in np.argsort(-overlap[i]) if overlap[i, j] > 0 and j not in used]
        if order:
            used.add(order[0])
            pairs.append((i, int(order[0]), float(overlap[i, order[0]])))
        else:
            unpaired.append(i)
    return pairs, unpaired


def test_int8_detections_match_litert_int8(torch_free, tiles) -> None:
    _, arrays = torch_free
    litert = BundleModel(DETECTOR, load_trusted_keys(KEYS), runtime="litert", precision="int8",
                         threads=2)
    assert litert.artifact.file == "specknet-nano_int8.tflite"
    floor = litert.manifest.decode.score_threshold + SCORE_TOL
    ious = []
    for i, tile in enumerate(tiles):
        sides = (_detections(arrays, "int8", i), litert.detect(tile[None])[0])
        for a, b in (sides, sides[::-1]):
            pairs, unpaired = _pairs(a, b)
            for j, k, iou in pairs:
                if a.scores[j] >= floor:
                    assert iou >= MIN_IOU, f"tile {i}: {a.boxes[j]} vs {b.boxes[k]}"
                    assert abs(a.scores[j] - b.scores[k]) <= SCORE_TOL, f"tile {i}"
                ious.append(iou)
            assert all(a.scores[j] < floor for j in unpaired), f"tile {i}: {a.scores[unpaired]}"
    assert len(ious) > 20 and np.median(ious) >= MIN_MEDIAN_IOU


THREADS = """
import gc, json, logging, sys
logging.basicConfig(level=logging.WARNING, stream=sys.stdout)
from firmware_py.runtimes.executorch import ExecuTorchRunner, thread_count
pte = sys.argv[1]
seen = {"default": thread_count()}
first = ExecuTorchRunner(pte, num_threads=3)
seen["first"] = thread_count()
del first
gc.collect()
second = ExecuTorchRunner(pte, num_threads=1)
seen["second"] = thread_count()
third = ExecuTorchRunner(pte, num_threads=2)  # `second` still holds the pool
seen["third"] = thread_count()
print(json.dumps(seen))
"""


def test_the_threadpool_takes_the_boards_thread_count() -> None:
    """``num_threads`` sizes ExecuTorch's pool while no program holds it; a runner loaded
    beside a live one gets the pool as it is, with a warning."""
    done = subprocess.run([sys.executable, "-c", THREADS, str(DETECTOR / "specknet-nano_int8.pte")],
                          capture_output=True, text=True, cwd=ROOT, check=True)
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["first"] == 3 and seen["second"] == 1 and seen["third"] == 1
    assert "already runs 1 threads for a loaded program; 2 asked for" in done.stdout


def test_a_corrupt_program_is_one_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pte"
    bad.write_bytes((DETECTOR / "specknet-nano_int8.pte").read_bytes()[:4096])
    with pytest.raises(ExecuTorchError, match=r"bad\.pte: Program::load: .*InvalidProgram"):
        ExecuTorchRunner(bad)
    with pytest.raises(ExecuTorchError, match="cannot read"):
        ExecuTorchRunner(tmp_path / "missing.pte")


def test_inputs_of_the_wrong_shape_or_dtype_are_refused() -> None:
    runner = ExecuTorchRunner((DETECTOR / "specknet-nano_int8.pte").read_bytes())
    assert runner.source == f"<{(DETECTOR / 'specknet-nano_int8.pte').stat().st_size} bytes>"
    with pytest.raises(ValueError, match=r"input_0 is float32\[1, 3, 32, 32\]"):
        runner.run([np.zeros((1, 3, 32, 32), np.float32)])
    with pytest.raises(ValueError, match="input_0 is float64"):
        runner.run([np.zeros((1, 3, 320, 320))])
    with pytest.raises(ValueError, match="2 inputs, the program takes 1"):
        runner.run([np.zeros((1, 3, 320, 320), np.float32)] * 2)
