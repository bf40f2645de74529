"""SpeckNet's design variants (issue 15): output shapes and declared stride, folding of the
re-parameterised net, the stride reaching the loss, the decode spec and both decoders, and
(slow) int8 exports of every option at once to both runtimes through the int8 gate."""

import numpy as np
import pytest
import torch
from torch import nn

from firmware_py.decode import decode_centernet
from firmware_py.manifest import CenterNetDecode
from models.blocks.fcb import FCB
from models.blocks.fused_mbconv import FusedMBConv
from models.blocks.repconv import RepConvNormAct, has_branches, reparameterize_model
from models.blocks.space_to_depth import SpaceToDepthStem
from models.blocks.svn import SVN
from models.blocks.tied import TBC, TGC
from models.decode import decode as torch_decode
from models.registry import create_model

VARIANTS = {"specknet-nano-fused": 4, "specknet-nano-s2d": 4, "specknet-nano-rep": 4,
            "specknet-nano-s8": 8, "specknet-nano-oct": 4, "specknet-nano-tbc": 4,
            "specknet-nano-tgc": 4, "specknet-nano-fcb": 4, "specknet-nano-fcb-svn": 4}
SEED_VARIANTS = [name for name in VARIANTS if name.split("-")[-1] in ("oct", "tbc", "tgc")
                 or "-fcb" in name]
ALL_OPTIONS = {"stem": "s2d", "rep": True, "head_stride": 8,
               "stages": ({"out_ch": 24, "depth": 2, "expand": 2.0, "block": "fused"},
                          {"out_ch": 40, "depth": 2, "expand": 3.0, "attn": "tiedse"},
                          {"out_ch": 64, "depth": 3, "attn": "tiedse", "dilation": 2})}


