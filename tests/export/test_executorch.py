import pytest
import torch

from export.executorch import DelegationError, export_pte
from export.parity import compare
from firmware_py.runtimes.executorch import ExecuTorchRunner

NAMES = ("heatmap", "size", "offset")


@pytest.mark.parametrize(("precision", "min_cosine"), [("fp32", 0.9999), ("int8", 0.98)])
def test_pte_runs_in_executorch_runtime(tiny_model, calibration, validation, precision,
                                        min_cosine) -> None:
    pte = export_pte(tiny_model, (validation[0],), precision=precision, calibration=calibration)
    assert pte.buffer[4:8] == b"ET12"  # ExecuTorch flatbuffer identifier
    assert pte.non_delegated_ops == []
    runner = ExecuTorchRunner(pte.buffer)
    assert [s.shape for s in runner.outputs] == [(1, 3, 8, 8), (1, 2, 8, 8), (1, 2, 8, 8)]
    assert runner.inputs[0].dtype == "float32" and runner.inputs[0].layout == "NCHW"
    parity = compare(tiny_model, runner, validation, NAMES, min_cosine)
    assert parity.passed, parity
    assert parity.num_samples == len(validation)


@pytest.mark.slow
def test_int8_differs_from_fp32(tiny_model, calibration, validation) -> None:
    """int8 must really be quantized: its outputs are not bit-identical to fp32."""
    x = validation[0]
    fp32 = ExecuTorchRunner(export_pte(tiny_model, (x,)).buffer)(x.numpy())
    int8 = ExecuTorchRunner(export_pte(tiny_model, (x,), precision="int8",
                                       calibration=calibration).buffer)(x.numpy())
    assert any(not torch.equal(torch.from_numpy(a), torch.from_numpy(b))
               for a, b in zip(fp32, int8, strict=True))


class _Cumsum(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cumsum(x, dim=1)


def test_non_delegated_ops_fail_by_default() -> None:
    x = torch.randn(1, 3, 8, 8)
    with pytest.raises(DelegationError, match="cumsum"):
        export_pte(_Cumsum(), (x,))
    pte = export_pte(_Cumsum(), (x,), allow_non_delegated=True)
    assert any("cumsum" in op for op in pte.non_delegated_ops)
    out = ExecuTorchRunner(pte.buffer)(x.numpy())[0]
    torch.testing.assert_close(torch.from_numpy(out), torch.cumsum(x, 1))
