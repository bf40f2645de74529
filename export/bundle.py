"""Bundles: a directory of model artifacts, golden ``.npy`` files, ``manifest.json`` (sha256 of
every other file) and ``manifest.json.sig`` (detached ed25519 signature of the manifest bytes).

Writes are atomic: the bundle is built in a hidden temp directory next to the destination and
renamed into place only when complete and signed; any failure removes the temp directory, so
there is never a half-written bundle nor debris. Ctrl-C, SIGTERM and SIGHUP count as failures
(``export.interrupt``); what a SIGKILL'ed export left is removed by the next one to that
destination. Verification is ``firmware_py.verify`` (the device's own check), re-exported
here. ``export_bundle`` is the whole pipeline, as numbered steps: export each (format,
precision; an int8 .tflite must pass ``export.int8_spec``'s gate, XNNPACK off, on the
validation inputs) -> save -> load the saved file in its real runtime ->
parity vs eager -> agreement on decoded outputs (the self-test's tolerances) -> (optional)
accuracy on validation data -> golden files -> manifest -> sign -> rename. The gate's
agreement of the builtin kernels with XNNPACK goes into the manifest ``metrics`` as
``tflite_int8/builtin_vs_xnnpack_min_cosine``.

Accuracy, when an ``evaluator`` is given (e.g. ``export.metrics.DetectionEvaluator``), is
measured for eager PyTorch and for every artifact in its runtime and written into the manifest
``metrics`` as ``<source>/<metric>`` (sources ``eager``, ``pte_fp32``, ``tflite_int8``, ...),
plus ``<fmt>_int8/<metric>_drop`` = fp32 minus int8 of the same format (fractions, as the
metrics). ``max_int8_drop`` turns chosen drops into a gate.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tarfile
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from tqdm import tqdm

from firmware_py.atomic import atomic_path
from firmware_py.manifest import (
    Artifact,
    CenterNetDecode,
    Exporters,
    Golden,
    InputSpec,
    Manifest,
    SaliencyDecode,
)
from firmware_py.verify import (
    MANIFEST,
    SIGNATURE,
    BundleError,
    key_id,
    sha256_file,
    verify_bundle,
)

from . import ExportError
from .interrupt import stale_siblings, temp_prefix, terminate_raises

if TYPE_CHECKING:
    import numpy as np
    import torch
    from torch import nn

# (forward: float32 NCHW batch -> outputs, label) -> named metrics; see export.metrics
Evaluator = Callable[[Callable[["np.ndarray"], Sequence["np.ndarray"]], str], Mapping[str, float]]

__all__ = ["BundleError", "export_bundle", "pack_bundle", "resign_bundle", "sign_and_write",
           "unpack_bundle", "verify_bundle", "write_bundle"]

log = logging.getLogger(__name__)

FORMATS = ("pte", "tflite")
PRECISIONS = ("fp32", "int8")
_RUNTIME = {"pte": "executorch", "tflite": "litert"}


def _remove_stale(dest: Path) -> None:
    for path in stale_siblings(dest):
        log.info("removing %s, left by an export that was killed", path)
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


@contextlib.contextmanager
def staging(dest: str | Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temp directory beside ``dest``; on success rename it to ``dest``, on failure
    (an interrupt included) delete it."""
    dest = Path(dest)
    if dest.exists() and not overwrite:
        raise ExportError(f"{dest} exists; pass overwrite to replace it")
    dest.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(dest)
    with terminate_raises():
        prefix = temp_prefix(dest.name)
        tmp = Path(tempfile.mkdtemp(prefix=prefix, suffix=".tmp", dir=dest.parent))
        try:
            yield tmp
            if dest.exists():
                old = Path(tempfile.mkdtemp(prefix=prefix, suffix=".old", dir=dest.parent))
                os.replace(dest, old / dest.name)
                os.replace(tmp, dest)
                shutil.rmtree(old)
            else:
                os.replace(tmp, dest)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def sign_and_write(root: Path, manifest: Manifest, private_key: Ed25519PrivateKey) -> Manifest:
    """Hash every file under ``root`` into the manifest, name the signer, write
    ``manifest.json`` and its signature; return the written manifest."""
    files = {p.relative_to(root).as_posix(): sha256_file(p)
             for p in sorted(root.rglob("*")) if p.is_file()}
    files.pop(MANIFEST, None)
    files.pop(SIGNATURE, None)
    manifest = Manifest.model_validate({**manifest.model_dump(), "files": files,
                                        "signer": key_id(private_key.public_key())})
    data = manifest.to_json_bytes()
    (root / MANIFEST).write_bytes(data)
    (root / SIGNATURE).write_bytes(private_key.sign(data))
    return manifest


