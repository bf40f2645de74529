import torch

from models.prune import channel_masks, mask_network, prune_network
from models.registry import create_model
from models.summary import count_params


def _collapse_some(model: torch.nn.Module, fraction: float) -> None:
    """Stand-in for dynamic weight decay: drive a random share of expand-BN gammas to ~0."""
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for block in model.blocks:
            bn = block.expand.bn
            bn.weight[torch.rand(bn.weight.shape, generator=g) < fraction] = 1e-6
            bn.running_mean.uniform_(-0.5, 0.5)
            bn.running_var.uniform_(0.5, 2.0)


def _trained_like(name: str = "specknet-nano") -> torch.nn.Module:
    model = create_model(name, num_classes=2)
    model.train()
    with torch.no_grad():  # non-trivial BN statistics
        for _ in range(3):
            model(torch.rand(2, 3, 64, 64))
    return model.eval()


def test_pruned_net_equals_masked_original() -> None:
    model = _trained_like()
    _collapse_some(model, 0.5)
    masks = channel_masks(model, threshold=1e-3)
    mask_network(model, masks)
    pruned, config, report = prune_network(model, "specknet-nano", {"num_classes": 2}, masks)
    assert report.kept_fraction < 0.9
    assert count_params(pruned) < count_params(model)
    x = torch.rand(2, 3, 96, 96)
    with torch.no_grad():
        for a, b in zip(model(x), pruned(x), strict=True):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    assert config["hidden"] == report.hidden_after


def test_tied_groups_are_kept_whole() -> None:
    model = _trained_like()
    _collapse_some(model, 0.3)
    for block, keep in zip(model.blocks, channel_masks(model, 1e-3), strict=True):
        blocks = getattr(block.attn, "blocks", 1)
        per_block = keep.reshape(blocks, -1)
        assert (per_block == per_block[0]).all()  # same index kept in every tied block


def test_nothing_collapsed_means_nothing_pruned() -> None:
    model = _trained_like()
    masks = channel_masks(model, threshold=1e-3)
    assert all(m.all() for m in masks)
    pruned, _, report = prune_network(model, "specknet-nano", {"num_classes": 2}, masks)
    assert report.kept_fraction == 1.0
    assert count_params(pruned) == count_params(model)


def test_prune_fine_tunes_within_the_given_budget(tmp_path) -> None:
    from models.checkpoint import load_checkpoint
    from models.data.synth import SynthConfig, write_dataset
    from models.prune import prune_checkpoint
    from models.train import train
    from models.train_config import TrainConfig

    data = str(write_dataset(tmp_path / "d", SynthConfig(width=128, height=128), images=6,
                             seed=0, val_fraction=0.34))
    trained = train(TrainConfig(data=data, model="specknet-pico", out=str(tmp_path / "t"),
                                epochs=1, steps_per_epoch=2, batch_size=2, tile_size=64,
                                eval_tile_size=128, warmup_steps=1, dwd_lambda=3.0))
    final = prune_checkpoint(str(trained), str(tmp_path / "p"), threshold=1e-2, data=data,
                             finetune_epochs=1, max_minutes=5.0)
    meta = load_checkpoint(final)["meta"]
    assert final.name == "best.pt" and meta["recipe"]["max_minutes"] == 5.0
    assert meta["recipe"]["init"] == str(tmp_path / "p" / "pruned.pt")
    assert meta["recipe"]["dwd_lambda"] == 0.0 and "mAP50" in meta["metrics"]
