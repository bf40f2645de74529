import torch

from models.blocks.fcb import FCB
from models.nets.lrnnet import LRNNet, LRNNetConfig
from models.registry import create_model, model_record
from models.summary import count_params


def test_lrnnet_segments_at_input_resolution() -> None:
    model = create_model("lrnnet").eval()
    assert model(torch.randn(2, 3, 64, 64)).shape == (2, 19, 64, 64)
    assert model(torch.randn(1, 3, 64, 96)).shape == (1, 19, 64, 96)


def test_lrnnet_registry_record_and_overrides() -> None:
    record = model_record("lrnnet")
    assert (record.input_size, record.task) == ((3, 512, 1024), "segmentation")
    model = create_model("lrnnet", num_classes=5).eval()
    assert model(torch.randn(1, 3, 32, 32)).shape == (1, 5, 32, 32)


def test_lrnnet_encoder_output_is_at_one_eighth() -> None:
    model = LRNNet(LRNNetConfig()).eval()
    assert model.encoder(torch.randn(1, 3, 64, 96)).shape == (1, 128, 8, 12)
    last = [m for m in model.encoder[2] if isinstance(m, FCB)]
    assert [m.depthwise.conv.dilation[0] for m in last] == list(LRNNetConfig().dilations)


def test_lrnnet_parameter_count_is_near_the_paper() -> None:
    n = count_params(create_model("lrnnet"))
    assert n == 664_162  # the number stated in the module docstring
    assert abs(n - 680_000) / 680_000 < 0.05  # the paper's 0.68M