def write_bundle(dest: str | Path, files: Mapping[str, bytes], manifest: Manifest,
                 private_key: Ed25519PrivateKey, overwrite: bool = False) -> Manifest:
    """Atomically write ``files`` (bundle-relative path -> bytes) and the signed manifest."""
    with staging(dest, overwrite) as root:
        for rel, data in files.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(data)
        return sign_and_write(root, manifest, private_key)


def resign_bundle(bundle: str | Path, private_key: Ed25519PrivateKey,
                  trusted: Sequence[Ed25519PublicKey], out: str | Path | None = None) -> Manifest:
    """Sign a bundle again with ``private_key``: a key rotation, or a fleet owner taking the
    zoo's bundles under its own key. The present signature must verify against ``trusted`` and
    every file must match its hash first, so nothing altered since signing is signed anew.
    Written atomically to ``out`` (default: in place); only the signer and signature change."""
    root = Path(bundle)
    manifest = verify_bundle(root, trusted)
    files = {rel: (root / rel).read_bytes() for rel in manifest.files}
    return write_bundle(out or root, files, manifest, private_key, overwrite=out is None)


def pack_bundle(bundle: str | Path, tar_path: str | Path | None = None) -> Path:
    """Pack a bundle directory into an uncompressed ``.tar`` (atomically); return its path."""
    bundle = Path(bundle)
    tar_path = Path(tar_path) if tar_path else bundle.with_name(bundle.name + ".tar")
    _remove_stale(tar_path)
    with (terminate_raises(), atomic_path(tar_path, owner=os.getpid()) as tmp,
          tarfile.open(tmp, "w") as tar):
        for path in sorted(bundle.rglob("*")):
            if path.is_file():
                tar.add(path, arcname=f"{bundle.name}/{path.relative_to(bundle).as_posix()}")
    return tar_path


def unpack_bundle(tar_path: str | Path, dest_parent: str | Path) -> Path:
    """Extract a packed bundle (safe ``data`` filter: no absolute paths, links out, devices)."""
    with tarfile.open(tar_path) as tar:
        tops = {Path(m.name).parts[0] for m in tar.getmembers()}
        if len(tops) != 1:
            raise BundleError(f"{tar_path}: expected one bundle directory, found {sorted(tops)}")
        tar.extractall(dest_parent, filter="data")
    return Path(dest_parent) / tops.pop()


def _versions() -> Exporters:
    def get(name: str) -> str | None:
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    return Exporters(torch=get("torch") or "unknown", executorch=get("executorch"),
                     litert_torch=get("litert-torch"))


def _output_names(decode: CenterNetDecode | SaliencyDecode | None, count: int) -> tuple[str, ...]:
    if isinstance(decode, CenterNetDecode):
        names: tuple[str, ...] = decode.outputs
    elif isinstance(decode, SaliencyDecode):
        names = (decode.output,)
    else:
        names = tuple(f"output_{i}" for i in range(count))
    if len(names) != count:
        raise ExportError(f"decode names {len(names)} outputs {names}, the model returns {count}")
    return names


def _export_artifact(model: nn.Module, example: torch.Tensor, fmt: str, precision: str,
                     calibration: Sequence[torch.Tensor] | None,
                     validation: Sequence[torch.Tensor], allow_non_delegated: bool
                     ) -> tuple[bytes, tuple[str, ...], float, dict[str, float]]:
    """Bytes, ops left outside the delegate, seconds, and metrics of the export itself (the
    int8 .tflite gate's builtin-kernel vs XNNPACK cosine on ``validation``)."""
    if fmt == "pte":
        from .executorch import export_pte

        pte = export_pte(model, (example,), precision=precision, calibration=calibration,
                         allow_non_delegated=allow_non_delegated)
        return pte.buffer, tuple(pte.non_delegated_ops), pte.seconds, {}
    if fmt == "tflite":
        from .tflite import export_tflite

        tfl = export_tflite(model, (example,), precision=precision, calibration=calibration,
                            gate_inputs=validation)
        gate = ({f"tflite_{precision}/builtin_vs_xnnpack_min_cosine":
                 round(min(tfl.builtin_cosines), 6)} if tfl.builtin_cosines else {})
        return tfl.buffer, (), tfl.seconds, gate
    raise ExportError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")


