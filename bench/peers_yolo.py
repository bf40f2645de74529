"""The peers' half of ``bench/peers.py``: Ultralytics YOLO11n / YOLO26n and SAHI, run
unmodified inside ``.venv-peers`` (torch 2.14.1 + torchvision 0.29.1; see
``bench/peers-requirements.txt``).

It never imports Specks, and Specks never imports it: the two halves talk through files.
Every subcommand writes one JSON file (``--out``) that ``bench/peers.py`` reads in ``.venv``.

- ``train``: a YOLO built from one of Ultralytics' yamls (``--yaml``: ``yolo11n.yaml``,
  ``yolo26n.yaml``, both shipped by Ultralytics 8.4; no pretrained weights), trained
  on a YOLO ``data.yaml`` for a wall-clock budget with Ultralytics' own ``time`` argument
  (which stops mid-epoch at the budget and re-fits its LR schedule to it after each epoch).
- ``predict``: boxes on a list of images (``model.predict``), for the COCO evaluator.
- ``export``: ``format="litert"`` (``"tflite"`` is its deprecated alias) fp32 and
  ``quantize=8`` (static int8 by ai-edge-quantizer, calibrated on ``--data``'s val split),
  and ``format="executorch"`` (fp32; Ultralytics has no int8 ExecuTorch export).
- ``sahi``: SAHI's ``get_sliced_prediction`` over a clip's PNG frames, timed per frame.

Offline: ``YOLO_OFFLINE=1``, settings in ``--work``'s own config folder (``YOLO_CONFIG_DIR``)
with ``sync`` and every logger integration off, ``plots=False``. Threads: Ultralytics resets
torch to ``os.cpu_count() - 1`` threads when it picks the CPU (``select_device``); an
``on_pretrain_routine_end`` callback (public API, after that reset) sets ``--threads`` back, a
batch-end callback records the count actually in force, and every other subcommand calls
``torch.set_num_threads(--threads)``. Ultralytics' other defaults stay (SGD/AdamW "auto",
nominal batch 64 by gradient accumulation, mosaic, warm-up): those are what its users get.

    .venv-peers/bin/python bench/peers_yolo.py {train,predict,export,sahi} ... --out OUT.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

OFFLINE_SETTINGS = {"sync": False, "clearml": False, "comet": False, "dvc": False,
                    "mlflow": False, "raytune": False, "tensorboard": False, "wandb": False,
                    "vscode_msg": False, "openvino_msg": False}


def offline(work: Path) -> None:
    """Point Ultralytics at a private config folder and switch off everything online."""
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ.setdefault("YOLO_CONFIG_DIR", str(work / "ultralytics-config"))
    from ultralytics import settings

    settings.update({**OFFLINE_SETTINGS, "datasets_dir": str(work / "datasets"),
                     "weights_dir": str(work / "weights"), "runs_dir": str(work / "runs")})


def train(args: argparse.Namespace) -> dict:
    import torch
    from ultralytics import YOLO

    model = YOLO(args.yaml)
    seen: set[int] = set()
    clock = {"batches": 0, "train_s": 0.0}

    def threads(_trainer: object) -> None:
        torch.set_num_threads(args.threads)

    def probe(_trainer: object) -> None:
        seen.add(torch.get_num_threads())
        clock["batches"] += 1

    def lap(trainer: object) -> None:  # the training loop's own clock, before validation
        clock["train_s"] = round(time.time() - trainer.train_time_start, 1)

    model.add_callback("on_pretrain_routine_end", threads)
    model.add_callback("on_train_batch_end", probe)
    model.add_callback("on_train_epoch_end", lap)
    start = time.perf_counter()
    model.train(data=str(args.data), imgsz=args.imgsz, batch=args.batch, epochs=1000,
                time=args.minutes / 60, device="cpu", workers=0, amp=False, plots=False,
                val=False, seed=args.seed, deterministic=False, pretrained=False,
                project=str(args.work), name=Path(args.yaml).stem, exist_ok=True,
                verbose=False)
    seconds = time.perf_counter() - start
    trainer = model.trainer
    metrics = {k: float(v) for k, v in (trainer.metrics or {}).items()}
    return {"weights": str(Path(trainer.save_dir) / "weights" / "last.pt"),
            "params": sum(p.numel() for p in model.model.parameters()),
            "epochs": int(trainer.epoch) + 1, **clock, "budget_min": args.minutes,
            "wall_s": round(seconds, 1), "torch_threads": sorted(seen),
            "imgsz": args.imgsz, "batch": args.batch, "ultralytics_val": metrics}


def predict(args: argparse.Namespace) -> dict:
    import torch
    from ultralytics import YOLO

    torch.set_num_threads(args.threads)
    model = YOLO(args.weights)
    images = [line for line in Path(args.images).read_text().splitlines() if line]
    found = []
    for image in images:
        (result,) = model.predict(image, imgsz=args.imgsz, conf=args.conf,
                                  max_det=args.max_det, device="cpu", verbose=False)
        found.append({"image": image, **_boxes(result)})
    return {"weights": args.weights, "imgsz": args.imgsz, "conf": args.conf,
            "names": [model.names[i] for i in range(len(model.names))], "predictions": found}


def _boxes(result: object) -> dict:
    boxes = result.boxes
    return {"boxes": boxes.xyxy.tolist(), "scores": boxes.conf.tolist(),
            "labels": [int(c) for c in boxes.cls.tolist()]}


EXPORTS = {  # row name -> (export arguments, file the exporter writes)
    "tflite_fp32": ({"format": "litert"}, "{stem}.tflite"),
    "tflite_int8": ({"format": "litert", "quantize": 8, "data": True}, "{stem}_int8.tflite"),
    "pte_fp32": ({"format": "executorch"}, "{stem}_executorch_model/model.pte"),
}


def export(args: argparse.Namespace) -> dict:
    """Each export in a fresh model object; a failure is recorded, not raised."""
    import torch
    from ultralytics import YOLO

    torch.set_num_threads(args.threads)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    weights = args.out_dir / f"{args.name}.pt"
    shutil.copyfile(args.weights, weights)
    rows = {}
    for row, (kwargs, written) in EXPORTS.items():
        if kwargs.get("data"):  # Ultralytics rejects arguments a format does not take
            kwargs = {**kwargs, "data": str(args.data)}
        start = time.perf_counter()
        try:
            YOLO(str(weights)).export(**kwargs, imgsz=args.imgsz, batch=1, device="cpu",
                                      verbose=False)
        except Exception as error:  # noqa: BLE001 -- the report names what failed and why
            rows[row] = {"error": f"{type(error).__name__}: {error}"}
            continue
        path = args.out_dir / written.format(stem=weights.stem)
        rows[row] = {"path": str(path), "size_kb": round(path.stat().st_size / 1024, 1),
                     "export_s": round(time.perf_counter() - start, 1)}
    return {"imgsz": args.imgsz, "artifacts": rows}


def sahi(args: argparse.Namespace) -> dict:
    """SAHI sliced prediction on every frame: read PNG -> RGB -> get_sliced_prediction, timed
    together, as the Specks pipeline's frame time includes reading the frame."""
    import cv2
    import torch
    from sahi import AutoDetectionModel
    from sahi.predict import get_sliced_prediction
    from sahi.slicing import get_slice_bboxes

    torch.set_num_threads(args.threads)
    model = AutoDetectionModel.from_pretrained(model_type="ultralytics", model_path=args.weights,
                                               device="cpu", image_size=args.slice)
    frames = sorted((args.clip / "frames").glob("*.png"))[:args.frames or None]
    found, start = [], time.perf_counter()
    for path in frames:
        image = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
        result = get_sliced_prediction(image, model, slice_height=args.slice,
                                       slice_width=args.slice, verbose=0)
        found.append(_sahi_boxes(int(path.stem), result.object_prediction_list))
    seconds = time.perf_counter() - start
    slices = get_slice_bboxes(image.shape[0], image.shape[1], args.slice, args.slice)
    return {"weights": args.weights, "slice": args.slice, "frames": len(found),
            "seconds": seconds, "calls_per_frame": len(slices) + 1,  # + full-image pass
            "confidence_threshold": model.confidence_threshold,
            "torch_threads": torch.get_num_threads(), "predictions": found}


