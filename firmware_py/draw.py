"""Draw detections (and optionally the tiles that ran) on an RGB frame with OpenCV."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

_PALETTE = ((255, 64, 64), (64, 200, 255), (255, 200, 0), (160, 255, 96), (255, 96, 255),
            (96, 255, 220))


def draw_detections(frame: np.ndarray, boxes: np.ndarray, scores: np.ndarray,
                    labels: np.ndarray, names: Sequence[str], pad: int = 3) -> np.ndarray:
    """A copy of ``frame`` (H, W, 3 RGB) with each box drawn ``pad`` px outside the object
    (tiny objects stay visible) and its label and score above it."""
    out = np.ascontiguousarray(frame).copy()
    for box, score, label in zip(boxes, scores, labels, strict=True):
        x0, y0, x1, y1 = (int(round(v)) for v in box)
        color = _PALETTE[int(label) % len(_PALETTE)]
        cv2.rectangle(out, (x0 - pad, y0 - pad), (x1 + pad, y1 + pad), color, 1)
        cv2.putText(out, f"{names[int(label)]} {score:.2f}", (x0 - pad, y0 - pad - 3),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.35, color, 1, cv2.LINE_AA)
    return out
