import pytest
import torch

from export import ExportError
from export.quantize import litert_quantizer, quantize_pt2e, xnnpack_quantizer


def _targets(graph: torch.fx.GraphModule) -> set[str]:
    return {str(n.target) for n in graph.graph.nodes if n.op == "call_function"}


def test_weights_per_channel_activations_per_tensor(tiny_model, calibration) -> None:
    q = quantize_pt2e(tiny_model, (calibration[0],), calibration, xnnpack_quantizer())
    targets = _targets(q)
    assert any("dequantize_per_channel" in t for t in targets)  # per-channel weights
    assert any("quantize_per_tensor" in t for t in targets)  # static activations


def test_calibration_sets_ranges(tiny_model, calibration) -> None:
    """The input quantization scale follows the data it was calibrated on."""
    def input_scale(batches: list[torch.Tensor]) -> float:
        q = quantize_pt2e(tiny_model, (batches[0],), batches, xnnpack_quantizer())
        node = next(n for n in q.graph.nodes
                    if n.op == "call_function" and "quantize_per_tensor" in str(n.target))
        return float(node.args[1])

    assert input_scale([4 * b for b in calibration]) == pytest.approx(
        4 * input_scale(calibration), rel=0.05)


def test_unfolded_weights_for_litert(tiny_model, calibration) -> None:
    """litert-torch needs float weights behind explicit quantize ops (fold_quantize=False)."""
    def weight_quantize(fold: bool) -> bool:
        q = quantize_pt2e(tiny_model, (calibration[0],), calibration[:2], litert_quantizer(),
                          fold_quantize=fold)
        return "quantized_decomposed.quantize_per_channel.default" in _targets(q)

    assert weight_quantize(fold=False) and not weight_quantize(fold=True)


def test_empty_calibration_is_an_error(tiny_model, calibration) -> None:
    with pytest.raises(ExportError, match="no batches"):
        quantize_pt2e(tiny_model, (calibration[0],), [], xnnpack_quantizer())