def export_bundle(model: nn.Module, dest: str | Path, *, name: str,
                  example_input: torch.Tensor, validation: Sequence[torch.Tensor],
                  private_key: Ed25519PrivateKey,
                  calibration: Sequence[torch.Tensor] | None = None,
                  formats: Sequence[str] = FORMATS, precisions: Sequence[str] = PRECISIONS,
                  input_spec: InputSpec | None = None,
                  decode: CenterNetDecode | SaliencyDecode | None = None,
                  labels: Sequence[str] = (), boards: Sequence[str] = (),
                  source_sha256: str | None = None,
                  metrics: Mapping[str, float | int | str] | None = None,
                  min_cosine: Mapping[str, float] | None = None,
                  evaluator: Evaluator | None = None,
                  max_int8_drop: Mapping[str, float] | None = None,
                  choose_threshold: bool = False,
                  allow_non_delegated: bool = False, allow_parity_failure: bool = False,
                  overwrite: bool = False) -> Manifest:
    """Export ``model`` to every (format, precision), check parity in the real runtimes, and
    write a signed bundle at ``dest``. Inputs are float32 NCHW batches, already normalised;
    ``example_input`` fixes the static shape (batch 1). ``evaluator`` adds accuracy metrics
    (see the module docstring); ``max_int8_drop`` (metric -> largest allowed fp32 - int8,
    e.g. ``{"mAP50": 0.01}``) fails the export beyond it. ``choose_threshold`` (with an
    evaluator and a CenterNet decode) deploys the score threshold of eager's operating point
    on the evaluator's data, and records every artifact's precision and recall at it. Returns
    the written manifest."""
    import numpy as np

    from firmware_py.runtimes import load_runner

    from .parity import (
        FP32_MIN_COSINE,
        INT8_MIN_COSINE,
        ParityError,
        agreement,
        compare,
        eager_outputs,
        golden_index,
    )

    thresholds = {"fp32": FP32_MIN_COSINE, "int8": INT8_MIN_COSINE, **(min_cosine or {})}
    if "int8" in precisions and not calibration:
        raise ExportError("int8 export needs calibration batches (real images)")
    if not validation:
        raise ExportError("parity needs at least one validation input")
    model = model.eval()
    accuracy: dict[str, Mapping[str, float]] = {}
    if evaluator is not None:
        from .metrics import eager_forward

        accuracy["eager"] = evaluator(eager_forward(model), "eager")
        if choose_threshold and isinstance(decode, CenterNetDecode):
            decode = _deploy_threshold(decode, accuracy["eager"], evaluator)
    references = [eager_outputs(model, x) for x in validation]
    names = _output_names(decode, len(references[0]))
    golden = golden_index(references, decode)
    input_spec = input_spec or InputSpec(shape=tuple(example_input.shape))
    artifacts = []
    gate_metrics: dict[str, float] = {}
    with staging(dest, overwrite) as root:
        jobs = [(fmt, precision) for fmt in formats for precision in precisions]
        bar = tqdm(jobs, desc="artifacts", unit="artifact")
        for fmt, precision in bar:
            bar.set_postfix_str(f"{fmt} {precision}")
            # 1. export to bytes
            data, leftover, seconds, gate = _export_artifact(
                model, example_input, fmt, precision, calibration, validation,
                allow_non_delegated)
            gate_metrics.update(gate)
            # 2. save, then load the saved file in its real runtime
            path = root / f"{name}_{precision}.{fmt}"
            path.write_bytes(data)
            runner = load_runner(path, fmt)
            # 3. parity against eager PyTorch
            parity = compare(model, runner, validation, names, thresholds[precision])
            log.info("%s: %s", path.name, ", ".join(
                f"{o.name} cos={o.cosine:.5f} max|d|={o.max_abs_error:.4g}"
                for o in parity.outputs))
            if not parity.passed and not allow_parity_failure:
                raise ParityError(f"{path.name}: parity below cosine {parity.min_cosine}: "
                                  + ", ".join(f"{o.name}={o.cosine:.5f}"
                                              for o in parity.outputs))
            # 4. agreement on decoded outputs: the self-test's tolerances
            agree = agreement(references, runner, validation, names, decode, golden)
            log.info("%s: agreement over %d tiles: %s", path.name, agree.tiles, ", ".join(
                f"{k} {v:.4g}" for k, v in agree.tolerance.items()))
            # 5. accuracy of the artifact in its runtime (optional)
            if evaluator is not None:
                accuracy[f"{fmt}_{precision}"] = evaluator(runner, path.name)
            artifacts.append(Artifact(
                file=path.name, format=fmt, precision=precision, runtime=_RUNTIME[fmt],
                sha256=sha256_file(path), size=len(data),
                signature=getattr(runner, "signature", None),
                inputs=tuple(runner.inputs), outputs=tuple(runner.outputs),
                delegated_ops_only=not leftover, non_delegated_ops=leftover,
                parity=parity, agreement=agree, export_seconds=round(seconds, 3)))
        metrics = {**(metrics or {}), **gate_metrics,
                   **_accuracy_metrics(accuracy, formats, max_int8_drop)}
        # 6. golden input (the richest validation input) and its eager outputs
        (root / "golden").mkdir()
        np.save(root / "golden" / "input.npy", validation[golden].numpy().astype(np.float32))
        for i, out in enumerate(references[golden]):
            np.save(root / "golden" / f"output_{i}.npy", out)
        golden_files = Golden(input="golden/input.npy", outputs=tuple(
            f"golden/output_{i}.npy" for i in range(len(names))))
        # 7. manifest, hashes, signature; the rename happens when the context exits
        manifest = Manifest(
            model=name, created=datetime.now(timezone.utc), exporters=_versions(),
            source_sha256=source_sha256, input=input_spec, output_names=names, decode=decode,
            labels=tuple(labels), boards=tuple(boards), tile_size=tuple(example_input.shape[-2:]),
            artifacts=tuple(artifacts), golden=golden_files, metrics=metrics)
        manifest = sign_and_write(root, manifest, private_key)
    return manifest


