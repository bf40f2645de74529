"""A verified bundle, loaded once in its runtime: uint8 tiles in, decoded results out.

:class:`BundleModel` verifies the bundle (signature against the trusted keys, every file's
hash) before anything is loaded, picks the artifact the board asks for, and creates its
runner once. Choices of ours:

- Artifact choice: the board's ``(runtime.prefer, runtime.precision)`` first, then the other
  precision in the same runtime, then the other runtime. A runtime that is not available on
  this board (not installed, or ExecuTorch's runner cannot be built: no C++ compiler) is
  skipped with a warning that names what to install.
- Preprocessing is one table lookup. Normalisation (``(v / 255 - mean) / std``) and, for an
  int8 input, quantisation (``round(x / scale) + zero_point``, clipped) depend only on the
  pixel value and channel, so a ``(3, 256)`` table maps uint8 RGB tiles straight to the
  artifact's input dtype (``cv2.LUT``, one table per channel: no temporary array beside the
  output, where numpy's fancy indexing needs two ``intp`` copies of the tile, 2.4 MB each at
  320 px); the layout is a free transpose for NHWC artifacts (LiteRT).
- Artifacts have a static batch of 1 (int8 export needs static shapes), so tiles run one at
  a time through the same interpreter.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

import cv2
import numpy as np

from firmware_py.decode import Detections, decode_centernet
from firmware_py.device.compat import artifact_order
from firmware_py.manifest import (
    Artifact,
    CenterNetDecode,
    InputSpec,
    Manifest,
    SaliencyDecode,
    TensorSpec,
)
from firmware_py.runtimes import Runner, from_artifact, load_runner
from firmware_py.verify import BundleError, verify_bundle

log = logging.getLogger(__name__)

_INT8 = (-128, 127)


class ModelError(RuntimeError):
    """The bundle has no artifact this board can run, or the model's I/O does not fit."""


def input_table(spec: InputSpec, tensor: TensorSpec) -> np.ndarray:
    """``(3, 256)`` lookup table: uint8 value of channel ``c`` -> the artifact's input value."""
    values = np.arange(256, dtype=np.float64) / 255.0
    mean, std = np.asarray(spec.mean)[:, None], np.asarray(spec.std)[:, None]
    real = (values[None, :] - mean) / std  # (3, 256)
    if tensor.dtype == "int8":
        q = np.round(real / tensor.quant_scale) + tensor.quant_zero_point
        return np.clip(q, *_INT8).astype(np.int8)
    if tensor.dtype != "float32":
        raise ModelError(f"input dtype {tensor.dtype} is not supported")
    return real.astype(np.float32)


class BundleModel:
    """One bundle's model ready to run tiles: ``detect`` (CenterNet bundles) or ``saliency``
    (prior bundles). The bundle is verified against ``trusted_keys`` (ed25519 public keys)
    unless ``manifest`` is given: the manifest :func:`firmware_py.verify_child.verify_in_child`
    returned for it."""

    def __init__(self, bundle: str | Path, trusted_keys: Iterable = (), runtime: str = "litert",
                 precision: str = "int8", threads: int | None = None,
                 manifest: Manifest | None = None) -> None:
        self.path = Path(bundle)
        self.manifest: Manifest = manifest or verify_bundle(self.path, trusted_keys)
        self.artifact, self.runner = self._load(runtime, precision, threads)
        self.input_spec = self.manifest.input
        tensor = self.runner.inputs[0]
        self._lut = np.ascontiguousarray(input_table(self.input_spec, tensor).T)[None]
        # (1, 256, 3): cv2.LUT's per-channel table
        self._nhwc = tensor.layout == "NHWC"
        self._bgr = self.input_spec.color == "BGR"
        log.info("%s: %s %s (%s, %s)", self.path, self.manifest.model, self.artifact.file,
                 self.artifact.runtime, self.artifact.precision)

    @property
    def tile_size(self) -> tuple[int, int]:
        """``(height, width)`` of one input."""
        _, _, h, w = self.input_spec.shape
        return h, w

    @property
    def labels(self) -> tuple[str, ...]:
        return self.manifest.labels

    def _load(self, runtime: str, precision: str, threads: int | None
              ) -> tuple[Artifact, Runner]:
        errors = []
        for artifact in artifact_order(self.manifest.artifacts, runtime, precision):
            try:
                return artifact, load_runner(self.path / artifact.file, artifact.format,
                                             threads)
            except ImportError as e:
                log.warning("%s: %s runtime unavailable here (%s)", artifact.file,
                            artifact.runtime, e)
                errors.append(f"{artifact.file}: {e}")
        raise ModelError(f"{self.path}: no artifact can run here: {'; '.join(errors)}")

    def prepare(self, tile: np.ndarray) -> np.ndarray:
        """``(H, W, 3)`` uint8 RGB -> the artifact's ``(1, ...)`` input array."""
        tile = np.ascontiguousarray(tile[..., ::-1] if self._bgr else tile)
        x = cv2.LUT(tile, self._lut)  # (H, W, 3), the table's dtype
        return (x if self._nhwc else x.transpose(2, 0, 1))[None]

    def raw(self, tile: np.ndarray) -> list[np.ndarray]:
        """Float32 outputs in the PyTorch layout for one uint8 RGB tile."""
        native = self.runner.run([self.prepare(tile)])
        return [from_artifact(y, spec) for y, spec in
                zip(native, self.runner.outputs, strict=True)]

    def decode(self, outputs: Sequence[np.ndarray], threshold: float | None = None
               ) -> Detections:
        """Detections (tile pixels) from one tile's :meth:`raw` outputs, per the manifest
        (``threshold``: another minimum score than the manifest's)."""
        decode = self.manifest.decode
        if not isinstance(decode, CenterNetDecode):
            raise ModelError(f"{self.path}: not a detector bundle (decode {decode})")
        if threshold is not None:
            decode = decode.model_copy(update={"score_threshold": threshold})
        return decode_centernet(outputs, decode)[0]

    def detect(self, tiles: np.ndarray) -> list[Detections]:
        """Decoded detections (tile pixels) of each ``(N, H, W, 3)`` uint8 tile."""
        return [self.decode(self.raw(tile)) for tile in tiles]

    def saliency(self, image: np.ndarray) -> np.ndarray:
        """``(h, w)`` float32 saliency in ``[0, 1]`` of a uint8 RGB image of the input size."""
        decode = self.manifest.decode
        if not isinstance(decode, SaliencyDecode):
            raise ModelError(f"{self.path}: not a saliency bundle (decode {decode})")
        out = np.squeeze(self.raw(image)[0])
        return 1.0 / (1.0 + np.exp(-out)) if decode.is_logits else out


__all__ = ["BundleError", "BundleModel", "ModelError", "input_table"]
