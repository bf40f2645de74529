import pytest
import torch
from torch import nn

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


CLAMPS = ("hardtanh", "relu6")


class _ConvReLU6(nn.Module):
    """conv -> BN -> ReLU6 -> conv: a pre-activation range much wider than [0, 6]."""

    def __init__(self, functional: bool) -> None:
        super().__init__()
        torch.manual_seed(0)
        # nn.ReLU6 exports as aten.hardtanh, F.relu6 as aten.relu6
        self.act = nn.functional.relu6 if functional else nn.ReLU6(inplace=True)
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8).eval()
        self.out = nn.Conv2d(8, 2, 1)
        with torch.no_grad():
            self.conv.weight.mul_(20.0)  # pre-activations far outside [0, 6]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.act(self.bn(self.conv(x))))


def _clamp_quantize(q: torch.fx.GraphModule):
    """The node the clamp reads and the quantize node fed by the clamp."""
    clamp = next(n for n in q.graph.nodes if any(t in str(n.target) for t in CLAMPS))
    quant = next(iter(clamp.users))
    return clamp.args[0], quant


@pytest.mark.parametrize("functional", [False, True])
@pytest.mark.parametrize("make_quantizer", [xnnpack_quantizer, litert_quantizer])
def test_relu6_fused_into_conv(calibration, make_quantizer, functional: bool) -> None:
    """conv -> hardtanh is one partition: no Q/DQ between them, and the clamp's int8 grid
    spans [0, 6] (scale ~6/255), not the conv's much wider pre-activation range."""
    q = quantize_pt2e(_ConvReLU6(functional).eval(), (calibration[0],), calibration,
                      make_quantizer(), fold_quantize=make_quantizer is xnnpack_quantizer)
    producer, quant = _clamp_quantize(q)
    assert "conv" in str(producer.target)  # the clamp reads the conv's float output
    assert "quantize_per_tensor" in str(quant.target)
    scale, zero_point = float(quant.args[1]), int(quant.args[2])
    assert scale == pytest.approx(6 / 255, rel=0.02)
    assert zero_point == -128


@pytest.mark.parametrize("functional", [False, True])
def test_fused_relu6_lowers_fully_to_xnnpack(calibration, validation, functional: bool) -> None:
    """The fused conv -> hardtanh partitions lower entirely into the XNNPACK delegate, and the
    int8 program tracks eager closely (the int8 grid is not wasted outside [0, 6])."""
    import numpy as np

    from export.executorch import export_pte
    from firmware_py.runtimes.executorch import ExecuTorchRunner

    model = _ConvReLU6(functional).eval()
    pte = export_pte(model, (calibration[0],), precision="int8", calibration=calibration)
    assert not pte.non_delegated_ops
    runner = ExecuTorchRunner(pte.buffer)
    for x in validation:
        got, = runner(x.numpy())
        want = model(x).detach().numpy()
        cosine = float((got * want).sum() / np.linalg.norm(got) / np.linalg.norm(want))
        assert cosine > 0.999


class _Branches(nn.Module):
    """A shared trunk and two heads; ``float_head`` is to stay float."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.trunk = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU())
        self.int8_head = nn.Conv2d(8, 2, 1)
        self.float_head = nn.Sequential(nn.Conv2d(8, 8, 1), nn.ReLU(), nn.Conv2d(8, 2, 1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y = self.trunk(x)
        return self.int8_head(y), self.float_head(y)


def _quantized_weights(q: torch.fx.GraphModule) -> int:
    """Conv weights that reach their conv through a dequantize (i.e. int8 weights)."""
    return sum(1 for n in q.graph.nodes if n.op == "call_function" and "conv" in str(n.target)
               and "dequantize" in str(getattr(n.args[1], "target", "")))


@pytest.mark.parametrize("make_quantizer", [xnnpack_quantizer, litert_quantizer])
def test_float_modules_stay_float(calibration, make_quantizer) -> None:
    model = _Branches().eval()
    example = (calibration[0],)
    all_int8 = quantize_pt2e(model, example, calibration, make_quantizer())
    mixed = quantize_pt2e(model, example, calibration, make_quantizer(("float_head",)))
    assert _quantized_weights(all_int8) == 4 and _quantized_weights(mixed) == 2
    with torch.no_grad():  # the float head is exact up to its (quantized) input
        float_out = mixed(calibration[1])[1]
        reference = model.float_head(model.trunk(calibration[1]))
    assert torch.nn.functional.cosine_similarity(float_out.flatten(), reference.flatten(),
                                                 dim=0) > 0.999


FIXED = {"aten.sigmoid.default": (1 / 256, -128), "aten.softmax.int": (1 / 256, -128),
         "aten.tanh.default": (1 / 128, 0)}


def _reads_int8(node: torch.fx.Node) -> bool:
    """Whether ``node``'s input is a dequantized int8 tensor (through reshapes)."""
    arg = node.args[0]
    while "reshape" in str(arg.target):
        arg = arg.args[0]
    return "dequantize" in str(arg.target)


