import numpy as np
import pytest
import torch

from export.metrics import DetectionEvaluator, eager_forward, eval_decode, summary
from firmware_py.manifest import CenterNetDecode, InputSpec
from models.data.boxes import ImageRecord, read_image
from models.data.yolo import read_yolo
from models.predict import SliceConfig, predict_sliced
from models.validate import eval_spec, evaluate_detector, tile_detector

SPEC = InputSpec(shape=(1, 3, 32, 32))
DEPLOYED = CenterNetDecode(num_classes=2, score_threshold=0.3)


@pytest.fixture(scope="module")
def detector(tiny_net_cls):
    """An untrained tiny CenterNet whose boxes have a positive size (~6 px)."""
    torch.manual_seed(1)
    model = tiny_net_cls(num_classes=2).eval()
    with torch.no_grad():
        model.size.weight.mul_(0.1)
        model.size.bias.fill_(6.0)
    return model


@pytest.fixture(scope="module")
def pseudo_truth(detector, synth_yolo) -> tuple[list[ImageRecord], list[str]]:
    """Val images whose ground truth is eager PyTorch's top-4 boxes (torch decode): eager mAP
    is then high, so artifact-vs-eager agreement is a non-vacuous check."""
    data = read_yolo(synth_yolo, "val")
    detect = tile_detector(detector, eval_spec(2))
    records = []
    for record in data.records:
        found = predict_sliced(read_image(record.path), detect, SliceConfig(32, 32))
        records.append(ImageRecord(record.path, record.width, record.height,
                                   found.boxes[:4], found.labels[:4]))
    assert sum(len(r.labels) for r in records) >= 8
    return records, data.names


def test_eval_decode_lowers_only_the_threshold() -> None:
    spec = eval_decode(DEPLOYED)
    assert spec.score_threshold == 0.01 and DEPLOYED.score_threshold == 0.3
    assert spec.model_dump(exclude={"score_threshold"}) == DEPLOYED.model_dump(
        exclude={"score_threshold"})


def test_eager_device_path_matches_torch_evaluation(detector, pseudo_truth) -> None:
    """Numpy decode + predict_sliced merge == models.validate's torch path on the same model."""
    records, names = pseudo_truth
    torch_map = evaluate_detector(detector, records, names, tile_size=32)
    device, _ = DetectionEvaluator(records, names, DEPLOYED, SPEC).evaluate(
        eager_forward(detector))
    assert torch_map.map50 > 0.6
    assert device.map50 == pytest.approx(torch_map.map50, abs=0.01)
    assert device.map50_95 == pytest.approx(torch_map.map50_95, abs=0.01)


def test_fp32_artifact_matches_torch_evaluation(detector, pseudo_truth) -> None:
    from export.executorch import export_pte
    from firmware_py.runtimes import load_runner

    records, names = pseudo_truth
    pte = export_pte(detector, (torch.zeros(1, 3, 32, 32),))
    runner = load_runner(pte.buffer, "pte")
    torch_map = evaluate_detector(detector, records, names, tile_size=32)
    metrics = DetectionEvaluator(records, names, DEPLOYED, SPEC)(runner)
    assert torch_map.map50 > 0.6
    assert metrics["mAP50"] == pytest.approx(torch_map.map50, abs=0.01)
    assert metrics["mAP50-95"] == pytest.approx(torch_map.map50_95, abs=0.01)


def test_wrong_normalisation_is_visible(detector, pseudo_truth) -> None:
    """The evaluator really feeds the model: a different input normalisation changes mAP."""
    records, names = pseudo_truth
    shifted = InputSpec(shape=(1, 3, 32, 32), mean=(0.5, 0.5, 0.5), std=(0.2, 0.2, 0.2))
    good = DetectionEvaluator(records, names, DEPLOYED, SPEC)(eager_forward(detector))
    bad = DetectionEvaluator(records, names, DEPLOYED, shifted)(eager_forward(detector))
    assert bad["mAP50"] < good["mAP50"] - 0.2


def test_summary_drops_undefined_metrics(detector, pseudo_truth) -> None:
    records, names = pseudo_truth
    metrics, _ = DetectionEvaluator(records, names, DEPLOYED, SPEC).evaluate(
        eager_forward(detector))
    metrics.ap_small = metrics.ap30_tiny = float("nan")
    assert set(summary(metrics)) == {"mAP50", "mAP50-95"}


def test_class_count_mismatch_is_refused(pseudo_truth) -> None:
    records, names = pseudo_truth
    with pytest.raises(ValueError, match="classes"):
        DetectionEvaluator(records, names, CenterNetDecode(num_classes=3), SPEC)
    with pytest.raises(ValueError, match="at least one"):
        DetectionEvaluator([], names, DEPLOYED, SPEC)


def test_eager_forward_returns_numpy(detector) -> None:
    out = eager_forward(detector)(np.zeros((1, 3, 32, 32), np.float32))
    assert [o.shape for o in out] == [(1, 2, 8, 8), (1, 2, 8, 8), (1, 2, 8, 8)]
    assert all(isinstance(o, np.ndarray) for o in out)


def test_the_operating_point_is_chosen_then_held(detector, pseudo_truth) -> None:
    """Best F1 on the validation data; once deployed, every source reports precision and
    recall at that threshold (and a precision target picks the lowest threshold reaching it)."""
    records, names = pseudo_truth
    evaluator = DetectionEvaluator(records, names, DEPLOYED, SPEC)
    chosen = evaluator(eager_forward(detector))
    assert 0.01 <= chosen["score_threshold"] <= 1.0 and chosen["precision"] > 0
    evaluator.deployed_threshold = chosen["score_threshold"]
    held = evaluator(eager_forward(detector))
    assert held["score_threshold"] == chosen["score_threshold"]
    assert (held["precision"], held["recall"]) == (chosen["precision"], chosen["recall"])
    strict = DetectionEvaluator(records, names, DEPLOYED, SPEC, min_precision=0.999)
    point = strict(eager_forward(detector))
    assert "score_threshold" not in point or point["precision"] >= 0.999


def test_the_bundle_deploys_the_validation_operating_point(detector, pseudo_truth,
                                                           tmp_path) -> None:
    from export.bundle import export_bundle
    from export.keys import generate_keypair, load_private_key

    records, names = pseudo_truth
    evaluator = DetectionEvaluator(records, names, DEPLOYED, SPEC)
    eager = evaluator(eager_forward(detector))
    evaluator = DetectionEvaluator(records, names, DEPLOYED, SPEC)
    private, _ = generate_keypair(tmp_path / "keys")
    tiles = [torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(i))
             for i in range(4)]
    manifest = export_bundle(
        detector, tmp_path / "bundle", name="tiny", example_input=tiles[0], validation=tiles,
        private_key=load_private_key(private), formats=("tflite",), precisions=("fp32",),
        decode=DEPLOYED, labels=names, evaluator=evaluator, choose_threshold=True)
    assert manifest.decode.score_threshold == eager["score_threshold"]
    assert manifest.metrics["tflite_fp32/score_threshold"] == eager["score_threshold"]
    assert manifest.metrics["tflite_fp32/precision"] == pytest.approx(eager["precision"],
                                                                      abs=0.02)