def _sahi_boxes(frame: int, objects: list) -> dict:
    objects = sorted(objects, key=lambda o: -o.score.value)
    return {"frame": frame, "boxes": [o.bbox.to_xyxy() for o in objects],
            "scores": [float(o.score.value) for o in objects],
            "labels": [int(o.category.id) for o in objects]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--work", type=Path, required=True, help="folder for Ultralytics' files")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", type=Path, required=True, help="JSON result file")
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train")
    t.add_argument("--data", type=Path, required=True)
    t.add_argument("--yaml", default="yolo11n.yaml")
    t.add_argument("--minutes", type=float, default=5.0)
    t.add_argument("--imgsz", type=int, default=640)
    t.add_argument("--batch", type=int, default=16)
    t.add_argument("--seed", type=int, default=0)
    r = sub.add_parser("predict")
    r.add_argument("--weights", required=True)
    r.add_argument("--images", type=Path, required=True, help="text file, one image a line")
    r.add_argument("--imgsz", type=int, default=640)
    r.add_argument("--conf", type=float, default=0.01)
    r.add_argument("--max-det", type=int, default=100)
    e = sub.add_parser("export")
    e.add_argument("--weights", required=True)
    e.add_argument("--data", type=Path, required=True, help="int8 calibration data.yaml")
    e.add_argument("--imgsz", type=int, default=320)
    e.add_argument("--out-dir", type=Path, required=True)
    e.add_argument("--name", default="yolo11n", help="stem of the exported files")
    s = sub.add_parser("sahi")
    s.add_argument("--weights", required=True)
    s.add_argument("--clip", type=Path, required=True, help="clip folder with frames/*.png")
    s.add_argument("--slice", type=int, default=320)
    s.add_argument("--frames", type=int, default=0, help="first N frames (0 = all)")
    args = p.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    offline(args.work)
    result = {"train": train, "predict": predict, "export": export, "sahi": sahi}[args.command](
        args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