def _fixed_outputs(q: torch.fx.GraphModule) -> list[tuple[str, bool, tuple | None]]:
    """Each sigmoid / softmax / tanh: its target, whether it reads int8, and the (scale, zero
    point) of the quantize after it."""
    found = []
    for node in q.graph.nodes:
        if str(node.target) in FIXED:
            quant = next((u for u in node.users if "quantize_per_tensor" in str(u.target)), None)
            found.append((str(node.target), _reads_int8(node),
                          None if quant is None else (float(quant.args[1]), int(quant.args[2]))))
    return found


def test_litert_fixes_the_spec_output_ranges(gated_model, calibration) -> None:
    """Every gate of GatedNet that runs in int8 (TiedSE's reads a reshape) gets TFLite's
    fixed output range; the stock annotator misses TiedSE's sigmoid, the softmax and the
    tanh. CBAM's channel gate reads a float add (its shared-weight convs stay float in both)."""
    def outputs(fixed: bool) -> list:
        q = quantize_pt2e(gated_model, (calibration[0],), calibration[:4],
                          litert_quantizer(tflite_spec=fixed), fold_quantize=False)
        return [(t, qparams) for t, int8, qparams in _fixed_outputs(q) if int8]

    fixed = outputs(True)
    assert len(fixed) == 6  # TiedSE, SE, CBAM spatial sigmoids; heatmap; softmax; tanh
    for target, qparams in fixed:
        assert qparams == pytest.approx(FIXED[target]), target
    stock = outputs(False)
    assert len(stock) == 6
    assert sum(qparams == pytest.approx(FIXED[t]) for t, qparams in stock) == 3


class _Attention(nn.Module):
    """softmax(Q K^T): the softmax reads a float bmm (no quantized input)."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, 8, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q = self.conv(x).flatten(2)  # (N, 8, HW)
        attn = torch.softmax(torch.bmm(q.transpose(1, 2), q), dim=-1)  # (N, HW, HW)
        return self.conv(x) + torch.bmm(q, attn).reshape(x.shape[0], 8, *x.shape[-2:])


def test_fixed_range_only_on_quantized_inputs(calibration) -> None:
    """A softmax on a float input stays float: no 1/256 grid imposed on float attention."""
    q = quantize_pt2e(_Attention().eval(), (calibration[0],), calibration[:4],
                      litert_quantizer(), fold_quantize=False)
    assert _fixed_outputs(q) == [("aten.softmax.int", False, None)]


def _qparams_around(q: torch.fx.GraphModule, name: str) -> tuple[tuple, tuple]:
    """(scale, zero point) of the quantize before and after the op called ``name``."""
    node = next(n for n in q.graph.nodes if name in str(n.target))
    before = node.args[0].args[0]  # op <- dequantize <- quantize
    after = next(iter(node.users))
    return tuple(before.args[1:3]), tuple(after.args[1:3])


@pytest.mark.parametrize("op", ["avg_pool2d", "max_pool2d", "upsample_bilinear2d"])
def test_litert_shares_same_scale_ops(pools_model, calibration, op: str) -> None:
    """TFLite's AVERAGE_POOL_2D, MAX_POOL_2D and RESIZE_BILINEAR keep their input's
    quantization; the stock annotator gives the average pool and the upsample outputs
    observers of their own (other ranges)."""
    def around(tflite_spec: bool) -> tuple[tuple, tuple]:
        q = quantize_pt2e(pools_model, (calibration[0],), calibration[:4],
                          litert_quantizer(tflite_spec=tflite_spec), fold_quantize=False)
        return _qparams_around(q, op)

    before, after = around(True)
    assert before == after
    if op != "max_pool2d":  # a max pool keeps its input's range anyway
        before, after = around(False)
        assert before != after
