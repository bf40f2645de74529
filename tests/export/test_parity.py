import numpy as np
import pytest
import torch

from export.parity import compare
from firmware_py.manifest import TensorSpec
from firmware_py.runtimes import Runner


class _TorchRunner(Runner):
    """A stand-in runtime: the eager model plus a fixed perturbation of output 1 (``noise``
    away from its mean, so it changes the output's direction, not only its scale)."""

    runtime = "executorch"

    def __init__(self, model: torch.nn.Module, noise: float) -> None:
        self.model, self.noise = model, noise
        self.inputs = [TensorSpec(name="x", shape=(1, 3, 32, 32), layout="NCHW",
                                  dtype="float32")]
        self.outputs = [TensorSpec(name=f"o{i}", shape=(1,), layout="NCHW", dtype="float32")
                        for i in range(3)]

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        with torch.no_grad():
            outs = [o.numpy() for o in self.model(torch.from_numpy(inputs[0]))]
        outs[1] = outs[1] + self.noise * np.sign(outs[1] - outs[1].mean())
        return outs


NAMES = ("heatmap", "size", "offset")


def test_identical_runtime_is_perfect(tiny_model, validation) -> None:
    parity = compare(tiny_model, _TorchRunner(tiny_model, 0.0), validation, NAMES, 0.9999)
    assert parity.passed
    assert all(o.cosine == pytest.approx(1.0) and o.max_abs_error == 0 for o in parity.outputs)


def test_perturbed_output_fails_and_is_named(tiny_model, validation) -> None:
    parity = compare(tiny_model, _TorchRunner(tiny_model, 0.5), validation, NAMES, 0.9999)
    assert not parity.passed
    by_name = {o.name: o for o in parity.outputs}
    assert by_name["size"].cosine < 0.9999
    assert by_name["size"].max_abs_error == pytest.approx(0.5, rel=1e-5)
    assert by_name["heatmap"].max_abs_error == 0
