"""Host subcommands ``specks keys``, ``specks bundle`` and ``specks export`` (registered through
the ``specks.commands`` entry point ``export = "export.cli:register"``). Registration imports
nothing heavy; torch, ExecuTorch and litert-torch load when ``export`` runs.

Checkpoint format (until training defines one): a ``torch.save``'d dict ``{"model": name,
"config": {overrides for create_model}, "state_dict": ...}``, loaded with ``weights_only=True``.
Calibration and validation data: a YOLO ``data.yaml`` (``--calib`` reads its train split,
``--val`` its val split) or a folder of images. A detector runs on tiles, so its inputs are
tiles of the model input size cut by the device grid (``export.calibration``); other models
get each image resized (shorter side) and centre-cropped to the input. Pixels are RGB scaled
to [0, 1], then normalised with --mean/--std.

With ``--val DATA.yaml`` a detector is also evaluated on the full validation images through
the device path (``export.metrics``): eager PyTorch and every artifact, COCO mAP50 / mAP50-95 /
AP_small written into the manifest ``metrics`` with the int8-vs-fp32 drop per format. The
decode spec written to the manifest carries the deployed ``--score-threshold``; evaluation
uses its own low threshold.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from collections.abc import Sequence
from pathlib import Path

from firmware_py.cli import one_line_errors
from models.sizes import parse_wxh

log = logging.getLogger("specks.export")

def _csv(choices: Sequence[str]):
    def parse(text: str) -> tuple[str, ...]:
        items = tuple(t.strip() for t in text.split(",") if t.strip())
        bad = [t for t in items if t not in choices]
        if bad or not items:
            raise argparse.ArgumentTypeError(f"choose from {','.join(choices)}; got {text!r}")
        return items

    return parse


def _floats3(text: str) -> tuple[float, float, float]:
    values = tuple(float(v) for v in text.split(","))
    if len(values) != 3:
        raise argparse.ArgumentTypeError(f"expected three comma-separated numbers, got {text!r}")
    return values


def load_image(path: Path, height: int, width: int, mean: Sequence[float],
               std: Sequence[float]):
    """One image as a normalised float32 (1, 3, H, W) tensor: resize shorter side, centre crop."""
    import cv2
    import numpy as np
    import torch

    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"{path}: not a readable image")
    h, w = bgr.shape[:2]
    scale = max(height / h, width / w)
    resized = cv2.resize(bgr, (max(width, round(w * scale)), max(height, round(h * scale))),
                         interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    top = (resized.shape[0] - height) // 2
    left = (resized.shape[1] - width) // 2
    crop = resized[top:top + height, left:left + width, ::-1]  # (H, W, 3) RGB
    x = (crop.astype(np.float32) / 255.0 - np.float32(mean)) / np.float32(std)
    return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))[None]  # (1, 3, H, W)


DEFAULT_SCORE_THRESHOLD = 0.3  # without validation data to choose one on


def _threshold(text: str) -> float | str:
    if text == "auto":
        return text
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 'auto' or a number, got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"a score threshold is in [0, 1], got {text}")
    return value


def _decode_for(task: str, outputs, height: int, score_threshold: float):
    from firmware_py.manifest import CenterNetDecode, SaliencyDecode

    if task == "detection" and len(outputs) == 3:
        heatmap = outputs[0]
        return CenterNetDecode(num_classes=heatmap.shape[1], stride=height // heatmap.shape[2],
                               score_threshold=score_threshold)
    if task == "saliency" and len(outputs) == 1:
        return SaliencyDecode()
    return None


def _inputs(source: str, split: str, count: int, input_spec, tiled: bool, seed: int,
            desc: str) -> list:
    """``count`` model inputs from a data.yaml split or a folder: device tiles for a tiled
    detector, resized centre crops otherwise."""
    from .calibration import image_paths, image_tiles

    paths = image_paths(source, split)
    if tiled:
        return image_tiles(paths, count, input_spec, seed=seed, desc=desc)
    _, _, height, width = input_spec.shape
    return [load_image(p, height, width, input_spec.mean, input_spec.std)
            for p in paths[:count]]


def _export(args: argparse.Namespace) -> int:
    import torch

    from firmware_py.manifest import InputSpec
    from models.checkpoint import file_sha256, model_from_checkpoint
    from models.registry import model_record

    from .bundle import export_bundle
    from .calibration import is_data_yaml
    from .keys import load_private_key

    model, ckpt = model_from_checkpoint(args.ckpt)
    name, digest = ckpt["model"], file_sha256(args.ckpt)
    record = model_record(name)
    channels, height, width = record.input_size
    if args.size:
        width, height = args.size
    input_spec = InputSpec(shape=(1, channels, height, width), mean=args.mean, std=args.std)
    tiled = record.task == "detection"
    calibration = _inputs(args.calib, "train", args.num_calib, input_spec, tiled, 0,
                          "calibration tiles") if "int8" in args.precision else []
    validation = _inputs(args.val or args.calib, args.val_split if args.val else "train",
                         args.num_val, input_spec, tiled, 1, "parity tiles")
    key = load_private_key(args.key)
    example = validation[0]
    with torch.no_grad():
        outputs = model(example)
    outputs = outputs if isinstance(outputs, (tuple, list)) else (outputs,)
    auto = args.score_threshold == "auto"
    decode = _decode_for(record.task, outputs, height,
                         DEFAULT_SCORE_THRESHOLD if auto else args.score_threshold)
    labels = Path(args.labels).read_text().split() if args.labels else ()
    evaluator = None
    if args.val and is_data_yaml(args.val) and tiled and decode is not None:
        evaluator, labels = _evaluator(args, decode, input_spec, labels)
    max_drop = {"mAP50": args.max_int8_drop / 100} if args.max_int8_drop is not None else None
    manifest = export_bundle(
        model, args.out, name=name, example_input=example, validation=validation,
        private_key=key, calibration=calibration, formats=args.formats,
        precisions=args.precision, source_sha256=digest, labels=labels, boards=args.board,
        input_spec=input_spec, decode=decode, evaluator=evaluator, max_int8_drop=max_drop,
        choose_threshold=auto and evaluator is not None,
        allow_non_delegated=args.allow_non_delegated,
        allow_parity_failure=args.allow_parity_failure, overwrite=args.overwrite)
    for a in manifest.artifacts:
        log.info("%s  %d bytes  min cosine %.5f", a.file, a.size,
                 min(o.cosine for o in a.parity.outputs))
    for key_, value in manifest.metrics.items():
        log.info("%s = %s", key_, value)
    if args.tar:
        from .bundle import pack_bundle

        log.info("packed %s", pack_bundle(args.out))
    log.info("bundle written to %s", args.out)
    return 0


def _evaluator(args: argparse.Namespace, decode, input_spec, labels: Sequence[str]):
    """The device-path evaluator on ``--val``'s split; labels default to the data's names."""
    from models.data.yolo import read_yolo

    from .metrics import DetectionEvaluator

    data = read_yolo(args.val, args.val_split)
    records = data.records[:args.num_eval] if args.num_eval else data.records
    if labels and list(labels) != list(data.names):
        raise ValueError(f"--labels {list(labels)} differ from {args.val} names {data.names}")
    evaluator = DetectionEvaluator(records, data.names, decode, input_spec,
                                   min_precision=args.min_precision)
    return evaluator, tuple(data.names)


def _keys_generate(args: argparse.Namespace) -> int:
    from .keys import generate_keypair

    private, public = generate_keypair(args.out, args.name)
    log.info("private key %s (keep secret), public key %s", private, public)
    return 0


def _bundle_verify(args: argparse.Namespace) -> int:
    from firmware_py.verify import load_public_key, verify_bundle

    from .bundle import unpack_bundle

    keys = [load_public_key(k) for k in args.key]
    with tempfile.TemporaryDirectory() as tmp:
        path = unpack_bundle(args.bundle, tmp) if args.bundle.endswith(".tar") else args.bundle
        manifest = verify_bundle(path, keys)
    log.info("OK: %s (%s), %d artifacts, signed by %s", args.bundle, manifest.model,
             len(manifest.artifacts), manifest.signer)
    return 0


def _bundle_sign(args: argparse.Namespace) -> int:
    from firmware_py.verify import load_public_key

    from .bundle import resign_bundle
    from .keys import load_private_key

    manifest = resign_bundle(args.bundle, load_private_key(args.key),
                             [load_public_key(k) for k in args.trusted_key], args.out)
    log.info("signed %s (%s) again, signer now %s", args.out or args.bundle, manifest.model,
             manifest.signer)
    return 0


def _expected_errors() -> tuple[type[BaseException], ...]:
    from firmware_py.verify import BundleError
    from models.data.boxes import DatasetError

    from . import ExportError

    return (BundleError, DatasetError, ExportError, FileNotFoundError, FileExistsError,
            KeyError, ValueError)


def _guarded(fn):
    """Run a handler; report expected failures as one clear line and exit status 2."""
    guarded = one_line_errors(fn, _expected_errors)

    def run(args: argparse.Namespace) -> int:
        from .interrupt import Terminated

        try:
            return guarded(args)
        except (KeyboardInterrupt, Terminated) as stop:
            code = stop.code if isinstance(stop, Terminated) else 130
            log.error("interrupted (exit %d); nothing was left half-written", code)
            return code

    return run


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``keys``, ``bundle`` and ``export`` to the ``specks`` command."""
    keys = subparsers.add_parser("keys", help="bundle signing keys")
    keys_sub = keys.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    gen = keys_sub.add_parser("generate", help="write an ed25519 key pair (PEM)")
    gen.add_argument("--out", required=True, help="directory for <name>.key and <name>.pub")
    gen.add_argument("--name", default="specks", help="file stem of the key pair")
    gen.set_defaults(func=_guarded(_keys_generate))

    bundle = subparsers.add_parser("bundle", help="bundle tools")
    bundle_sub = bundle.add_subparsers(dest="bundle_command", metavar="ACTION", required=True)
    verify = bundle_sub.add_parser("verify", help="check a bundle's signature and hashes")
    verify.add_argument("bundle", help="bundle directory or .tar")
    verify.add_argument("--key", action="append", required=True,
                        help="trusted public key (PEM); repeat for several")
    verify.set_defaults(func=_guarded(_bundle_verify))
    sign = bundle_sub.add_parser("sign", help="sign a verified bundle again with another key "
                                 "(key rotation, or a fleet's own key)")
    sign.add_argument("bundle", help="bundle directory")
    sign.add_argument("--key", required=True, help="private signing key (PEM) to sign with")
    sign.add_argument("--trusted-key", action="append", required=True,
                      help="public key (PEM) the present signature must verify against; "
                      "repeat for several")
    sign.add_argument("--out", default=None, help="write the re-signed bundle here "
                      "(default: replace it in place, atomically)")
    sign.set_defaults(func=_guarded(_bundle_sign))

    exp = subparsers.add_parser("export", help="export a checkpoint to a signed bundle")
    exp.add_argument("ckpt", help="checkpoint: torch.save'd {model, config, state_dict}")
    exp.add_argument("--formats", type=_csv(("pte", "tflite")), default=("pte", "tflite"))
    exp.add_argument("--precision", type=_csv(("fp32", "int8")), default=("fp32", "int8"))
    exp.add_argument("--calib", required=True, help="calibration images: a YOLO data.yaml "
                     "(its train split) or a folder")
    exp.add_argument("--num-calib", type=int, default=256, help="calibration inputs (detector: "
                     "tiles of the input size, spread over the images)")
    exp.add_argument("--val", default=None, help="validation: a YOLO data.yaml (parity tiles "
                     "and, for a detector, mAP of every artifact) or a folder (parity only); "
                     "default: calibration images")
    exp.add_argument("--val-split", default="val", help="split of a --val data.yaml")
    exp.add_argument("--num-val", type=int, default=64, help="validation inputs for parity "
                     "and the self-test tolerances (tiles for a detector)")
    exp.add_argument("--num-eval", type=int, default=0,
                     help="full images for the mAP evaluation (0 = the whole split)")
    exp.add_argument("--score-threshold", type=_threshold, default="auto",
                     help="deployed decode score threshold written to the manifest: a number, "
                     "or 'auto' (default): eager's best-F1 point on --val (0.3 without a "
                     "--val data.yaml)")
    exp.add_argument("--min-precision", type=float, default=None, help="with 'auto': the "
                     "lowest threshold whose validation precision reaches this, instead of "
                     "best F1")
    exp.add_argument("--max-int8-drop", type=float, default=None, help="fail if int8 mAP50 "
                     "is more than this many points below fp32 in a format (needs --val)")
    exp.add_argument("--size", type=parse_wxh, default=None, help="input WxH override "
                     "(e.g. 320x192: 320 wide, 192 high)")
    exp.add_argument("--mean", type=_floats3, default=(0.0, 0.0, 0.0), help="r,g,b mean")
    exp.add_argument("--std", type=_floats3, default=(1.0, 1.0, 1.0), help="r,g,b std")
    exp.add_argument("--labels", default=None, help="text file of class names")
    exp.add_argument("--board", action="append", default=[], help="board profile the bundle "
                     "is meant for (repeatable; none = any board)")
    exp.add_argument("--out", required=True, help="bundle directory to create")
    exp.add_argument("--key", required=True, help="private signing key (PEM)")
    exp.add_argument("--tar", action="store_true", help="also pack the bundle as .tar")
    exp.add_argument("--overwrite", action="store_true", help="replace an existing bundle")
    exp.add_argument("--allow-non-delegated", action="store_true",
                     help="keep ops outside XNNPACK instead of failing")
    exp.add_argument("--allow-parity-failure", action="store_true",
                     help="write the bundle even if an artifact misses its parity gate (the "
                     "manifest records the measured parity)")
    exp.set_defaults(func=_guarded(_export))
