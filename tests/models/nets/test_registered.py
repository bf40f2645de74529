"""Every registered net, automatically (the timm ``tests/test_models.py`` habit): forward,
backward, ``torch.export`` and lowering to ExecuTorch's XNNPACK delegate."""

import pytest
import torch

from models.registry import create_model, list_models, model_record

NAMES = list_models()
SMALL = 64  # spatial size for the fast checks; every net must accept multiples of 32


def _input(name: str) -> torch.Tensor:
    c = model_record(name).input_size[0]
    return torch.randn(2, c, SMALL, SMALL)


def test_registry_is_populated() -> None:
    assert {"csnet-x1", "csnet-x2", "lrnnet"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_forward_backward(name: str) -> None:
    model = create_model(name).train()
    out = model(_input(name))
    outs = out if isinstance(out, (tuple, list)) else [out]
    loss = sum(o.float().pow(2).mean() for o in outs)
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None for g in grads), "a parameter received no gradient"
    assert all(torch.isfinite(g).all() for g in grads)


@pytest.mark.parametrize("name", NAMES)
def test_torch_export_matches_eager(name: str) -> None:
    model = create_model(name).eval()
    x = _input(name)[:1]
    program = torch.export.export(model, (x,))
    eager, exported = model(x), program.module()(x)
    eager = eager if isinstance(eager, (tuple, list)) else [eager]
    exported = exported if isinstance(exported, (tuple, list)) else [exported]
    for a, b in zip(eager, exported, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_lowers_to_xnnpack(name: str) -> None:
    from export.executorch import export_pte

    model = create_model(name).eval()
    result = export_pte(model, (_input(name)[:1],), precision="fp32", allow_non_delegated=True)
    assert result.non_delegated_ops == []  # the whole graph runs in the XNNPACK delegate
    assert len(result.buffer) > 0


# One net per block family (the others repeat these blocks at other widths): the shipped
# detector (TiedSE gates after a reshape), the shipped prior (gOctConv pools and upsampling,
# PReLU) and LRNNet (FCB, SVN's softmax). A conversion takes 0.5-3 min on 2 cores: all seven
# nets cost CI 17 min.
INT8_GATE_NAMES = ("specknet-nano", "csnet-prior", "lrnnet")


def test_the_int8_gate_covers_every_block_family() -> None:
    assert set(INT8_GATE_NAMES) <= set(NAMES)
    families = {name.split("-")[0] for name in NAMES}
    assert families == {name.split("-")[0] for name in INT8_GATE_NAMES}


@pytest.mark.slow
@pytest.mark.parametrize("name", INT8_GATE_NAMES)
def test_int8_tflite_passes_the_builtin_kernels(name: str) -> None:
    """The int8 .tflite of every net passes the exporter's gate: TFLite's int8 spec, and a
    load and invoke with XNNPACK off (``export.int8_spec``)."""
    from export.tflite import export_tflite
    from tests.bundles import scene

    model = create_model(name).eval()
    calibration = [scene(i, SMALL) for i in range(6)]
    tfl = export_tflite(model, (calibration[0],), precision="int8", calibration=calibration,
                        gate_inputs=[scene(100 + i, SMALL) for i in range(2)])
    assert tfl.builtin_cosines and min(tfl.builtin_cosines) > 0.9
