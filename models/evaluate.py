"""COCO box evaluation (Lin et al., "Microsoft COCO: Common Objects in Context",
arXiv:1405.0312; metrics at https://cocodataset.org/#detection-eval) through faster-coco-eval,
with small-object AP in front.

Inputs are plain per-image records, so any reader (or none) can feed it:

- ground truth: ``{"image_id", "width", "height", "boxes" (N, 4) xyxy pixels, "labels" (N,)}``
- predictions: ``{"image_id", "boxes" (K, 4) xyxy pixels, "scores" (K,), "labels" (K,)}``

Choices where the protocol is silent or ours:

- Records become COCO dicts here: ``bbox = [x, y, w, h]``, ``area = w * h`` (box area: there
  are no masks), ``category_id = label + 1`` and image ids ``1..N`` in the ground truth's
  order (as ``models/data/coco.py`` writes them). Annotation ids start at 1: COCO's matcher
  reads id 0 as "unmatched".
- Area ranges are COCO's: small ``<= 32**2``, medium ``32**2 .. 96**2``, large above.
- ``max_dets`` (default 100, COCO's) caps detections per image; raise it for scenes with
  more objects (a flock of birds), as the COCO limit would then cap recall.
- A metric with nothing to measure (no ground truth of that class or size) is NaN, and
  ``None`` in :meth:`DetectionMetrics.to_dict`, never COCO's sentinel -1.
- The PR curve is COCO's interpolated precision at its 101 recall points, IoU 0.5, all
  areas, ``max_dets``; one line per class that has ground truth.
- Tiny objects, as tiny-object benchmarks report them (AI-TOD, Wang et al. arXiv:2009.13121:
  "very tiny" is 2-8 px): ``ap30_tiny`` is AP at IoU 0.3 over objects whose box side
  ``sqrt(area)`` is under 8 px (area ``< 8**2``), a second COCO evaluation with that one IoU
  threshold and that one area range; at these sizes a box one pixel off fails IoU 0.5.
- Beside AP, the operating point: the score threshold of best F1 at IoU 0.5 over the same
  detections (``models.operating_point``), what a deployed detector would deliver.
"""

from __future__ import annotations

import io
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from faster_coco_eval import COCO, COCOeval_faster
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from rich.console import Console
from rich.table import Table

from .operating_point import OperatingPoint, best_f1

log = logging.getLogger(__name__)

SMALL_AREA = 32**2
MEDIUM_AREA = 96**2
TINY_AREA = 8**2
TINY_IOU = 0.3


@dataclass
class ClassAP:
    """AP of one class; NaN when the class has no ground truth."""

    name: str
    ap: float  # mean over IoU 0.50:0.95
    ap50: float
    num_gt: int


@dataclass
class DetectionMetrics:
    """COCO summary numbers (fractions in [0, 1], NaN when undefined) and per-class AP."""

    map50_95: float
    map50: float
    map75: float
    ap_small: float
    ap_medium: float
    ap_large: float
    ar: float  # recall at max_dets, IoU 0.50:0.95
    ar_small: float
    ap30_tiny: float  # AP at IoU 0.3, objects under 8 px (area < 64)
    num_images: int
    num_gt: int
    num_predictions: int
    per_class: list[ClassAP] = field(default_factory=list)
    pr_curve: Path | None = None
    operating_point: OperatingPoint | None = None  # best F1 at IoU 0.5

    def to_dict(self) -> dict:
        """JSON-ready: NaN becomes None, the path a string."""
        out = asdict(self)
        out["pr_curve"] = None if self.pr_curve is None else str(self.pr_curve)
        return _nan_to_none(out)

    def table(self) -> Table:
        """A rich table: summary rows, then AP50 and AP per class."""
        table = Table(title=f"COCO box metrics: {self.num_images} images, {self.num_gt} "
                      f"objects, {self.num_predictions} predictions")
        for column in ("class", "GT", "AP50", "AP50-95"):
            table.add_column(column, justify="left" if column == "class" else "right")
        table.add_row("all", str(self.num_gt), _fmt(self.map50), _fmt(self.map50_95))
        table.add_row("  small", "", "", _fmt(self.ap_small))
        table.add_row("  medium", "", "", _fmt(self.ap_medium))
        table.add_row("  large", "", "", _fmt(self.ap_large))
        table.add_row("  < 8 px, AP at IoU 0.3", "", "", _fmt(self.ap30_tiny),
                      end_section=True)
        for c in self.per_class:
            table.add_row(c.name, str(c.num_gt), _fmt(c.ap50), _fmt(c.ap))
        return table

    def __str__(self) -> str:
        console = Console(file=io.StringIO(), width=100, color_system=None)
        console.print(self.table())
        if self.operating_point is not None:
            console.print(f"operating point {self.operating_point.line()}")
        return console.file.getvalue()


