"""Data for the small-object detector: annotation records, YOLO and COCO readers/writers with
validation, a synthetic scene generator and a tile dataset for training on large images.

Names are imported lazily, so ``import models.data`` (and the CLI registration) pulls in
neither torch nor OpenCV.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "boxes": ("DatasetError", "DetectionSet", "DropReport", "ImageRecord", "read_image",
              "write_image"),
    "yolo": ("read_yolo", "read_data_yaml", "write_labels", "write_data_yaml", "label_path"),
    "coco": ("read_coco", "to_coco", "image_id_map"),
    "synth": ("CLASSES", "Scene", "SynthConfig", "synth_image", "synth_clip", "write_dataset",
              "write_clip", "read_clip"),
    "tiles": ("TileAugment", "TileDataset", "collate_fn"),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
