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
from models.train import TrainConfig, Trainer, WarmupCosine, train


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
    model, ckpt = model_from_checkpoint(path)
    assert ckpt["meta"]["epoch"] == 2 and ckpt["meta"]["names"][0] == "drone"
    assert ckpt["meta"]["recipe"]["model"] == "specknet-pico"
    rows = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows if not r.get("final")] == [1, 2]
    assert "mAP50" in rows[-1] and all(torch.isfinite(torch.tensor(r["loss"])) for r in rows[:2])
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


def test_schedule_warms_up_then_anneals_by_steps() -> None:
    schedule = WarmupCosine(warmup=10, total=110)
    assert schedule(0) == 0.1 and schedule(9) == 1.0
    assert schedule(60) == pytest.approx(0.5)
    assert schedule(110) == pytest.approx(0.0) and schedule(500) == pytest.approx(0.0)


def test_schedule_with_a_time_budget_anneals_by_the_clock() -> None:
    schedule = WarmupCosine(warmup=10, total=10_000, budget_s=60.0)
    assert schedule(20) > 0.99  # early in both steps and time
    schedule.start -= 30.0  # half the budget has passed, after only 20 of 10,000 steps
    assert schedule(20) == pytest.approx(0.5, abs=0.01)
    schedule.start -= 60.0
    assert schedule(20) == pytest.approx(0.0)


def test_recipe_sets_augmentation_and_loss_options(data: str, tmp_path: Path) -> None:
    trainer = Trainer(_cfg(data, tmp_path, augment={"scale": [1, 1], "hflip": 0.0},
                           loss_config={"size_weight": 0.5, "min_radius": 0}))
    assert trainer.dataset.augment.scale == (1, 1) and trainer.dataset.augment.hflip == 0.0
    assert trainer.criterion.weights == (1.0, 0.5, 1.0) and trainer.criterion.min_radius == 0
    with pytest.raises(TypeError, match="scales"):
        Trainer(_cfg(data, tmp_path, augment={"scales": [1, 1]}))
