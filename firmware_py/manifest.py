"""The bundle manifest: the one contract between the host exporter and the device.

Everything the device needs to feed a model and decode its outputs is here, so a new model
never needs new device code. Both halves use these pydantic models; this module imports only
pydantic, so the device reads it without torch.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

SCHEMA_VERSION = 2  # 2: per-artifact agreement tolerances for the self-test


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InputSpec(_Strict):
    """How to turn an RGB uint8 tile into the model's input tensor."""

    name: str = Field("image", description="input tensor name")
    shape: tuple[int, ...] = Field(..., description="full static shape, e.g. (1, 3, 320, 320)")
    layout: Literal["NCHW", "NHWC"] = Field("NCHW", description="memory layout of the input")
    dtype: Literal["float32", "int8", "uint8"] = Field("float32", description="input dtype")
    color: Literal["RGB", "BGR"] = Field("RGB", description="channel order the model expects")
    mean: tuple[float, float, float] = Field((0.0, 0.0, 0.0), description="per-channel mean "
                                             "subtracted after scaling pixels to [0, 1]")
    std: tuple[float, float, float] = Field((1.0, 1.0, 1.0), description="per-channel std "
                                            "divided after mean subtraction")
    quant_scale: float | None = Field(None, gt=0, description="int8 input: real = "
                                      "scale * (q - zero_point)")
    quant_zero_point: int | None = Field(None, description="int8 input zero point")


class CenterNetDecode(_Strict):
    """CenterNet-style decoding (Zhou et al., arXiv 1904.07850): class heatmap peaks at
    ``stride``, box size and sub-pixel offset regressed at each peak."""

    type: Literal["centernet"] = "centernet"
    stride: int = Field(4, ge=1, le=32, description="output stride of the heads")
    num_classes: int = Field(..., ge=1, le=1000, description="heatmap channels")
    outputs: tuple[str, str, str] = Field(("heatmap", "size", "offset"),
                                          description="output names in the model's order")
    heatmap_is_logits: bool = Field(False, description="True if the heatmap needs a sigmoid")
    size_unit: Literal["pixels", "stride"] = Field("pixels", description="unit of the size "
                                                   "head (pixels of the input tile or strides)")
    peak_kernel: int = Field(3, ge=1, le=9, description="max-pool window for peak extraction")
    score_threshold: float = Field(0.3, ge=0.0, le=1.0, description="minimum peak score")
    max_detections: int = Field(100, ge=1, le=10000, description="top-k peaks per tile")
    nms_iou: float = Field(0.5, ge=0.0, le=1.0, description="IoU for class-wise NMS; 1 = off")


