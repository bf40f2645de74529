import logging

import cv2
import numpy as np
import pytest
import torch

from models import registry
from tests.export.conftest import run_cli


@pytest.fixture
def tiny_registered(monkeypatch, tiny_net_cls):
    """Register the tiny net for the duration of one test (reverted afterwards)."""
    record = registry.ModelRecord("tiny-centernet", lambda **kw: tiny_net_cls(**kw),
                                  (3, 32, 32), "detection")
    registry.list_models()  # load the real nets first, so the patch is not clobbered
    monkeypatch.setitem(registry._REGISTRY, "tiny-centernet", record)


@pytest.fixture
def keys(tmp_path):
    assert run_cli("keys", "generate", "--out", str(tmp_path / "keys")) == 0
    return tmp_path / "keys" / "specks.key", tmp_path / "keys" / "specks.pub"


def _ckpt(path, state_dict=None, name="tiny-centernet"):
    torch.save({"model": name, "config": {"num_classes": 2}, "state_dict": state_dict or {}},
               path)
    return path


def _images(folder, n=6):
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(n):
        img = cv2.GaussianBlur(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8), (9, 9), 3)
        cv2.imwrite(str(folder / f"{i}.png"), img)
    return folder


def test_missing_checkpoint(tmp_path, keys, caplog) -> None:
    with caplog.at_level(logging.ERROR):
        assert run_cli("export", str(tmp_path / "nope.pt"), "--calib", str(tmp_path),
                    "--out", str(tmp_path / "b"), "--key", str(keys[0])) == 2
    assert "checkpoint" in caplog.text and "does not exist" in caplog.text


def test_unknown_arch(tmp_path, keys, caplog) -> None:
    ckpt = _ckpt(tmp_path / "c.pt", name="no-such-net")
    with caplog.at_level(logging.ERROR):
        assert run_cli("export", str(ckpt), "--calib", str(tmp_path), "--out",
                    str(tmp_path / "b"), "--key", str(keys[0])) == 2
    assert "unknown model 'no-such-net'" in caplog.text


def test_calibration_folder_without_images(tmp_path, keys, tiny_registered, tiny_net_cls,
                                           caplog) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no images here")
    with caplog.at_level(logging.ERROR):
        assert run_cli("export", str(_ckpt(tmp_path / "c.pt", tiny_net_cls(2).state_dict())),
                    "--calib", str(empty), "--out",
                    str(tmp_path / "b"), "--key", str(keys[0])) == 2
    assert "no images" in caplog.text
    assert not (tmp_path / "b").exists()


def test_export_then_verify(tmp_path, keys, tiny_registered, tiny_net_cls, caplog) -> None:
    calib = _images(tmp_path / "calib")
    out = tmp_path / "bundle"
    ckpt = _ckpt(tmp_path / "c.pt", tiny_net_cls(num_classes=2).state_dict())
    assert run_cli("export", str(ckpt), "--formats", "tflite",
                "--precision", "int8", "--calib", str(calib), "--num-calib", "4",
                "--out", str(out), "--key", str(keys[0]), "--tar") == 0
    assert run_cli("bundle", "verify", str(out), "--key", str(keys[1])) == 0
    assert run_cli("bundle", "verify", str(out) + ".tar", "--key", str(keys[1])) == 0
    from firmware_py.verify import load_public_key, verify_bundle

    manifest = verify_bundle(out, [load_public_key(keys[1])])
    assert manifest.decode.num_classes == 2 and manifest.decode.stride == 4
    assert manifest.source_sha256 is not None
    (out / "golden" / "input.npy").write_bytes(b"tampered")
    with caplog.at_level(logging.ERROR):
        assert run_cli("bundle", "verify", str(out), "--key", str(keys[1])) == 2
    assert "golden/input.npy: sha256 mismatch" in caplog.text


@pytest.mark.slow  # ~12 s: two exports and three evaluations
def test_export_with_val_data_writes_signed_metrics(tmp_path, keys, tiny_registered,
                                                    tiny_net_cls, synth_yolo) -> None:
    """--calib/--val as a data.yaml: calibration from train tiles, every artifact's device-path
    metrics (and eager's) plus the int8 drop in a verifiable manifest; the manifest decode
    keeps the deployed threshold."""
    from firmware_py.verify import load_public_key, verify_bundle

    out = tmp_path / "bundle"
    ckpt = _ckpt(tmp_path / "c.pt", tiny_net_cls(num_classes=2).state_dict())
    assert run_cli("export", str(ckpt), "--formats", "pte", "--calib", str(synth_yolo),
                "--num-calib", "8", "--val", str(synth_yolo), "--num-val", "2",
                "--score-threshold", "0.4", "--out", str(out), "--key", str(keys[0])) == 0
    manifest = verify_bundle(out, [load_public_key(keys[1])])
    assert manifest.decode.score_threshold == 0.4
    assert manifest.labels == ("drone", "bird")
    for source in ("eager", "pte_fp32", "pte_int8"):
        assert 0.0 <= manifest.metrics[f"{source}/mAP50"] <= 1.0
        assert f"{source}/mAP50-95" in manifest.metrics
    drop = manifest.metrics["pte_int8/mAP50_drop"]
    assert drop == pytest.approx(manifest.metrics["pte_fp32/mAP50"]
                                 - manifest.metrics["pte_int8/mAP50"], abs=1e-4)
    assert manifest.metrics["pte_fp32/mAP50"] == pytest.approx(
        manifest.metrics["eager/mAP50"], abs=0.01)


def test_int8_drop_gate(tmp_path, keys, tiny_registered, tiny_net_cls, synth_yolo,
                        caplog) -> None:
    """A --max-int8-drop of -100 points can never be met: the export fails and leaves nothing."""
    out = tmp_path / "bundle"
    ckpt = _ckpt(tmp_path / "c.pt", tiny_net_cls(num_classes=2).state_dict())
    with caplog.at_level(logging.ERROR):
        assert run_cli("export", str(ckpt), "--formats", "pte", "--calib", str(synth_yolo),
                    "--num-calib", "4", "--val", str(synth_yolo), "--num-val", "1",
                    "--max-int8-drop", "-100", "--out", str(out), "--key", str(keys[0])) == 2
    assert "int8 accuracy below target" in caplog.text
    assert not out.exists()
