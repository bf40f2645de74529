"""Training loop: a few real steps on a tiny synthetic set (options, checkpoints, resume, DDP)."""

import json
import os
import socket
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

from models.checkpoint import load_checkpoint, model_from_checkpoint
from models.data.synth import SynthConfig, write_dataset
from models.train import Trainer, train
from models.train_config import ConfigError, TrainConfig


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> str:
    root = tmp_path_factory.mktemp("synth")
    write_dataset(root, SynthConfig(width=128, height=128, objects=(2, 4)), images=10, seed=0,
                  val_fraction=0.2)
    return str(root / "data.yaml")


def _cfg(data: str, out: Path, **kw) -> TrainConfig:
    base = dict(data=data, model="specknet-pico", out=str(out), epochs=1, steps_per_epoch=2,
                batch_size=2, tile_size=64, eval_tile_size=128, warmup_steps=1)
    return TrainConfig(**{**base, **kw})


def test_train_writes_a_loadable_checkpoint_and_log(data: str, tmp_path: Path) -> None:
    path = train(_cfg(data, tmp_path, epochs=2))
    assert path == tmp_path / "best.pt"
    ckpt = load_checkpoint(tmp_path / "last.pt")
    assert ckpt["meta"]["epoch"] == 2 and ckpt["meta"]["names"][0] == "drone"
    assert ckpt["meta"]["recipe"]["model"] == "specknet-pico"
    rows = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    epochs = [r for r in rows if "loss" in r]  # validations may sit between steps too
    assert [r["epoch"] for r in epochs] == [1, 2]
    assert "mAP50" in rows[-1] and all(torch.isfinite(torch.tensor(r["loss"])) for r in epochs)
    model, best = model_from_checkpoint(path)
    assert "train_state" not in best  # best.pt is slim: deploy weights and metrics
    validated = [r["mAP50_95"] for r in rows if r.get("mAP50_95") is not None]
    assert best["meta"]["metrics"]["mAP50_95"] == max(validated)
    with torch.no_grad():
        heat, _, _ = model(torch.rand(1, 3, 64, 64))
    assert heat.shape[1] == 4


def test_resume_continues_from_the_saved_step(data: str, tmp_path: Path) -> None:
    train(_cfg(data, tmp_path, epochs=1))
    trainer = Trainer(_cfg(data, tmp_path, epochs=2, resume=True))
    assert (trainer.epoch, trainer.step) == (1, 2)
    saved = load_checkpoint(tmp_path / "last.pt")["train_state"]["model"]
    for k, v in trainer.model.state_dict().items():
        torch.testing.assert_close(v, saved[k])


def test_dynamic_decay_and_distillation_add_their_terms(data: str, tmp_path: Path) -> None:
    teacher = train(_cfg(data, tmp_path / "teacher"))
    trainer = Trainer(_cfg(data, tmp_path / "student", dwd_lambda=3.0, teacher=str(teacher)))
    images, targets = next(iter(trainer._loader()))
    _, parts = trainer._loss(images, targets)
    assert float(parts["dwd"]) > 0 and float(parts["kd"]) > 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ddp_worker(rank: int, world: int, port: int, data: str, out: str) -> None:
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port))
    torch.set_num_threads(1)
    trainer = Trainer(_cfg(data, Path(out), seed=0))
    trainer.fit()
    params = {k: v.detach() for k, v in trainer.model.named_parameters()}
    torch.save(params, Path(out) / f"rank{rank}.pt")
    torch.distributed.destroy_process_group()


@pytest.mark.slow
def test_ddp_gloo_two_processes_stay_in_sync(data: str, tmp_path: Path) -> None:
    mp.spawn(_ddp_worker, args=(2, _free_port(), data, str(tmp_path)), nprocs=2, join=True)
    a = torch.load(tmp_path / "rank0.pt", weights_only=True)
    b = torch.load(tmp_path / "rank1.pt", weights_only=True)
    for k in a:
        torch.testing.assert_close(a[k], b[k])  # DDP all-reduced every gradient
    saved = torch.load(tmp_path / "last.pt", weights_only=True)["train_state"]["model"]
    for k in a:  # rank 0 alone wrote the checkpoint, from the synced weights
        torch.testing.assert_close(saved[k], a[k])


def test_recipe_sets_augmentation_and_loss_options(data: str, tmp_path: Path) -> None:
    trainer = Trainer(_cfg(data, tmp_path, augment={"scale": [1, 1], "hflip": 0.0},
                           loss_config={"size_weight": 0.5, "min_radius": 0}))
    assert trainer.dataset.augment.scale == (1, 1) and trainer.dataset.augment.hflip == 0.0
    assert trainer.criterion.weights == (1.0, 0.5, 1.0) and trainer.criterion.min_radius == 0
    with pytest.raises(ConfigError, match="augment: .*scales"):
        Trainer(_cfg(data, tmp_path, augment={"scales": [1, 1]}))
    with pytest.raises(ConfigError, match="augment: jpeg_quality"):
        Trainer(_cfg(data, tmp_path, augment={"jpeg": 0.5, "jpeg_quality": [95, 30]}))