class SaliencyDecode(_Strict):
    """A single-channel saliency map (the CSNet prior): output is a logit or probability."""

    type: Literal["saliency"] = "saliency"
    output: str = Field("saliency", description="output name")
    is_logits: bool = Field(True, description="True if the map needs a sigmoid")


Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
# a bundle-relative path: no absolute paths, no "..", no hidden files
RelPath = Annotated[str, StringConstraints(
    pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)*$")]


class TensorSpec(_Strict):
    """One tensor of an artifact exactly as its runtime presents it."""

    name: str = Field(..., description="runtime name (TFLite: signature key, e.g. 'output_0'; "
                      "ExecuTorch: positional 'output_<i>')")
    shape: tuple[int, ...] = Field(..., description="static shape in the artifact's layout")
    layout: Literal["NCHW", "NHWC", "other"] = Field(..., description="memory layout")
    dtype: Literal["float32", "int8", "uint8", "int32"] = Field(..., description="element type")
    quant_scale: float | None = Field(None, gt=0, description="real = scale * (q - zero_point)")
    quant_zero_point: int | None = Field(None, description="zero point of an int8 tensor")


class OutputParity(_Strict):
    """Agreement of one artifact output with the eager PyTorch output."""

    name: str = Field(..., description="logical output name")
    cosine: float = Field(..., ge=-1.0, le=1.0, description="cosine similarity, all samples")
    max_abs_error: float = Field(..., ge=0.0, description="largest absolute difference")


class Parity(_Strict):
    """Eager PyTorch vs the artifact in its real runtime, on validation inputs."""

    num_samples: int = Field(..., ge=1, le=100_000, description="validation inputs compared")
    min_cosine: float = Field(..., ge=-1.0, le=1.0, description="threshold every output must meet")
    outputs: tuple[OutputParity, ...] = Field(..., description="per output, in model order")
    passed: bool = Field(..., description="every output's cosine >= min_cosine")


class Agreement(_Strict):
    """How closely this artifact agrees with eager PyTorch on what the device acts on
    (``firmware_py.agreement``), measured by the exporter on its parity tiles; the device
    self-test holds the golden tile to ``tolerance``."""

    tiles: int = Field(..., ge=1, le=100_000, description="parity tiles measured")
    tolerance: dict[str, float] = Field(..., description="metric -> bound the self-test "
                                        "holds (minimum for box_iou and *_cosine, else maximum)")
    quantiles: dict[str, tuple[float, ...]] = Field(..., description="metric -> its values "
                                                    "over the tiles at agreement.QUANTILES")
    golden: dict[str, float] = Field(..., description="metric -> value on the golden tile here")


class Artifact(_Strict):
    """One model file of the bundle, with the I/O contract of its runtime."""

    file: RelPath = Field(..., description="path inside the bundle")
    format: Literal["pte", "tflite"] = Field(..., description="ExecuTorch program or TFLite")
    precision: Literal["fp32", "int8"] = Field(..., description="weights/activations precision")
    runtime: Literal["executorch", "litert"] = Field(..., description="runtime that loads it")
    sha256: Sha256 = Field(..., description="sha256 of the file")
    size: int = Field(..., ge=1, description="bytes")
    signature: str | None = Field(None, description="TFLite signature holding the I/O names")
    inputs: tuple[TensorSpec, ...] = Field(..., min_length=1, description="artifact inputs")
    outputs: tuple[TensorSpec, ...] = Field(..., min_length=1, description="artifact outputs, "
                                            "in the order of Manifest.output_names")
    delegated_ops_only: bool = Field(True, description="pte: every op runs in the XNNPACK "
                                     "delegate")
    non_delegated_ops: tuple[str, ...] = Field((), description="pte: ops left outside XNNPACK")
    parity: Parity | None = Field(None, description="eager vs this artifact")
    agreement: Agreement | None = Field(None, description="eager vs this artifact on decoded "
                                        "outputs, with the self-test's tolerances")
    export_seconds: float = Field(0.0, ge=0.0, description="wall time of the export")


class Golden(_Strict):
    """A recorded input and the eager outputs, for a device self-test of the runtime. Both are
    float32 ``.npy`` files in the PyTorch layout (NCHW), already normalised; convert them with
    the artifact's ``inputs``/``outputs`` specs. The exporter picks, among its parity tiles,
    the one where eager finds the most detections (a detector) or the most salient one."""

    input: RelPath = Field(..., description=".npy of the normalised input, NCHW float32")
    outputs: tuple[RelPath, ...] = Field(..., min_length=1, description=".npy per output")


class Exporters(_Strict):
    """Versions of the tools that built the bundle."""

    torch: str = Field(..., description="torch version")
    executorch: str | None = Field(None, description="executorch version")
    litert_torch: str | None = Field(None, description="litert-torch version")


Decode = Annotated[CenterNetDecode | SaliencyDecode, Field(discriminator="type")]


class Manifest(_Strict):
    """``manifest.json`` of a bundle. ``files`` hashes every other file of the bundle; the
    detached ed25519 signature ``manifest.json.sig`` covers the exact bytes of this file."""

    schema_version: Literal[1, 2] = Field(SCHEMA_VERSION, description="manifest schema "
                                          "version (1: no agreement tolerances)")
    model: str = Field(..., min_length=1, description="registered model name")
    created: datetime = Field(..., description="UTC time the bundle was built")
    exporters: Exporters = Field(..., description="exporter tool versions")
    source_sha256: Sha256 | None = Field(None, description="sha256 of the source checkpoint")
    input: InputSpec = Field(..., description="logical input: PyTorch shape (NCHW), colour "
                             "and normalisation; per-artifact layout/dtype in artifacts")
    output_names: tuple[str, ...] = Field(..., min_length=1, description="logical output "
                                          "names in the model's order")
    decode: Decode | None = Field(None, description="how to decode outputs; None = raw")
    labels: tuple[str, ...] = Field((), description="class names, heatmap channel order")
    tile_size: tuple[int, int] | None = Field(None, description="(H, W) of one input tile")
    boards: tuple[str, ...] = Field((), description="board profiles the bundle is built for; "
                                    "empty = any board")
    artifacts: tuple[Artifact, ...] = Field(..., min_length=1, description="model files")
    golden: Golden | None = Field(None, description="recorded input/outputs for a self-test")
    metrics: dict[str, float | int | str] = Field(default_factory=dict,
                                                  description="free-form evaluation metrics")
    signer: Sha256 | None = Field(None, description="key id (sha256 of the raw public key) "
                                  "that signed this manifest")
    files: dict[RelPath, Sha256] = Field(default_factory=dict, description="sha256 of every "
                                         "bundle file except manifest.json and its signature")

    def to_json_bytes(self) -> bytes:
        """The exact bytes written to ``manifest.json`` (and signed)."""
        return self.model_dump_json(indent=2).encode() + b"\n"


def manifest_problem(error: ValidationError) -> str:
    """One line for a manifest that does not validate: the first bad field (its JSON path)
    and how many more there are."""
    item = error.errors()[0]
    field = ".".join(str(p) for p in item["loc"]) or "(top)"
    more = error.error_count() - 1
    text = f"field {field!r}: {item['msg']}" + (f" (and {more} more)" if more else "")
    return text if text.isprintable() else repr(text)