@pytest.mark.parametrize(("name", "stride"), VARIANTS.items())
def test_outputs_at_the_declared_stride(name: str, stride: int) -> None:
    model = create_model(name, num_classes=3).eval()
    with torch.no_grad():
        heat, size, offset = model(torch.rand(1, 3, 320, 320))
    assert model.stride == stride
    assert heat.shape == (1, 3, 320 // stride, 320 // stride)
    assert size.shape == offset.shape == (1, 2, 320 // stride, 320 // stride)


@pytest.mark.parametrize("name", SEED_VARIANTS)
def test_seed_variants_keep_nanos_head_shapes_at_other_sizes(name: str) -> None:
    nano, variant = create_model("specknet-nano").eval(), create_model(name).eval()
    x = torch.rand(1, 3, 192, 256)  # a stride-16 map of 12x16: SVN resizes its keys to 16x16
    with torch.no_grad():
        shapes = [[tuple(o.shape) for o in net(x)] for net in (nano, variant)]
    assert shapes[0] == shapes[1]


def test_each_variant_builds_its_option() -> None:
    assert isinstance(create_model("specknet-nano-fused").blocks[0], FusedMBConv)
    assert isinstance(create_model("specknet-nano-s2d").stem, SpaceToDepthStem)
    rep = create_model("specknet-nano-rep")
    assert isinstance(rep.stem, RepConvNormAct)
    assert all(isinstance(b.dw, RepConvNormAct) for b in rep.blocks)
    assert len(create_model("specknet-nano-s8").lateral) == 2
    octave = create_model("specknet-nano-oct")
    kinds = [type(b).__name__ for b in octave.blocks]
    assert kinds == ["OctInvertedResidual"] * 4 + ["InvertedResidual"] * 3
    for name, tied in (("specknet-nano-tbc", TBC), ("specknet-nano-tgc", TGC)):
        net = create_model(name)
        assert all(type(b.expand.conv) is tied for b in net.blocks)
        assert all(type(s.pw.conv) is tied for s in net.smooth)
        assert all(type(b.project.conv) is nn.Conv2d for b in net.blocks)
    assert [type(m) for m in create_model("specknet-nano-fcb-svn").context] == [FCB, SVN]


def test_bad_options_are_refused() -> None:
    with pytest.raises(ValueError, match="head_stride"):
        create_model("specknet-nano", head_stride=16)
    with pytest.raises(ValueError, match="stem"):
        create_model("specknet-nano", stem="focus")
    with pytest.raises(ValueError, match="stage block"):
        create_model("specknet-nano", stages=({"out_ch": 24, "depth": 1, "block": "x"},))
    with pytest.raises(ValueError, match="tied convs"):
        create_model("specknet-nano-fused", tied=(2, 1))
    with pytest.raises(ValueError, match="tied must be"):
        create_model("specknet-nano", tied=(0, 1))
    with pytest.raises(ValueError, match="context"):
        create_model("specknet-nano", context=("aspp",))
    with pytest.raises(ValueError, match="RepVGG"):
        create_model("specknet-nano-oct", rep=True)


def test_a_silent_svn_context_leaves_nano() -> None:
    """SVN adds its attention through a residual: with the output BN zeroed the net is nano
    with the same weights (the context sits on the stride-16 features, before the lateral)."""
    nano = create_model("specknet-nano").eval()
    svn = create_model("specknet-nano", context=["svn"]).eval()  # a list, as JSON gives it
    svn.load_state_dict(nano.state_dict(), strict=False)
    nn.init.zeros_(svn.context[0].proj.bn.weight)
    nn.init.zeros_(svn.context[0].proj.bn.bias)
    x = torch.rand(1, 3, 128, 128)
    with torch.no_grad():
        for a, b in zip(svn(x), nano(x), strict=True):
            torch.testing.assert_close(a, b)


def test_folded_net_equals_unfolded_in_eval() -> None:
    model = create_model("specknet-nano", **ALL_OPTIONS)
    model.train()
    with torch.no_grad():  # a few batches give the BNs non-trivial statistics
        for _ in range(3):
            model(torch.rand(4, 3, 64, 64))
    model.eval()
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        before = model(x)
        reparameterize_model(model)
        after = model(x)
    assert not has_branches(model)
    for a, b in zip(after, before, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_export_copy_is_folded_and_the_model_is_not() -> None:
    from export.prepare import for_export

    model = create_model("specknet-nano-rep")
    exported = for_export(model)
    assert has_branches(model) and not has_branches(exported)
    plain = create_model("specknet-nano").eval()
    convs = [sum(isinstance(m, nn.Conv2d) for m in net.modules()) for net in (exported, plain)]
    assert convs[0] == convs[1]  # one conv per RepVGG branch set, as in the plain net
    assert for_export(plain) is plain


def test_the_loss_encodes_at_the_net_stride(tmp_path) -> None:
    from models.data.synth import SynthConfig, write_dataset
    from models.train import Trainer
    from models.train_config import TrainConfig

    write_dataset(tmp_path, SynthConfig(width=96, height=96, objects=(1, 2)), images=4, seed=0,
                  val_fraction=0.5)
    cfg = TrainConfig(data=str(tmp_path / "data.yaml"), model="specknet-nano-s8",
                      out=str(tmp_path / "run"), epochs=1, steps_per_epoch=1, batch_size=2,
                      tile_size=64, eval_tile_size=96, warmup_steps=0)
    trainer = Trainer(cfg)
    assert trainer.criterion.stride == 8
    images, targets = next(iter(trainer._loader()))
    loss, _ = trainer._loss(images, targets)
    assert torch.isfinite(loss)


def test_stride_8_decodes_the_same_on_host_and_device() -> None:
    from export.cli import _decode_for

    model = create_model("specknet-nano-s8", num_classes=2).eval()
    with torch.no_grad():
        outputs = model(torch.rand(1, 3, 128, 128))
    spec = _decode_for("detection", outputs, 128, score_threshold=0.0)
    assert spec.stride == 8
    spec = CenterNetDecode(num_classes=2, stride=8, score_threshold=0.0, max_detections=20)
    host = torch_decode(outputs, spec)[0]
    device = decode_centernet([o.numpy() for o in outputs], spec)[0]
    np.testing.assert_allclose(device.boxes, host["boxes"].numpy(), rtol=1e-5, atol=1e-4)
    heat, _, offset = (o[0] for o in outputs)  # the best peak's centre is (cell + offset) * 8
    label, y, x = np.unravel_index(int(heat.argmax()), tuple(heat.shape))
    centre = (host["boxes"][0, :2] + host["boxes"][0, 2:]) / 2
    expected = torch.stack([x + offset[0, y, x], y + offset[1, y, x]]) * 8
    torch.testing.assert_close(centre, expected, rtol=1e-5, atol=1e-4)


@pytest.mark.slow
def test_every_option_exports_int8_to_both_runtimes() -> None:
    """s2d stem, fused stage, RepVGG branches and the stride-8 head in one net: the int8
    .tflite passes the gate (TFLite's int8 spec, builtin kernels) and the int8 .pte leaves no
    op outside the XNNPACK delegate; both hold single convs (folded at export)."""
    from export.executorch import export_pte
    from export.tflite import export_tflite
    from tests.bundles import scene

    model = create_model("specknet-nano", **ALL_OPTIONS).eval()
    calibration = [scene(i, 64) for i in range(6)]
    tfl = export_tflite(model, (calibration[0],), precision="int8", calibration=calibration,
                        gate_inputs=[scene(100 + i, 64) for i in range(2)])
    assert tfl.builtin_cosines and min(tfl.builtin_cosines) > 0.9
    pte = export_pte(model, (calibration[0],), precision="int8", calibration=calibration)
    assert pte.non_delegated_ops == [] and len(pte.buffer) > 0
    assert has_branches(model)  # the caller's net stays unfolded


@pytest.mark.parametrize("name", ["specknet-nano-fused", "specknet-nano-rep",
                                  "specknet-nano-oct", "specknet-nano-tbc"])
def test_pruning_and_dynamic_decay_refuse_what_they_cannot_slice(name: str) -> None:
    from models.blocks.dynamic_decay import DynamicWeightDecay
    from models.prune import channel_masks

    model = create_model(name)
    with pytest.raises(ValueError, match="cannot be pruned"):
        channel_masks(model)
    if name.endswith("rep"):
        with pytest.raises(ValueError, match="dynamic decay"):
            DynamicWeightDecay(model)


def test_export_copy_of_a_tied_net_holds_grouped_convs() -> None:
    from export.prepare import for_export
    from models.blocks.tied import has_tied_convs

    model = create_model("specknet-nano-tgc").eval()
    exported = for_export(model)
    assert has_tied_convs(model) and not has_tied_convs(exported)
    assert {b.expand.conv.groups for b in exported.blocks} == {4}
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        for a, b in zip(exported(x), model(x), strict=True):
            torch.testing.assert_close(a, b)


SEED_OPTIONS = {  # every seed option in two nets (tied convs need plain inverted residuals)
    "oct-fcb-svn": {"context": ("fcb", "svn"),
                    "stages": ({"out_ch": 24, "depth": 2, "expand": 3.0, "block": "oct"},
                               {"out_ch": 40, "depth": 2, "expand": 3.0, "attn": "tiedse",
                                "block": "oct"},
                               {"out_ch": 64, "depth": 3, "attn": "tiedse", "dilation": 2})},
    "tgc": {"tied": (2, 2)},
}


@pytest.mark.slow
@pytest.mark.parametrize("options", SEED_OPTIONS.values(), ids=SEED_OPTIONS)
def test_seed_options_pass_the_export_gate_in_both_runtimes(options: dict, tmp_path) -> None:
    """The exporter's whole gate, int8, both runtimes: TFLite's int8 spec and its builtin
    kernels (XNNPACK off), every .pte op in the XNNPACK delegate, parity with eager and the
    decoded agreement (``export.bundle``; it raises on a miss)."""
    from export.bundle import export_bundle
    from export.keys import generate_keypair, load_private_key
    from firmware_py.manifest import CenterNetDecode
    from tests.bundles import scene

    torch.manual_seed(0)
    model = create_model("specknet-nano", **options).train()
    with torch.no_grad():  # BN statistics of real-looking tiles, as after training
        for i in range(3):
            model(torch.cat([scene(50 + 4 * i + j, 64) for j in range(4)]))
    private, _ = generate_keypair(tmp_path / "keys")
    manifest = export_bundle(
        model.eval(), tmp_path / "bundle", name="seeds", example_input=scene(1000, 64),
        validation=[scene(1000 + i, 64) for i in range(3)],
        private_key=load_private_key(private), calibration=[scene(i, 64) for i in range(6)],
        formats=("tflite", "pte"), precisions=("int8",),
        decode=CenterNetDecode(num_classes=4, score_threshold=0.05), labels=tuple("abcd"))
    assert sorted(a.format for a in manifest.artifacts) == ["pte", "tflite"]
    assert all(a.parity.passed and a.delegated_ops_only for a in manifest.artifacts)
    assert manifest.metrics["tflite_int8/builtin_vs_xnnpack_min_cosine"] > 0.9