class VirtualClock:
    """A simulated machine: each forward pass of a net costs ``train_s`` seconds in training
    mode and ``eval_s`` in eval mode (torch forward hooks), whatever this machine's speed."""

    def __init__(self, train_s: float, eval_s: float) -> None:
        self.now, self.train_s, self.eval_s = 0.0, train_s, eval_s

    def __call__(self) -> float:
        return self.now

    def attach(self, trainer: Trainer) -> list[float]:
        """Hook the trainer's nets; returns the list the LR of every step is appended to."""
        for net in (trainer.model, trainer.ema.module):
            net.register_forward_hook(self._tick)
        lrs: list[float] = []
        trainer.optimizer.register_step_pre_hook(
            lambda opt, *_: lrs.append(opt.param_groups[0]["lr"]))
        return lrs

    def _tick(self, module: torch.nn.Module, *_) -> None:
        self.now += self.train_s if module.training else self.eval_s


def _budget_run(data: str, out: Path, train_s: float, epochs: int = 10, warmup_steps: int = 10
                ) -> tuple[Trainer, VirtualClock, list[float]]:
    clock = VirtualClock(train_s=train_s, eval_s=5.0)
    trainer = Trainer(_cfg(data, out, epochs=epochs, steps_per_epoch=5,
                           warmup_steps=warmup_steps, max_minutes=10.0), clock=clock)
    lrs = clock.attach(trainer)
    trainer.fit()
    return trainer, clock, lrs


@pytest.mark.parametrize("warmup_steps", [10, 25])
def test_slow_machine_warms_up_and_anneals_within_the_budget(data: str, tmp_path: Path,
                                                             warmup_steps: int) -> None:
    # 30 s a step: 10 minutes hold about 19 of the 50 planned steps; a step-based schedule
    # would end far from annealed (with a 25-step warm-up, still warming up).
    trainer, clock, lrs = _budget_run(data, tmp_path, train_s=30.0, warmup_steps=warmup_steps)
    assert 10 <= trainer.step < 25
    assert max(lrs) >= 0.9 * trainer.cfg.lr  # the warm-up finished
    assert lrs[-1] <= 0.05 * trainer.cfg.lr  # and the run ended annealed
    assert 0.8 * 600 <= clock.now <= 600  # final validation included in the 10 minutes
    rows = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert rows[-1]["final"] and rows[-1]["total_s"] <= 600
    assert any(r.get("validation") for r in rows)  # validated between steps on the way
    validated = [r["mAP50_95"] for r in rows if r.get("mAP50_95") is not None]
    best = load_checkpoint(tmp_path / "best.pt")["meta"]
    assert best["metrics"]["mAP50_95"] == max(validated) and best["step"] <= trainer.step
    assert (tmp_path / "best.pt").is_file() and (tmp_path / "last.pt").is_file()


def test_fast_machine_ends_by_steps_annealed(data: str, tmp_path: Path) -> None:
    trainer, clock, lrs = _budget_run(data, tmp_path, train_s=0.1, epochs=4)
    assert trainer.step == 20 and len(lrs) == 20
    assert lrs[-1] <= 0.05 * trainer.cfg.lr and clock.now < 60


def test_budget_that_cannot_hold_the_final_validation_is_refused(data: str,
                                                                 tmp_path: Path) -> None:
    clock = VirtualClock(train_s=1.0, eval_s=200.0)  # a validation of 2 images: 400 s
    trainer = Trainer(_cfg(data, tmp_path, max_minutes=10.0), clock=clock)
    clock.attach(trainer)
    with pytest.raises(ValueError, match="--max-minutes 10 cannot hold the validation of 2"):
        trainer.fit()
    assert trainer.step == 0


def test_summary_line_says_what_the_run_kept(data: str, tmp_path: Path) -> None:
    trainer = Trainer(_cfg(data, tmp_path))
    trainer.fit()
    line = trainer.summary()
    assert "\n" not in line and str(tmp_path / "best.pt") in line
    best = load_checkpoint(tmp_path / "best.pt")["meta"]["metrics"]
    assert f"mAP50 {best['mAP50']:.3f}" in line and "AP_small" in line
    point = best["operating_point"]
    assert point is None or f"score >= {point['score_threshold']:.2f}" in line


def test_large_images_are_tiled_for_training_and_sliced_for_validation(
        tmp_path: Path) -> None:
    write_dataset(tmp_path / "big", SynthConfig(width=2000, height=1500, objects=(4, 6),
                                                background_prob=0.0),
                  images=3, seed=3, val_fraction=0.34)
    trainer = Trainer(_cfg(str(tmp_path / "big" / "data.yaml"), tmp_path / "run",
                           eval_tile_size=320, object_tile_prob=1.0, threads=1))
    images, targets = next(iter(trainer._loader()))
    assert images.shape == (2, 3, 64, 64)  # full-resolution crops, never a downscaled frame
    assert all(len(t["boxes"]) >= 1 for t in targets)  # each placed around an object
    trainer.fit()
    metrics = load_checkpoint(tmp_path / "run" / "last.pt")["meta"]["metrics"]
    assert metrics["images"] == 1 and metrics["objects"] >= 4