def _deploy_threshold(decode: CenterNetDecode, eager: Mapping[str, float],
                      evaluator: Evaluator) -> CenterNetDecode:
    """``decode`` at eager's operating point; the evaluator then reports every artifact's
    precision and recall at that threshold."""
    threshold = eager.get("score_threshold")
    if threshold is None or not eager.get("precision"):
        log.warning("no operating point on the validation data (eager matched no object, or "
                    "no threshold reaches the asked precision): keeping score threshold %.3g",
                    decode.score_threshold)
        evaluator.deployed_threshold = decode.score_threshold
        return decode
    log.info("deployed score threshold %.3g: eager precision %.3f, recall %.3f", threshold,
             eager["precision"], eager["recall"])
    evaluator.deployed_threshold = threshold
    return decode.model_copy(update={"score_threshold": threshold})


def _accuracy_metrics(accuracy: Mapping[str, Mapping[str, float]], formats: Sequence[str],
                      max_int8_drop: Mapping[str, float] | None) -> dict[str, float]:
    """Flatten per-source metrics to ``<source>/<metric>``; add the int8 drop per format and
    check it against ``max_int8_drop``."""
    flat = {f"{source}/{key}": value for source, values in accuracy.items()
            for key, value in values.items()}
    failures = []
    for fmt in formats:
        fp32, int8 = accuracy.get(f"{fmt}_fp32"), accuracy.get(f"{fmt}_int8")
        if fp32 is None or int8 is None:
            continue
        for key in sorted(fp32.keys() & int8.keys() - {"score_threshold"}):
            drop = round(fp32[key] - int8[key], 5)
            flat[f"{fmt}_int8/{key}_drop"] = drop
            log.info("%s int8 vs fp32: %s drop %.2f points", fmt, key, 100 * drop)
            limit = (max_int8_drop or {}).get(key)
            if limit is not None and drop > limit:
                failures.append(f"{fmt} {key} drop {100 * drop:.2f} > {100 * limit:.2f} points")
    if failures:
        raise ExportError("int8 accuracy below target: " + "; ".join(failures))
    return flat