def _fmt(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.3f}"


def _nan_to_none(value: object) -> object:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _nan_to_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_nan_to_none(v) for v in value]
    return value


def _xywh(boxes: np.ndarray) -> np.ndarray:
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], axis=1)  # (N, 4)


def coco_ground_truth(records: Sequence[Mapping], names: Sequence[str]
                      ) -> tuple[dict, dict[object, int]]:
    """COCO dataset dict of ground-truth records, and the map from each record's
    ``image_id`` to its COCO image id."""
    image_ids: dict[object, int] = {}
    images, annotations = [], []
    for record in records:
        if record["image_id"] in image_ids:
            raise ValueError(f"duplicate ground-truth image_id {record['image_id']!r}")
        coco_id = image_ids[record["image_id"]] = len(image_ids) + 1
        images.append({"id": coco_id, "width": int(record["width"]),
                       "height": int(record["height"])})
        labels = np.asarray(record["labels"], dtype=np.int64).reshape(-1)
        _check_labels(labels, names, record["image_id"])
        for box, label in zip(_xywh(record["boxes"]), labels, strict=True):
            annotations.append({"id": len(annotations) + 1, "image_id": coco_id,
                                "category_id": int(label) + 1, "bbox": box.tolist(),
                                "area": float(box[2] * box[3]), "iscrowd": 0})
    categories = [{"id": i + 1, "name": name} for i, name in enumerate(names)]
    return {"images": images, "annotations": annotations, "categories": categories}, image_ids


def coco_detections(predictions: Sequence[Mapping], image_ids: Mapping[object, int],
                    names: Sequence[str]) -> list[dict]:
    """COCO result list (``bbox`` xywh, ``score``) of prediction records."""
    results = []
    for pred in predictions:
        if pred["image_id"] not in image_ids:
            raise ValueError(f"prediction for image_id {pred['image_id']!r} has no ground truth")
        labels = np.asarray(pred["labels"], dtype=np.int64).reshape(-1)
        _check_labels(labels, names, pred["image_id"])
        scores = np.asarray(pred["scores"], dtype=np.float64).reshape(-1)
        for box, score, label in zip(_xywh(pred["boxes"]), scores, labels, strict=True):
            results.append({"image_id": image_ids[pred["image_id"]],
                            "category_id": int(label) + 1, "bbox": box.tolist(),
                            "score": float(score)})
    return results


def _check_labels(labels: np.ndarray, names: Sequence[str], image_id: object) -> None:
    if len(labels) and (labels.min() < 0 or labels.max() >= len(names)):
        raise ValueError(f"image {image_id!r}: labels must be in 0..{len(names) - 1}")


def _mean_valid(values: np.ndarray) -> float:
    valid = values[values > -1]
    return float(valid.mean()) if valid.size else math.nan


def evaluate(ground_truth: Sequence[Mapping], predictions: Sequence[Mapping],
             names: Sequence[str], pr_curve: str | Path | None = None,
             max_dets: int = 100) -> DetectionMetrics:
    """COCO box metrics of ``predictions`` against ``ground_truth`` (records as in the module
    docstring); writes the per-class PR curve at IoU 0.5 to ``pr_curve`` (PNG) if given."""
    gt_dict, image_ids = coco_ground_truth(ground_truth, names)
    detections = coco_detections(predictions, image_ids, names)
    coco_gt = COCO(gt_dict)
    coco_dt = coco_gt.loadRes(detections)
    evaluator = _run(coco_gt, coco_dt, max_dets)

    params = evaluator.params
    m = params.maxDets.index(max_dets)
    precision = evaluator.eval["precision"][..., m]  # (T iou, R recall, K class, A area)
    recall = evaluator.eval["recall"][..., m]  # (T, K, A)
    t50 = int(np.flatnonzero(np.isclose(params.iouThrs, 0.5))[0])
    t75 = int(np.flatnonzero(np.isclose(params.iouThrs, 0.75))[0])
    area = {label: i for i, label in enumerate(params.areaRngLbl)}
    all_, small = area["all"], area["small"]
    gt_labels = np.array([a["category_id"] - 1 for a in gt_dict["annotations"]], dtype=np.int64)
    counts = np.bincount(gt_labels, minlength=len(names))
    per_class = [ClassAP(name, _mean_valid(precision[:, :, k, all_]),
                         _mean_valid(precision[t50, :, k, all_]), int(counts[k]))
                 for k, name in enumerate(names)]
    metrics = DetectionMetrics(
        map50_95=_mean_valid(precision[:, :, :, all_]),
        map50=_mean_valid(precision[t50, :, :, all_]),
        map75=_mean_valid(precision[t75, :, :, all_]),
        ap_small=_mean_valid(precision[:, :, :, small]),
        ap_medium=_mean_valid(precision[:, :, :, area["medium"]]),
        ap_large=_mean_valid(precision[:, :, :, area["large"]]),
        ar=_mean_valid(recall[:, :, all_]),
        ar_small=_mean_valid(recall[:, :, small]),
        ap30_tiny=_tiny_ap(coco_gt, coco_dt, max_dets),
        num_images=len(image_ids), num_gt=len(gt_labels), num_predictions=len(detections),
        per_class=per_class, operating_point=best_f1(ground_truth, _top(predictions, max_dets)))
    if pr_curve is not None:
        metrics.pr_curve = plot_pr_curve(params.recThrs, precision[t50, :, :, all_],
                                         names, pr_curve)
    return metrics


def _run(coco_gt: COCO, coco_dt: COCO, max_dets: int, iou: float | None = None,
         area: tuple[float, float] | None = None) -> COCOeval_faster:
    """An accumulated COCO evaluation; ``iou`` / ``area`` replace COCO's thresholds and
    area ranges by that one."""
    evaluator = COCOeval_faster(coco_gt, coco_dt, iouType="bbox", print_function=log.debug)
    evaluator.params.maxDets = sorted({1, 10, max_dets})
    if iou is not None:
        evaluator.params.iouThrs = np.array([iou])
    if area is not None:
        evaluator.params.areaRng, evaluator.params.areaRngLbl = [list(area)], ["range"]
    evaluator.evaluate()
    evaluator.accumulate()
    return evaluator


def _tiny_ap(coco_gt: COCO, coco_dt: COCO, max_dets: int) -> float:
    """AP at IoU 0.3 over objects under 8 px (see the module docstring)."""
    evaluator = _run(coco_gt, coco_dt, max_dets, iou=TINY_IOU, area=(0.0, TINY_AREA - 1e-9))
    m = evaluator.params.maxDets.index(max_dets)
    return _mean_valid(evaluator.eval["precision"][..., m])


def _top(predictions: Sequence[Mapping], max_dets: int) -> list[dict]:
    """Each image's ``max_dets`` best detections (those COCO evaluates)."""
    out = []
    for pred in predictions:
        scores = np.asarray(pred["scores"], dtype=np.float64).reshape(-1)
        keep = np.argsort(-scores, kind="stable")[:max_dets]
        out.append({"image_id": pred["image_id"], "scores": scores[keep],
                    "boxes": np.asarray(pred["boxes"]).reshape(-1, 4)[keep],
                    "labels": np.asarray(pred["labels"]).reshape(-1)[keep]})
    return out


def plot_pr_curve(recall: np.ndarray, precision: np.ndarray, names: Sequence[str],
                  path: str | Path) -> Path:
    """Write precision ``(R, K)`` against recall ``(R,)`` per class (skipping classes with
    no ground truth, whose precision is -1) to a PNG; returns the path."""
    fig = Figure(figsize=(6, 5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for k, name in enumerate(names):
        if np.all(precision[:, k] > -1):
            ap = float(precision[:, k].mean())
            ax.plot(recall, precision[:, k], label=f"{name} {ap:.3f}")
    ax.set(xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1.02),
           title="Precision-recall at IoU 0.5")
    ax.grid(alpha=0.3)
    if ax.lines:
        ax.legend(loc="lower left", fontsize="small")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path
