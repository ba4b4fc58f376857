"""Network definitions: shapes, variable-rate gains, the teacher's extra blocks, and a
resumable training step."""

from __future__ import annotations

import dataclasses
import sys
import time

import pytest
import torch

from lic_codec.latent.checkerboard import anchor_mask
from lic_codec.models.config import TEACHER, ModelConfig
from lic_codec.models.layers import DeformableResidual, WindowAttentionV2
from lic_codec.models.lic import LicModel


def noise_photos(folder, seed: int, count: int = 1, size: tuple[int, int] = (80, 90)):
    """A folder of ``count`` random RGB PNGs (training data for the tiny training runs)."""
    from PIL import Image

    folder.mkdir()
    rng = torch.Generator().manual_seed(seed)
    for i in range(count):
        arr = (torch.rand(*size, 3, generator=rng) * 255).byte().numpy()
        Image.fromarray(arr).save(folder / f"{i}.png")
    return folder


def test_student_forward_shapes():
    torch.manual_seed(0)
    m = LicModel(ModelConfig(N=16, M=24, Nh=16))
    x = torch.rand(2, 3, 64, 128)
    out = m(x, torch.tensor([0.0, 7.0]))
    assert out["x_hat"].shape == x.shape
    assert out["y"].shape == (2, 24, 4, 8)
    assert out["likelihoods"]["y"].dtype == torch.float32


def test_soft_round_stays_between_neighbours_and_hardens_to_rounding():
    """refine.soft_round (SGA) mixes each value's floor and ceiling: always between them, with
    gradients, and at a low temperature almost always the nearer one."""
    from lic_codec.refine import soft_round

    v = (torch.rand(20000, generator=torch.Generator().manual_seed(1)) - 0.5) * 8
    v.requires_grad_(True)
    g = torch.Generator().manual_seed(0)
    warm = soft_round(v, 0.5, g)
    assert (warm >= torch.floor(v)).all() and (warm <= torch.floor(v) + 1).all()
    assert ((warm - torch.round(warm)).abs() > 0.1).float().mean() > 0.2  # soft when warm
    warm.sum().backward()
    assert torch.isfinite(v.grad).all() and v.grad.abs().sum() > 0
    cold = soft_round(v.detach(), 0.02, g)
    assert ((cold - torch.round(v.detach())).abs() < 1e-3).float().mean() > 0.97


def test_gains_interpolate_between_rate_points():
    m = LicModel(ModelConfig(N=16, M=24, Nh=16))
    g, ig = m.gains(torch.tensor([0.0, 0.5, 1.0, 7.0]))
    assert torch.allclose(g[1], (g[0] * g[2]).sqrt(), rtol=1e-5)  # log-linear midpoint
    assert (g[3] > g[0]).all()  # higher rate position = finer quantization
    assert torch.allclose(m.lmbda(torch.tensor([0.0, 7.0])),
                          torch.tensor([m.cfg.lambdas[0], m.cfg.lambdas[-1]]))


def test_teacher_blocks_and_forward():
    torch.manual_seed(0)
    attn = WindowAttentionV2(16, heads=2, window=4)
    x = torch.randn(1, 16, 6, 9)  # not a multiple of the window
    assert attn(x).shape == x.shape
    dr = DeformableResidual(8)
    assert dr(torch.randn(1, 8, 5, 5)).shape == (1, 8, 5, 5)
    cfg = ModelConfig(arch="teacher", N=16, M=32, Nh=16, res_blocks=1, attn_heads=2,
                      attn_window=4, deformable=True)
    teacher = LicModel(cfg)
    student = LicModel(ModelConfig(N=16, M=32, Nh=16))
    out = teacher(torch.rand(1, 3, 64, 64), torch.tensor([3.0]))
    assert out["x_hat"].shape == (1, 3, 64, 64)
    assert teacher.param_count() > student.param_count()


@pytest.mark.slow
def test_cpu_budget_stops_a_run_and_edge_padding_starts_one(tmp_path):
    """--cpu-hours ends a run at its CPU budget, long before --steps (an ablation's arms at
    equal compute); --edge-pad replicate turns an --init run's last synthesis layer into the
    edge-padded one, kept in its checkpoint's config."""
    from training.__main__ import main as train
    from training.checkpoint import load_checkpoint

    data = noise_photos(tmp_path / "data", 0, count=3)
    common = ["rd", "--data", str(data), "--patch", "64", "--batch", "2", "--threads", "1",
              "--log-every", "1", "--eval-every", "0"]
    train([*common, "--run", str(tmp_path / "a"), "--steps", "1"])
    train([*common, "--run", str(tmp_path / "b"), "--init", str(tmp_path / "a" / "ckpt.pt"),
           "--edge-pad", "replicate", "--steps", "50", "--cpu-hours", "1e-9"])
    state = load_checkpoint(tmp_path / "b" / "ckpt.pt")
    assert state["step"] == 1
    assert state["config"]["edge_pad"] == "replicate"
    assert load_checkpoint(tmp_path / "a" / "ckpt.pt")["config"]["edge_pad"] == "zeros"


def test_training_resumes_exactly(tmp_path):
    """Two runs of 4 steps == one run of 2 steps resumed for 2 more (same data order)."""
    from training.__main__ import main as train

    data = noise_photos(tmp_path / "data", 0, count=3)
    common = ["rd", "--data", str(data), "--patch", "64", "--batch", "2", "--threads", "1",
              "--log-every", "1"]
    torch.manual_seed(0)
    train([*common, "--run", str(tmp_path / "a"), "--steps", "4"])
    torch.manual_seed(0)
    train([*common, "--run", str(tmp_path / "b"), "--steps", "2"])
    train([*common, "--run", str(tmp_path / "b"), "--steps", "4"])
    log_a = (tmp_path / "a" / "log.tsv").read_text().splitlines()
    log_b = (tmp_path / "b" / "log.tsv").read_text().splitlines()
    assert len(log_a) == len(log_b) == 5
    rows_a = [r.split("\t")[:5] for r in log_a[1:]]
    rows_b = [r.split("\t")[:5] for r in log_b[1:]]
    assert rows_a[:2] == rows_b[:2]
    # Adam's moments are stored in bfloat16, so the resumed steps agree closely, not exactly
    for ra, rb in zip(rows_a[2:], rows_b[2:]):
        assert abs(float(ra[1]) - float(rb[1])) <= 0.01 * abs(float(ra[1]))
    # CPU time is counted in the checkpoints
    from training.checkpoint import load_checkpoint

    first = torch.load(tmp_path / "b" / "ckpt.pt", weights_only=False)
    assert first["step"] == 4 and first["cpu_seconds"] > 0
    assert load_checkpoint(tmp_path / "a" / "ckpt.pt")["cpu_seconds"] > 0
    # and logged: the run's CPU seconds, resumes included, as the last column
    assert log_b[0].endswith("\twall_s\tcpu_s")
    cpu = [float(r.split("\t")[-1]) for r in log_b[1:]]
    assert cpu == sorted(cpu) and cpu[-1] <= first["cpu_seconds"] + 1
    # a log begun without that column goes on without it (its rows keep their width)
    old = tmp_path / "b" / "log.tsv"
    old.write_text("\n".join(["\t".join(r.split("\t")[:-1]) for r in log_b]) + "\n")
    train([*common, "--run", str(tmp_path / "b"), "--steps", "5"])
    widths = {len(r.split("\t")) for r in old.read_text().splitlines()}
    assert widths == {len(log_b[0].split("\t")) - 1}


def test_adopted_arm_continues_the_trunk(tmp_path):
    """An arm branched with --init from the trunk's checkpoint becomes the trunk: steps, CPU
    time and lineage add up, its log rows follow the trunk's, and the trunk resumes from it."""
    import shutil

    from training.__main__ import main as train
    from training.adopt import adopt
    from training.checkpoint import lineage, load_checkpoint

    data = noise_photos(tmp_path / "data", 0, count=2)
    common = ["rd", "--data", str(data), "--patch", "64", "--batch", "1", "--threads", "1",
              "--log-every", "1", "--eval-every", "0"]
    trunk, arm = tmp_path / "trunk", tmp_path / "arm"
    train([*common, "--run", str(trunk), "--steps", "2"])
    shutil.copy(trunk / "ckpt.pt", tmp_path / "start.pt")
    train([*common, "--run", str(arm), "--init", str(tmp_path / "start.pt"), "--steps", "3"])
    before = lineage(load_checkpoint(arm / "ckpt.pt"))
    with pytest.raises(SystemExit, match="branch point"):
        adopt(trunk, arm)  # the other way round: the trunk did not branch from the arm
    assert adopt(arm, trunk) == 5
    after = load_checkpoint(trunk / "ckpt.pt")
    assert after["optimizer"] is not None  # opt.pt moved along, at the new step
    assert lineage(after)["steps"] == before["steps"] == 5
    assert lineage(after)["cpu_seconds"] == pytest.approx(before["cpu_seconds"])
    steps = [int(r.split("\t")[0]) for r in (trunk / "log.tsv").read_text().splitlines()[1:]]
    assert steps == [1, 2, 3, 4, 5]
    train([*common, "--run", str(trunk), "--steps", "6"])
    assert load_checkpoint(trunk / "ckpt.pt")["step"] == 6


@pytest.mark.slow
def test_branch_merges_back_into_the_trunk(tmp_path):
    """A branch trains on other crops from the trunk's step; merging at a common step gives
    the mean weights, averages and Adam moments, adds the branch's CPU time since it
    branched, and the trunk resumes from the result."""
    from training.__main__ import main as train
    from training.checkpoint import load_checkpoint
    from training.merge import branch, merge

    data = noise_photos(tmp_path / "data", 0, count=3)
    common = ["rd", "--data", str(data), "--patch", "64", "--batch", "1", "--threads", "1",
              "--log-every", "1", "--eval-every", "0", "--ema", "0.9"]
    trunk, side = tmp_path / "trunk", tmp_path / "side"
    train([*common, "--run", str(trunk), "--steps", "2"])
    with pytest.raises(SystemExit, match="other crops"):
        branch(trunk, side, seed=0)
    assert branch(trunk, side, seed=5) == 2
    train([*common, "--run", str(trunk), "--steps", "4"])
    train([*common, "--run", str(side), "--steps", "3"])
    with pytest.raises(SystemExit, match="one step"):
        merge(trunk, [side])
    train([*common, "--run", str(side), "--steps", "4"])
    a, b = load_checkpoint(trunk / "ckpt.pt"), load_checkpoint(side / "ckpt.pt")
    assert b["branch"]["step"] == 2 and b["seed"] == 5  # kept across the branch's resumes
    w = "g_a.0.weight"
    assert not torch.equal(a["model"][w], b["model"][w])  # other crops, other weights
    merged = merge(trunk, [side])
    assert torch.allclose(merged["model"][w], (a["model"][w] + b["model"][w]) / 2)
    assert torch.allclose(merged["ema"][w], (a["ema"][w] + b["ema"][w]) / 2)
    assert merged["cpu_seconds"] == pytest.approx(
        a["cpu_seconds"] + b["cpu_seconds"] - b["branch"]["cpu_seconds"])
    resumed = load_checkpoint(trunk / "ckpt.pt")
    assert resumed["optimizer"] is not None and "branch" not in resumed
    m0, m1, m = (s["optimizer"]["state"][0]["exp_avg"] for s in (a, b, resumed))
    assert torch.allclose(m, (m0 + m1) / 2, rtol=1e-2, atol=1e-12)  # bfloat16 moments
    train([*common, "--run", str(trunk), "--steps", "5"])
    assert load_checkpoint(trunk / "ckpt.pt")["step"] == 5


def test_half_checkpoint_resumes(tmp_path):
    """The committed float16 copy of a checkpoint is half the size, its weights within
    float16 rounding of the original, and training resumes from it."""
    from training.__main__ import main as train
    from training.checkpoint import half_copy

    data = noise_photos(tmp_path / "data", 3)
    common = ["rd", "--data", str(data), "--patch", "64", "--batch", "1", "--threads", "1",
              "--eval-every", "0", "--run", str(tmp_path / "r")]
    train([*common, "--steps", "1"])
    ckpt = tmp_path / "r" / "ckpt.pt"
    full = torch.load(ckpt, weights_only=False)["model"]
    before, after = half_copy(ckpt)
    assert after < 0.6 * before
    half = torch.load(ckpt, weights_only=False)["model"]
    for k, v in full.items():
        if v.is_floating_point():
            assert torch.allclose(half[k].float(), v, rtol=1e-3, atol=1e-7), k
    assert half["g_a.0.weight"].dtype == torch.float16
    # tiny constants (the entropy models' 1e-9 likelihood bounds) must not flush to zero:
    # a zero bound made the rate infinite on the first resume from a float16 copy
    bound = "latent.gaussian_conditional.likelihood_lower_bound.bound"
    assert half[bound].dtype == torch.float32 and torch.equal(half[bound], full[bound])
    train([*common, "--steps", "2"])
    resumed = torch.load(ckpt, weights_only=False)
    assert resumed["step"] == 2 and resumed["model"]["g_a.0.weight"].dtype == torch.float32

    # average only: the moving average becomes the model (a quarter of the fp32 bytes)
    train([*common, "--steps", "4", "--ema", "0.5"])
    avg = torch.load(ckpt, weights_only=False)["ema"]
    before, after = half_copy(ckpt, average_only=True)
    assert after < 0.35 * before
    small = torch.load(ckpt, weights_only=False)
    assert "ema" not in small and small["averaged_at"] == 4
    assert torch.allclose(small["model"]["g_a.0.weight"].float(), avg["g_a.0.weight"], rtol=1e-3)
    train([*common, "--steps", "5", "--ema", "0.5"])
    assert torch.load(ckpt, weights_only=False)["step"] == 5


def test_gdn_matches_compressai():
    """Our GDN (used so coding never imports CompressAI) computes what CompressAI's does and
    loads its parameters."""
    from compressai.layers import GDN as RefGDN

    from lic_codec.models.layers import GDN

    torch.manual_seed(0)
    for inverse in (False, True):
        ref = RefGDN(8, inverse=inverse)
        with torch.no_grad():
            ref.beta.uniform_(0.5, 2)
            ref.gamma.uniform_(0, 0.5)
        ours = GDN(8, inverse=inverse)
        ours.load_state_dict({k: v for k, v in ref.state_dict().items() if "_reparam" not in k})
        x = torch.randn(2, 8, 5, 7)
        assert torch.allclose(ours(x), ref(x), atol=1e-6)
        # the coding path (no autograd, channels-last: one matrix product) agrees too
        x_cl = x.contiguous(memory_format=torch.channels_last)
        with torch.no_grad():
            fast = ours(x_cl)
        assert fast.is_contiguous(memory_format=torch.channels_last)
        assert torch.allclose(fast, ref(x), atol=1e-6)


@pytest.mark.slow
def test_coding_path_does_not_import_compressai(tmp_path):
    import subprocess
    import sys

    from conftest import make_tiny_weights

    make_tiny_weights(tmp_path, seed=0)
    code = (
        "import sys, numpy as np\n"
        "from PIL import Image\n"
        "from lic_codec.codec import Codec\n"
        f"c = Codec(weights=__import__('pathlib').Path({str(tmp_path)!r}))\n"
        "im = Image.fromarray((np.arange(48*40*3) % 251).astype('uint8').reshape(40, 48, 3))\n"
        "c.decode(c.encode(im))\n"
        "assert 'compressai' not in sys.modules, 'compressai was imported'\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_deformable_convolution_matches_torchvision():
    from torchvision.ops import deform_conv2d

    from lic_codec.models.layers import deform_conv3x3

    torch.manual_seed(0)
    x = torch.randn(2, 5, 7, 9)
    offsets = torch.randn(2, 18, 7, 9) * 1.5  # many taps land between pixels or outside
    w, b = torch.randn(4, 5, 3, 3), torch.randn(4)
    assert torch.allclose(deform_conv3x3(x, offsets, w, b),
                          deform_conv2d(x, offsets, w, b, padding=1), atol=1e-4)


def test_training_evaluates_with_the_real_codec(tmp_path):
    from training.__main__ import main as train

    data = noise_photos(tmp_path / "data", 1, size=(70, 80))
    train(["rd", "--data", str(data), "--patch", "64", "--batch", "1", "--threads", "1",
           "--steps", "2", "--eval-every", "2", "--eval-data", str(data), "--eval-images", "1",
           "--run", str(tmp_path / "r")])
    rows = (tmp_path / "r" / "eval.tsv").read_text().splitlines()
    assert rows[0].startswith("step\tquality\tbpp\tpsnr")
    assert len(rows) == 6 and all(r.startswith("2\t") for r in rows[1:])  # five qualities
    assert all(float(r.split("\t")[2]) > 0 for r in rows[1:])


def test_new_run_takes_its_shape_from_the_flags_and_keeps_it(tmp_path):
    """--width/--latent/--entropy-width shape a new network; a resume keeps it, and asking a
    resumed run for another shape is an error, not a silent rebuild."""
    from training.__main__ import main as train

    data = noise_photos(tmp_path / "data", 1, size=(70, 80))
    common = ["rd", "--data", str(data), "--patch", "64", "--batch", "1", "--threads", "1",
              "--eval-every", "0", "--run", str(tmp_path / "r")]
    shape = ["--width", "16", "--latent", "24", "--entropy-width", "16"]
    train([*common, "--steps", "1", *shape])
    cfg = torch.load(tmp_path / "r" / "ckpt.pt", weights_only=False)["config"]
    assert (cfg["N"], cfg["M"], cfg["Me"]) == (16, 24, 16)
    train([*common, "--steps", "2", *shape])  # the same shape again resumes
    assert torch.load(tmp_path / "r" / "ckpt.pt", weights_only=False)["step"] == 2
    with pytest.raises(SystemExit, match="new network"):
        train([*common, "--steps", "3", "--latent", "32"])
    with pytest.raises(SystemExit, match="exceeds"):
        train([*common[:-1], str(tmp_path / "bad"), "--steps", "1", "--latent", "16",
               "--entropy-width", "24"])


def test_rate_modulation_starts_as_the_same_network_and_codes(tmp_path):
    """--rate-modulation on a trained checkpoint adds decoder scales at 1 (the same function),
    trains them with the gains, and the exported network codes real files."""
    import dataclasses

    from lic_codec.codec import Codec
    from training.__main__ import main as train
    from training.checkpoint import load_checkpoint
    from training.export import main as export

    plain = LicModel(ModelConfig()).eval()
    mod = LicModel(dataclasses.replace(ModelConfig(), rate_modulation=True)).eval()
    mod.load_state_dict({**plain.state_dict(), "log_dec_scale": mod.log_dec_scale.detach()})
    x, t = torch.rand(1, 3, 64, 64), torch.tensor([4.5])
    with torch.no_grad():
        assert torch.equal(plain(x, t)["x_hat"], mod(x, t)["x_hat"])

    data = noise_photos(tmp_path / "data", 5, size=(70, 80))
    common = ["rd", "--data", str(data), "--patch", "64", "--batch", "2", "--threads", "1",
              "--eval-every", "0", "--gain-lr-scale", "30"]
    train([*common, "--run", str(tmp_path / "a"), "--steps", "1"])
    train([*common, "--run", str(tmp_path / "b"), "--init", str(tmp_path / "a" / "ckpt.pt"),
           "--rate-modulation", "--steps", "2"])
    state = load_checkpoint(tmp_path / "b" / "ckpt.pt")
    assert state["config"]["rate_modulation"] is True
    assert state["model"]["log_dec_scale"].abs().max() > 0  # learned
    export([str(tmp_path / "b" / "ckpt.pt"), "--name", "student", "--out-dir",
            str(tmp_path / "w")])
    codec = Codec(weights=tmp_path / "w")
    from PIL import Image

    im = Image.open(next(data.glob("*.png")))
    assert codec.decode(codec.encode(im, quality=90)).size == im.size


@pytest.mark.slow
def test_weight_average_is_kept_resumed_halved_and_exported(tmp_path):
    """--ema keeps an average of the weights beside them: it continues across a resume, the
    float16 copy keeps it, and train.export ships it unless --raw."""
    from training.__main__ import main as train
    from training.checkpoint import half_copy
    from training.ema import WeightAverage
    from training.export import main as export

    net = torch.nn.Linear(2, 1)
    avg = WeightAverage(net, 0.75)
    with torch.no_grad():
        start = net.weight.clone()
        net.weight.add_(4.0)
    avg.update()
    assert torch.allclose(avg.state_dict()["weight"], start + 1.0)  # 0.75 a + 0.25 w

    data = noise_photos(tmp_path / "data", 8, size=(70, 80))
    common = ["rd", "--data", str(data), "--patch", "64", "--batch", "1", "--threads", "1",
              "--eval-every", "0", "--lr", "1e-3", "--ema", "0.5", "--run", str(tmp_path / "r")]
    train([*common, "--steps", "2"])
    ckpt = tmp_path / "r" / "ckpt.pt"
    first = torch.load(ckpt, weights_only=False)
    params = dict(LicModel(ModelConfig.from_dict(first["config"])).named_parameters())
    assert first["ema"].keys() == params.keys()
    moved = [n for n in params if not torch.equal(first["ema"][n], first["model"][n])]
    assert moved  # the average lags the weights
    train([*common, "--steps", "3"])
    state = torch.load(ckpt, weights_only=False)
    n = moved[0]  # resumed, the average went on from its saved value, not the weights
    assert torch.allclose(state["ema"][n], 0.5 * first["ema"][n] + 0.5 * state["model"][n])
    half_copy(ckpt)
    assert torch.load(ckpt, weights_only=False)["ema"][n].dtype == torch.float16
    state = torch.load(ckpt, weights_only=False)
    for flag, source in (([], "ema"), (["--raw"], "model")):
        out = tmp_path / ("w" + source)
        export([str(ckpt), "--name", "student", "--out-dir", str(out), *flag])
        shipped = torch.load(out / "student.pt", weights_only=False)["model"]
        assert torch.equal(shipped[n].float(), state[source][n].float()), source
    # a branch (--init) starts from the average too, unless --init-raw
    for flag, source in (([], "ema"), (["--init-raw"], "model")):
        branch = tmp_path / ("b" + source)
        train([*common[:-1], str(branch), "--steps", "0", "--init", str(ckpt), *flag])
        started = torch.load(branch / "ckpt.pt", weights_only=False)["model"]
        assert torch.equal(started[n].float(), state[source][n].float()), source
    # the run itself can go on from its average (--from-average): same step, average weights
    train([*common, "--steps", str(state["step"]), "--from-average"])
    restarted = torch.load(ckpt, weights_only=False)
    assert restarted["step"] == state["step"]
    apart = [m for m in params if not torch.equal(state["model"][m], state["ema"][m])]
    assert apart
    for m in apart:
        assert torch.equal(restarted["model"][m].float(), state["ema"][m].float()), m
    plain = [*common[:-4], "--run", str(tmp_path / "plain"), "--steps", "1"]  # no --ema
    train(plain)
    with pytest.raises(SystemExit, match="no moving average"):
        train([*plain, "--from-average"])
    with pytest.raises(SystemExit, match="resumes a run"):
        train([*common[:-1], str(tmp_path / "new"), "--steps", "1", "--from-average"])


@pytest.mark.slow
def test_two_workers_train_as_one_process_with_their_joint_batch(tmp_path):
    """--workers 2 --batch 1 takes the step one process takes with --batch 2 (the same crops,
    the gradients averaged), not the step of worker 0's crop alone."""
    from training.__main__ import main as train

    data = noise_photos(tmp_path / "data", 9, size=(100, 120))
    common = ["rd", "--data", str(data), "--patch", "64", "--threads", "1", "--eval-every",
              "0", "--lr", "1e-3", "--quant", "hard", "--precision", "fp32", "--seed", "5"]
    train([*common, "--run", str(tmp_path / "init"), "--steps", "0", "--batch", "1"])
    init = str(tmp_path / "init" / "ckpt.pt")
    weights = {}
    for name, flags in (("two", ["--workers", "2", "--batch", "1"]), ("joint", ["--batch", "2"]),
                        ("alone", ["--batch", "1"])):
        train([*common, "--run", str(tmp_path / name), "--init", init, "--steps", "2",
               "--log-every", "1", *flags])
        state = torch.load(tmp_path / name / "ckpt.pt", weights_only=False)
        assert state["step"] == 2
        weights[name] = torch.cat([v.float().flatten() for k, v in sorted(state["model"].items())
                                   if v.is_floating_point()])
    assert len((tmp_path / "two" / "log.tsv").read_text().splitlines()) == 3  # worker 0's log
    same = (weights["two"] - weights["joint"]).abs().mean()
    other = (weights["two"] - weights["alone"]).abs().mean()
    assert same < 0.05 * other, (same, other)


def test_a_worker_that_cannot_start_is_an_error_not_a_hang(tmp_path, monkeypatch):
    from training.__main__ import main as train

    data = noise_photos(tmp_path / "data", 9, size=(100, 120))
    monkeypatch.setattr(sys, "executable", "/bin/false")  # the helper exits at once, status 1
    t0 = time.monotonic()
    with pytest.raises(SystemExit, match="worker 1 exited with status 1 before it started"):
        train(["rd", "--data", str(data), "--patch", "64", "--steps", "1", "--workers", "2",
               "--run", str(tmp_path / "r")])
    assert time.monotonic() - t0 < 60
    assert not (tmp_path / "r" / "ckpt.pt").exists()


@pytest.mark.slow
def test_distillation_stages_run_and_resume(tmp_path):
    from training.__main__ import main as train

    data = noise_photos(tmp_path / "data", 2, size=(70, 80))
    common = ["--data", str(data), "--patch", "64", "--batch", "2", "--threads", "2",
              "--eval-every", "0", "--log-every", "1"]
    train(["rd", "--arch", "teacher", "--steps", "1", "--run", str(tmp_path / "t"), *common])
    teacher = str(tmp_path / "t" / "ckpt.pt")
    for stage in ("a", "b"):
        train(["distill", "--teacher", teacher, "--stage", stage, "--steps", "2",
               "--run", str(tmp_path / stage), *common])
        log = (tmp_path / stage / "log.tsv").read_text().splitlines()
        assert log[0].split("\t")[:8] == ["step", "loss", "bpp", "psnr", "l1", "feat", "latent",
                                          "recon"]
        assert len(log) == 3
    row = dict(zip(log[0].split("\t"), log[-1].split("\t")))
    assert float(row["latent"]) > 0 and float(row["recon"]) > 0
    # a stage started with --init carries the previous stage's adapters, not fresh ones
    train(["distill", "--teacher", teacher, "--stage", "b", "--steps", "0",
           "--init", str(tmp_path / "a" / "ckpt.pt"), "--run", str(tmp_path / "b0"), *common])
    a_ad = torch.load(tmp_path / "a" / "ckpt.pt", weights_only=False)["distiller"]
    b_ad = torch.load(tmp_path / "b0" / "ckpt.pt", weights_only=False)["distiller"]
    assert a_ad.keys() == b_ad.keys() and all(torch.equal(a_ad[k], b_ad[k]) for k in a_ad)
    # resume stage b, then start stage c from its weights
    train(["distill", "--teacher", teacher, "--stage", "b", "--steps", "3",
           "--run", str(tmp_path / "b"), *common])
    assert len((tmp_path / "b" / "log.tsv").read_text().splitlines()) == 4
    train(["rd", "--init", str(tmp_path / "b" / "ckpt.pt"), "--steps", "1",
           "--run", str(tmp_path / "c"), *common])
    # the training behind c's weights counts b's 3 steps, and survives a resume of c
    # after b's file moved on
    from training.checkpoint import lineage
    train(["distill", "--teacher", teacher, "--stage", "b", "--steps", "5",
           "--run", str(tmp_path / "b"), *common])
    train(["rd", "--steps", "2", "--run", str(tmp_path / "c"), *common])
    c = torch.load(tmp_path / "c" / "ckpt.pt", weights_only=False)
    behind = lineage(c, "c")
    assert behind["steps"] == 3 + 2
    assert behind["runs"] == [str(tmp_path / "b" / "ckpt.pt"), "c"]


@pytest.mark.slow
def test_laplace_anchor_model_codes_and_matches_its_likelihood(tmp_path):
    """A network with Laplacian anchors: tables, coding round trip, and real file size close
    to its own estimated rate."""
    import numpy as np
    from PIL import Image

    from lic_codec.codec import Codec
    from lic_codec.entropy.tables import conditional_tables
    from lic_codec.latent.checkerboard import SCALE_TABLE
    from training.export import export_model

    for family in ("gaussian", "laplace"):
        t = conditional_tables(SCALE_TABLE[:3], family)
        assert (t.counts.sum(1) == 1 << 16).all()
    torch.manual_seed(0)
    m = LicModel(ModelConfig(N=16, M=24, Nh=16, anchor_dist="laplace")).eval()
    export_model(m, tmp_path / "student.pt")
    codec = Codec(weights=tmp_path)
    assert codec.model.latent.dists == {"anchor": "laplace", "nonanchor": "gaussian"}
    rng = np.random.default_rng(0)
    im = Image.fromarray((rng.random((64, 128, 3)) * 60 + 90).astype(np.uint8))
    data = codec.encode(im, quality=60)
    assert codec.decode(data).size == (128, 64)
    x = torch.from_numpy(np.asarray(im).copy()).permute(2, 0, 1)[None].float() / 255
    with torch.no_grad():
        lik = m(x, torch.tensor([60 / 100 * 7]))["likelihoods"]
    est_bits = sum(float(-torch.log2(v).sum()) for v in lik.values())
    assert abs(8 * len(data) - est_bits) < 0.15 * est_bits + 8 * 200  # header + rANS overhead


def test_spike_guard_skips_outliers_only():
    from training.guard import SpikeGuard

    g = SpikeGuard(factor=10.0, warmup=5)
    assert all(g.ok(1.0 + 0.1 * (i % 3)) for i in range(20))
    assert not g.ok(50.0)  # far above the running mean
    assert g.ok(5.0)  # high but within the factor
    assert not g.ok(float("nan"))
    assert g.skipped == 2 and 1.0 < g.mean < 1.5
    early = SpikeGuard(factor=10.0, warmup=5)
    assert early.ok(1.0) and early.ok(100.0)  # no skipping before the warm-up


def test_learning_rate_schedules():
    from training.__main__ import learning_rate

    assert learning_rate(0, 1e-3, [], 0) == pytest.approx(2e-6)  # warm-up from 1/500
    assert learning_rate(600, 1e-3, [1000], 0) == pytest.approx(1e-3)
    assert learning_rate(1000, 1e-3, [1000], 0) == pytest.approx(1e-4)
    cos = [learning_rate(s, 1e-3, [], 0, (1e-5, 10_000)) for s in range(500, 10_001, 500)]
    assert all(a > b for a, b in zip(cos, cos[1:]))  # strictly falling after the warm-up
    assert cos[9] == pytest.approx((1e-3 + 1e-5) / 2)  # half-way: the mean of both ends
    assert cos[-1] == pytest.approx(1e-5)
    assert learning_rate(20_000, 1e-3, [], 0, (1e-5, 10_000)) == pytest.approx(1e-5)
    # a resume without optimizer state warms up again towards the schedule's value there
    assert learning_rate(5_000, 1e-3, [], 5_000, (1e-5, 10_000)) < 1e-5


@pytest.mark.parametrize("edge", ["zeros", "replicate"])
@pytest.mark.parametrize("k,s,p,op", [(5, 2, 2, 1), (3, 2, 1, 1), (4, 2, 1, 0), (6, 3, 2, 1)])
def test_subpixel_rewrite_equals_the_transposed_convolution(k, s, p, op, edge):
    from lic_codec.models.layers import EdgeDeconv
    from lic_codec.models.subpixel import SubpixelConv

    torch.manual_seed(k * 10 + s)
    cls = EdgeDeconv if edge == "replicate" else torch.nn.ConvTranspose2d
    deconv = cls(8, 3, k, s, p, op)
    x = torch.randn(2, 8, 7, 9)
    with torch.no_grad():
        ref = deconv(x)
        out = SubpixelConv(deconv)(x)
    assert out.shape == ref.shape == (2, 3, 7 * s, 9 * s)
    assert torch.allclose(out, ref, atol=1e-5)


def test_edge_padded_synthesis_gives_a_flat_colour_at_its_corners():
    """Issue 42 item 7: with zeros beyond the edge, the last layer's corner pixels of a flat
    input differ from the interior's; the replicate-padded layer (the same parameters, so a
    trained network's weights load into it) gives every pixel of a phase the same value, and
    a network configured with it keeps it through a weights file."""
    from lic_codec.models.layers import deconv

    torch.manual_seed(0)
    zeros = deconv(8, 3)
    edge = deconv(8, 3, edge_pad="replicate")
    edge.load_state_dict(zeros.state_dict())
    flat = torch.ones(1, 8, 6, 6)
    with torch.no_grad():
        z, e = zeros(flat), edge(flat)
    interior = z[..., 4:6, 4:6]  # one pixel of each of the 2x2 phases
    assert torch.allclose(e[..., 4:6, 4:6], interior)
    assert torch.allclose(e[..., :2, :2], interior, atol=1e-6)
    assert not torch.allclose(z[..., :2, :2], interior, atol=1e-3)
    assert torch.allclose(z[..., 4:-4, 4:-4], e[..., 4:-4, 4:-4], atol=1e-6)  # only the edges

    cfg = dataclasses.replace(ModelConfig(N=16, M=16, Nh=16), edge_pad="replicate")
    model = LicModel(cfg)
    again = LicModel.from_state_dict(cfg.to_dict(), model.state_dict())
    assert type(again.g_s[-1]).__name__ == "EdgeDeconv"
    assert ModelConfig.from_dict({k: v for k, v in cfg.to_dict().items()
                                  if k != "edge_pad"}).edge_pad == "zeros"  # older files


def test_subpixel_rewrite_refuses_other_shapes():
    from lic_codec.models.subpixel import SubpixelConv

    with pytest.raises(ValueError):
        SubpixelConv(torch.nn.ConvTranspose2d(8, 3, 5, 2, 2, 0))  # output 2H - 1


@pytest.mark.slow
@pytest.mark.parametrize("anchor", ["gaussian", "laplace"])
def test_hard_quantization_trains_on_what_the_coder_codes(anchor):
    """With ``hard`` the training forward gives the eval forward's rounded latent and
    likelihoods exactly (the noise proxy does not), and rate gradients still reach the
    analysis transform through the straight-through rounding."""
    torch.manual_seed(0)
    m = LicModel(ModelConfig(N=16, M=24, Nh=16, anchor_dist=anchor))
    x, t = torch.rand(2, 3, 128, 128), torch.tensor([0.0, 7.0])
    m.eval()
    with torch.no_grad():
        ref = m(x, t)["likelihoods"]
    m.train()
    noisy = m(x, t)["likelihoods"]
    assert not torch.allclose(noisy["y"], ref["y"])
    m.latent.hard = True
    out = m(x, t)
    lik = out["likelihoods"]
    assert torch.allclose(lik["z"], ref["z"], rtol=1e-5, atol=1e-7)
    # anchors exactly; non-anchors up to the channels eval skips (all zero after rounding:
    # the coder zeroes them, which changes the context of the non-anchors slightly)
    anchors = anchor_mask(*lik["y"].shape[2:])
    assert torch.allclose(lik["y"][..., anchors[0, 0]], ref["y"][..., anchors[0, 0]],
                          rtol=1e-5, atol=1e-7)
    bits = [-v.log2().sum().item() for v in (lik["y"], ref["y"], noisy["y"])]
    assert abs(bits[0] - bits[1]) < 0.01 * bits[1] < abs(bits[2] - bits[1])
    rate = -out["likelihoods"]["y"].log().sum()
    rate.backward()
    assert m.g_a[0].weight.grad.abs().sum() > 0
    assert m.latent.params_nonanchor[0].weight.grad.abs().sum() > 0


def test_freeze_analysis_trains_only_the_decoder_side(tmp_path):
    from training.__main__ import main as train

    data = noise_photos(tmp_path / "data", 2)
    common = ["rd", "--data", str(data), "--patch", "64", "--batch", "2", "--threads", "1",
              "--eval-every", "0"]
    torch.manual_seed(0)
    train([*common, "--run", str(tmp_path / "a"), "--steps", "1"])
    before = torch.load(tmp_path / "a" / "ckpt.pt", weights_only=False)["model"]
    train([*common, "--run", str(tmp_path / "b"), "--steps", "3", "--lr", "1e-3",
           "--init", str(tmp_path / "a" / "ckpt.pt"), "--freeze-analysis"])
    after = torch.load(tmp_path / "b" / "ckpt.pt", weights_only=False)["model"]
    for k in ("g_a.0.weight", "latent.h_a.0.weight", "log_gain"):
        assert torch.equal(before[k], after[k]), k
    for k in ("g_s.0.weight", "log_inv_gain"):
        assert not torch.equal(before[k], after[k]), k
    entropy_side = [k for k in before if k.startswith(("latent.h_s.", "latent.params_"))]
    assert any(not torch.equal(before[k], after[k]) for k in entropy_side)


def test_precision_choice(monkeypatch):
    """auto picks bf16 only where the CPU has native bf16; explicit choices and --fp32 win."""
    from training import __main__ as trainer

    def chosen(*flags):
        return trainer.use_bf16(trainer.parse_args(["rd", "--run", "r", *flags]))

    for native in (True, False):
        monkeypatch.setattr(trainer, "cpu_has_bf16", lambda: native)
        assert chosen() is native
        assert chosen("--precision", "bf16") is True
        assert chosen("--precision", "fp32") is False
        assert chosen("--fp32") is False


def test_area_sampling_draws_crops_in_proportion_to_image_size(tmp_path):
    """'area' picks a 4x larger photo's crops ~4x as often; 'image' picks both alike; the
    crops of a step stay a pure function of (seed, step)."""
    import numpy as np
    from PIL import Image

    from training.data import CropDataset

    folder = tmp_path / "data"
    folder.mkdir()
    Image.new("RGB", (64, 64), (0, 0, 0)).save(folder / "small.png")  # 1 crop position
    Image.new("RGB", (65, 65), (255, 255, 255)).save(folder / "large.png")  # 4 positions

    def white_share(sampling):
        d = CropDataset(folder, 64, sampling=sampling)
        return float(np.mean([d.batch(8, 0, step).mean() for step in range(100)]))

    assert abs(white_share("area") - 0.8) < 0.05
    assert abs(white_share("image") - 0.5) < 0.07
    d = CropDataset(folder, 64, sampling="area")
    assert torch.equal(d.batch(4, 3, 7), d.batch(4, 3, 7))
    with pytest.raises(ValueError, match="sampling"):
        CropDataset(folder, 64, sampling="pixels")


def test_gain_and_latent_lr_scales_move_only_their_parameters_faster(tmp_path):
    """--gain-lr-scale: the per-quality gain vectors step S times further than with one lr;
    --latent-lr-scale: the hyperprior and entropy networks; every other parameter steps as
    before (Adam's step is about lr per parameter)."""
    from training.__main__ import main as train

    data = noise_photos(tmp_path / "data", 2)
    common = ["rd", "--data", str(data), "--patch", "64", "--batch", "2", "--threads", "1",
              "--eval-every", "0", "--lr", "1e-4"]
    torch.manual_seed(0)
    train([*common, "--run", str(tmp_path / "a"), "--steps", "1"])
    start = torch.load(tmp_path / "a" / "ckpt.pt", weights_only=False)["model"]

    def moved(name, *extra):
        run = tmp_path / name
        train([*common, "--run", str(run), "--steps", "3", "--init",
               str(tmp_path / "a" / "ckpt.pt"), *extra])
        end = torch.load(run / "ckpt.pt", weights_only=False)["model"]
        return {k: (end[k] - start[k]).abs().max().item()
                for k in ("log_gain", "log_inv_gain", "g_s.0.weight",
                          "latent.params_anchor.0.weight", "latent.h_s.0.weight")}

    plain = moved("plain")
    fast = moved("fast", "--gain-lr-scale", "50")
    for k in ("log_gain", "log_inv_gain"):
        assert fast[k] > 10 * plain[k], (k, plain[k], fast[k])
    for k in ("g_s.0.weight", "latent.params_anchor.0.weight"):
        assert fast[k] < 3 * plain[k], (k, plain[k], fast[k])
    both = moved("both", "--gain-lr-scale", "50", "--latent-lr-scale", "20")
    for k in ("latent.params_anchor.0.weight", "latent.h_s.0.weight", "log_gain"):
        assert both[k] > 5 * plain[k], (k, plain[k], both[k])
    assert both["g_s.0.weight"] < 3 * plain["g_s.0.weight"]
    # resuming with another grouping drops the saved Adam state (warm restart), not the run
    train([*common, "--run", str(tmp_path / "plain"), "--steps", "4", "--gain-lr-scale", "5"])
    assert torch.load(tmp_path / "plain" / "ckpt.pt", weights_only=False)["step"] == 4


def test_widened_student_is_a_teacher_with_the_same_function(tmp_path):
    """train.widen: the teacher architecture (extra blocks, more channels and latent channels)
    computing the student's reconstruction, and the same rate on the student's channels."""
    from lic_codec.models.lic import bits_per_pixel
    from training.widen import widen

    torch.manual_seed(0)
    student = LicModel(ModelConfig(N=16, M=24, Nh=16, anchor_dist="laplace")).eval()
    cfg = ModelConfig(arch="teacher", N=32, M=36, Nh=16, res_blocks=1, attn_heads=2,
                      attn_window=4, deformable=True, anchor_dist="laplace")
    teacher = widen(student, cfg).eval()
    assert teacher.param_count() > 2 * student.param_count()
    x, t = torch.rand(1, 3, 128, 192), torch.tensor([7.0])
    with torch.no_grad():
        s, w = student(x, t), teacher(x, t)
    assert (s["y"].round() != 0).any()  # the comparison covers coded symbols
    assert torch.allclose(w["x_hat"], s["x_hat"], atol=1e-5)
    assert torch.allclose(w["y"][:, :24], s["y"], atol=1e-5)
    for k in ("y", "z"):  # the old channels' likelihoods; the new ones are near 1
        assert torch.allclose(w["likelihoods"][k][:, :s["likelihoods"][k].shape[1]],
                              s["likelihoods"][k], atol=1e-5), k
    extra = bits_per_pixel(w["likelihoods"], 128 * 192) - bits_per_pixel(s["likelihoods"],
                                                                        128 * 192)
    assert 0 <= extra.item() < 0.01


def test_teacher_grown_from_a_narrow_entropy_student_keeps_its_function():
    """train.widen into a teacher with a wider latent, wider entropy networks and rate points
    above the student's top: at the student's rate points it computes the student's
    reconstruction and rates even when the student's entropy networks are narrow (Me < M);
    the added rate points code at finer steps than the old top one."""
    from training.widen import revive, teacher_config, widen

    torch.manual_seed(0)
    student = LicModel(ModelConfig(N=16, M=24, Nh=16, Me=12, anchor_dist="laplace")).eval()
    cfg = teacher_config(student.cfg, N=32, M=40, top_lambdas=(0.36, 0.72))
    cfg = dataclasses.replace(cfg, attn_heads=2, attn_window=4)
    assert cfg.num_levels == 10 and cfg.entropy_width == 40
    teacher = widen(student, cfg).eval()
    x = torch.rand(1, 3, 128, 192)
    for t in (0.0, 3.5, 7.0):
        with torch.no_grad():
            s, w = student(x, torch.tensor([t])), teacher(x, torch.tensor([t]))
        assert torch.allclose(w["x_hat"], s["x_hat"], atol=1e-5), t
        for k in ("y", "z"):
            assert torch.allclose(w["likelihoods"][k][:, :s["likelihoods"][k].shape[1]],
                                  s["likelihoods"][k], atol=1e-5), (t, k)
    with torch.no_grad():
        y = [teacher.gains(torch.tensor([t]))[0].flatten()[:24] for t in (7.0, 8.0, 9.0)]
    assert (y[1] > y[0]).all() and (y[2] > y[1]).all()  # higher rates: larger gains
    with pytest.raises(ValueError):
        teacher_config(student.cfg, top_lambdas=(0.1,))  # below the top: not an extension
    revive(teacher, range(24, 40))  # the new latent channels carry a signal from step 0
    with torch.no_grad():
        y = teacher(x, torch.tensor([9.0]))["y"]
    assert y[:, 24:].std() > 0.3 * y[:, :24].std()


def test_added_rate_points_keep_a_student_and_train(tmp_path):
    """widen --latent M --add-lambdas: the same student with rate points above its top one
    (the high-fidelity end); the old points compute the same function, training goes on."""
    from training.__main__ import main as train
    from training.checkpoint import source_model
    from training.widen import main as widen_main

    data = noise_photos(tmp_path / "data", 4)
    common = ["rd", "--data", str(data), "--patch", "64", "--batch", "1", "--threads", "1",
              "--eval-every", "0", "--steps", "1"]
    train([*common, "--run", str(tmp_path / "s")])
    widen_main([str(tmp_path / "s" / "ckpt.pt"), str(tmp_path / "x.pt"), "--latent", "128",
                "--add-lambdas", "0.36", "0.72"])
    (_, a), (_, b) = source_model(tmp_path / "s" / "ckpt.pt"), source_model(tmp_path / "x.pt")
    assert b.cfg.num_levels == a.cfg.num_levels + 2 and b.cfg.lambdas[-1] == 0.72
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(a.eval()(x, torch.tensor([7.0]))["x_hat"],
                              b.eval()(x, torch.tensor([7.0]))["x_hat"], atol=1e-6)
    train([*common, "--run", str(tmp_path / "x"), "--init", str(tmp_path / "x.pt")])
    with pytest.raises(SystemExit):
        widen_main([str(tmp_path / "s" / "ckpt.pt"), str(tmp_path / "y.pt"), "--latent", "128",
                    "--add-lambdas", "0.01"])


def test_rate_points_added_to_a_teacher_keep_its_function(tmp_path):
    """widen --latent M --add-lambdas on a teacher (residual blocks, attention: widen cannot
    map those onto themselves): the old rate points code as before, the new ones finer."""
    from training.checkpoint import save_atomic, source_model
    from training.widen import main as widen_main

    torch.manual_seed(0)
    cfg = dataclasses.replace(TEACHER, N=32, M=24, Nh=16, rate_modulation=True)
    teacher = LicModel(cfg).eval()
    with torch.no_grad():  # trained-looking per-level tables, not the initial ones
        teacher.log_gain.add_(0.1 * torch.randn_like(teacher.log_gain))
        teacher.log_dec_scale.add_(0.1 * torch.randn_like(teacher.log_dec_scale))
    save_atomic({"model": teacher.state_dict(), "step": 7, "wall_seconds": 1.0,
                 "cpu_seconds": 2.0, "config": dataclasses.asdict(cfg), "seed": 0, "args": {}},
                tmp_path / "t.pt")
    widen_main([str(tmp_path / "t.pt"), str(tmp_path / "x.pt"), "--latent", "24",
                "--add-lambdas", "0.36", "0.72"])
    _, grown = source_model(tmp_path / "x.pt")
    assert grown.cfg == dataclasses.replace(cfg, lambdas=cfg.lambdas + (0.36, 0.72))
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        for t in (0.0, 3.5, cfg.num_levels - 1.0):
            a, b = teacher(x, torch.tensor([t])), grown.eval()(x, torch.tensor([t]))
            assert torch.allclose(a["x_hat"], b["x_hat"], atol=1e-6)
        steps = grown.log_inv_gain.exp().mean(1)  # quantization step per level: finer on top
    assert steps[-1] < steps[-2] < steps[-3]


def test_training_continues_a_widened_student_as_a_teacher(tmp_path):
    from training.__main__ import main as train
    from training.widen import main as widen_main

    data = noise_photos(tmp_path / "data", 4)
    common = ["rd", "--data", str(data), "--patch", "64", "--batch", "1", "--threads", "1",
              "--eval-every", "0", "--steps", "1"]
    train([*common, "--run", str(tmp_path / "s")])
    widen_main([str(tmp_path / "s" / "ckpt.pt"), str(tmp_path / "t0.pt")])
    train([*common, "--run", str(tmp_path / "t"), "--init", str(tmp_path / "t0.pt")])
    ckpt = torch.load(tmp_path / "t" / "ckpt.pt", weights_only=False)
    assert ckpt["config"]["arch"] == "teacher" and ckpt["config"]["M"] > 128
    assert ckpt["prior"]["steps"] == 1 and ckpt["step"] == 1


def test_embedded_adapters_start_at_a_widened_teachers_features():
    """distill --adapters embed: for a teacher widened from the student, student channel i is
    teacher channel i, so the alignment terms start near zero; random adapters start far."""
    from training.distill import Distiller
    from training.widen import widen

    torch.manual_seed(0)
    student = LicModel(ModelConfig(N=16, M=24, Nh=16, anchor_dist="laplace")).eval()
    cfg = ModelConfig(arch="teacher", N=32, M=36, Nh=16, res_blocks=1, attn_heads=2,
                      attn_window=4, deformable=True, anchor_dist="laplace")
    teacher = widen(student, cfg)
    weights = {"feat": 1.0, "latent": 1.0, "recon": 1.0, "rd": 1.0}
    x, t = torch.rand(2, 3, 128, 128), torch.tensor([2.0, 6.0])
    terms = {}
    for kind in ("random", "embed"):
        d = Distiller(student, teacher, weights, adapters=kind)
        with torch.no_grad():
            terms[kind] = {k: d(student, x, t)[k].item() for k in ("feat", "latent", "recon")}
    assert terms["embed"]["recon"] < 1e-6 and terms["random"]["recon"] < 1e-6
    for k in ("feat", "latent"):
        assert terms["embed"][k] < 0.05 * terms["random"][k], (k, terms)


def test_distillation_terms_reach_the_gradient():
    """What training back-propagates (``objective``) holds the distillation terms, weighed as
    the stage says, and the rd term weighed across crops as --loss-power says: with the rd
    weight at 0, the gradient is the reconstruction term's alone (before the fix, training
    minimised the plain rd objective whatever the stage)."""
    from training.distill import Distiller
    from training.widen import widen

    torch.manual_seed(0)
    student = LicModel(ModelConfig(N=16, M=24, Nh=16, anchor_dist="laplace")).train()
    cfg = ModelConfig(arch="teacher", N=32, M=36, Nh=16, res_blocks=1, attn_heads=2,
                      attn_window=4, deformable=True, anchor_dist="laplace")
    teacher = widen(student, cfg)
    with torch.no_grad():  # a teacher that differs from the student
        teacher.g_s[0].weight.mul_(1.5)
    x, t = torch.rand(2, 3, 64, 64), torch.tensor([1.0, 6.0])

    def grad(weights, power=0.0):
        student.zero_grad()
        torch.manual_seed(1)
        terms = Distiller(student, teacher, weights, power=power)(student, x, t)
        terms["objective"].backward()
        return terms, student.g_s[0].weight.grad.clone()

    recon_only, g_recon = grad({"feat": 0.0, "latent": 0.0, "recon": 1.0, "rd": 0.0})
    assert recon_only["recon"] > 0
    assert torch.allclose(recon_only["objective"], recon_only["recon"])
    rd_only, g_rd = grad({"feat": 0.0, "latent": 0.0, "recon": 0.0, "rd": 1.0})
    assert not torch.allclose(g_recon, g_rd, rtol=0.1)
    _, g_power = grad({"feat": 0.0, "latent": 0.0, "recon": 0.0, "rd": 1.0}, power=2.0)
    assert not torch.allclose(g_power, g_rd, rtol=0.1)  # the loss power reaches the rd term
    rate_only, g_rate = grad({"feat": 0.0, "latent": 0.0, "recon": 0.0, "rate": 1.0, "rd": 0.0})
    assert rate_only["rate"] > 0 and torch.allclose(rate_only["objective"], rate_only["rate"])
    assert not g_rate.any()  # the rate targets train the encoder and the entropy model
    assert student.g_a[0].weight.grad.abs().sum() > 0


@pytest.mark.slow
def test_grown_latent_keeps_old_channels_and_codes(tmp_path):
    """train.widen --latent: more latent channels with the entropy networks at their old width
    (ModelConfig.Me); the old channels keep their coding distributions exactly, the new ones
    are live, training continues, and the exported network codes real files."""
    from PIL import Image

    from lic_codec.codec import Codec
    from training.__main__ import main as train
    from training.checkpoint import load_checkpoint
    from training.export import main as export
    from training.widen import main as widen_main

    data = noise_photos(tmp_path / "data", 6, count=2, size=(70, 80))
    common = ["rd", "--data", str(data), "--patch", "64", "--batch", "1", "--threads", "1",
              "--eval-every", "0"]
    train([*common, "--run", str(tmp_path / "s"), "--steps", "1"])
    widen_main([str(tmp_path / "s" / "ckpt.pt"), str(tmp_path / "g.pt"), "--latent", "160"])
    widen_main([str(tmp_path / "s" / "ckpt.pt"), str(tmp_path / "w.pt"), "--latent", "160",
                "--wide-entropy"])
    models = {}
    for name in ("s/ckpt.pt", "g.pt", "w.pt"):
        state = load_checkpoint(tmp_path / name)
        m = LicModel.from_state_dict(state["config"], state["model"])
        models[name] = m.eval()
    old, grown = models["s/ckpt.pt"], models["g.pt"]
    assert grown.cfg.M == 160 and grown.cfg.entropy_width == 128
    assert grown.param_count() < models["w.pt"].param_count()
    assert grown.param_count() - old.param_count() < 0.1 * old.param_count()
    x, t = torch.rand(1, 3, 128, 128), torch.tensor([7.0])
    with torch.no_grad():
        a, b = old(x, t), grown(x, t)
    assert torch.equal(a["likelihoods"]["z"], b["likelihoods"]["z"])
    assert torch.allclose(a["y"], b["y"][:, :128])
    # the new channels carry a signal of the old ones' size (not ~0: training can use them)
    assert b["y"][:, 128:].std() > 0.3 * b["y"][:, :128].std()
    # the old channels' probabilities: unchanged (uniform noise is drawn for all of them)
    with torch.no_grad():
        old.latent.train(False), grown.latent.train(False)
        la = old.latent(a["y"])[1]["y"]
        lb = grown.latent(torch.cat([a["y"], torch.zeros_like(b["y"][:, 128:])], 1))[1]["y"]
    assert torch.allclose(la, lb[:, :128], atol=1e-6)

    assert torch.load(tmp_path / "g.pt", weights_only=False)["new_channels"] == list(
        range(128, 160))
    train([*common, "--run", str(tmp_path / "g"), "--init", str(tmp_path / "g.pt"),
           "--steps", "1", "--rate-ramp", "10"])
    train([*common, "--run", str(tmp_path / "g"), "--steps", "2", "--rate-ramp", "10"])  # resume
    assert load_checkpoint(tmp_path / "g" / "ckpt.pt")["args"]["new_channels"] == list(
        range(128, 160))
    export([str(tmp_path / "g" / "ckpt.pt"), "--name", "student", "--out-dir",
            str(tmp_path / "wts")])
    codec = Codec(weights=tmp_path / "wts")
    im = Image.open(next(data.glob("*.png")))
    for effort in (0, 1):  # effort 1: refinement through the network's own context
        assert codec.decode(codec.encode(im, quality=100, effort=effort)).size == im.size


def test_revive_gives_dead_latent_channels_a_gradient():
    """A latent channel with zero analysis and synthesis weights gets no gradient (a saddle);
    train.widen.revive finds such channels and makes them carry a signal both ways."""
    from training.widen import dead_channels, revive

    torch.manual_seed(0)
    m = LicModel(ModelConfig(N=16, M=24, Nh=16))
    with torch.no_grad():
        m.g_a[-1].weight *= 50  # an untrained analysis transform's outputs all round to 0
        m.g_a[-1].weight[[3, 7]] = 0
        m.g_a[-1].bias[[3, 7]] = 0
        m.g_s[0].weight[[3, 7]] = 0
    x = torch.rand(2, 3, 64, 64)
    assert dead_channels(m, x) == [3, 7]
    m.train()
    m(x, torch.tensor([7.0, 7.0]))["x_hat"].square().mean().backward()
    assert m.g_a[-1].weight.grad[[3, 7]].abs().max() == 0
    m.zero_grad()
    revive(m, [3, 7])
    assert dead_channels(m, x) == []
    m.train()
    m(x, torch.tensor([7.0, 7.0]))["x_hat"].square().mean().backward()
    assert m.g_a[-1].weight.grad[[3, 7]].abs().amax(dim=(1, 2, 3)).min() > 0


def test_rate_ramp_charges_new_channels_a_growing_share():
    """--rate-ramp: channels FIRST.. pay step/STEPS of their rate in the loss; the reported
    bpp is the whole rate."""
    from lic_codec.models.lic import bits_per_pixel
    from training.losses import new_channel_rate_weight, rate_distortion

    torch.manual_seed(0)
    m = LicModel(ModelConfig(N=16, M=24, Nh=16)).train()
    x, t = torch.rand(1, 3, 64, 64), torch.tensor([6.0])
    out = m(x, t)
    lam = m.lmbda(t)
    full = rate_distortion(out, x, lam)
    new = list(range(16, 24))
    assert torch.equal(new_channel_rate_weight(24, new, 100, 0)[16:], torch.zeros(8))
    assert torch.equal(new_channel_rate_weight(24, new, 100, 500), torch.ones(24))
    new_bits = -torch.log2(out["likelihoods"]["y"][:, 16:]).sum() / (64 * 64)
    for step, share in ((0, 0.0), (25, 0.25), (100, 1.0)):
        ramped = rate_distortion(out, x, lam,
                                 channel_rate=new_channel_rate_weight(24, new, 100, step))
        assert torch.allclose(ramped["loss"], full["loss"] - (1 - share) * new_bits)
        assert torch.equal(ramped["bpp"], full["bpp"])
    assert torch.allclose(full["bpp"], bits_per_pixel(out["likelihoods"], 64 * 64).mean())


def test_loss_power_weighs_each_crop_by_a_power_of_its_loss(tmp_path):
    """--loss-power P: each crop's gradient is scaled by loss_b^-P, normalised over the batch
    (P=1: the direction of mean_b log loss_b, each crop by its relative change); the logged
    loss stays the plain one."""
    from training.__main__ import main as train
    from training.losses import rate_distortion

    data = noise_photos(tmp_path / "data", 0)
    train(["rd", "--data", str(data), "--patch", "64", "--batch", "2", "--threads", "1",
           "--log-every", "1", "--steps", "2", "--loss-power", "1", "--run", str(tmp_path / "r")])
    rows = (tmp_path / "r" / "log.tsv").read_text().splitlines()[1:]
    assert len(rows) == 2 and all(float(r.split("\t")[1]) > 0 for r in rows)

    torch.manual_seed(0)
    m = LicModel(ModelConfig(N=16, M=24, Nh=16)).train()
    x, t = torch.rand(2, 3, 64, 64), torch.tensor([0.0, 7.0])

    def grads(power: float, weights: torch.Tensor | None = None):
        m.zero_grad()
        torch.manual_seed(1)  # the same quantization noise in every call
        out = m(x, t)
        terms = rate_distortion(out, x, m.lmbda(t), power=power)
        per_crop = (m.lmbda(t) * 255.0**2 * (out["x_hat"] - x).pow(2).flatten(1).mean(1)
                    + sum(-torch.log2(v).flatten(1).sum(1) for v in out["likelihoods"].values())
                    / (64 * 64))
        obj = terms["objective"] if weights is None else (per_crop * weights).mean()
        obj.backward()
        return terms, per_crop.detach(), m.g_a[0].weight.grad.clone()

    plain, per_crop, g_plain = grads(0)
    assert per_crop[1] > 2 * per_crop[0]  # the top rate's loss dominates the plain sum
    assert torch.allclose(plain["objective"], plain["loss"])
    weighed, _, g_log = grads(1)  # P=1: the direction of the gradient of mean_b log loss_b
    assert torch.allclose(weighed["loss"], plain["loss"])  # the log reports the plain loss
    assert not torch.allclose(g_log / g_log.norm(), g_plain / g_plain.norm(), rtol=1e-2)
    for power in (1, 2):
        _, _, g = grads(power)
        w = per_crop ** -power
        _, _, g_weighted = grads(0, w / w.sum() * len(w))  # grads() averages over the crops
        assert torch.allclose(g, g_weighted, rtol=1e-4, atol=1e-8)


def test_rate_skew_draws_more_low_rate_positions_and_skew_1_is_the_old_draw():
    """--rate-skew A: positions (K - 1) * u^A; A=1 repeats the uniform draw bit for bit (so
    runs resume unchanged), A=2 puts 1/sqrt(2) = 71% of them below the middle."""
    from training.__main__ import rate_positions

    torch.manual_seed(3)
    old = torch.rand(4000) * 7
    torch.manual_seed(3)
    assert torch.equal(rate_positions(4000, 8, 1.0), old)
    torch.manual_seed(3)
    skewed = rate_positions(4000, 8, 2.0)
    assert skewed.min() >= 0 and skewed.max() <= 7
    assert 0.68 < (skewed < 3.5).float().mean() < 0.74
    assert 0.47 < (old < 3.5).float().mean() < 0.53


def test_widen_revive_command_records_the_channels(tmp_path):
    """python -m training.widen CKPT OUT --revive: same architecture, the dead channels
    (found on the training images given) re-initialised and named for --rate-ramp."""
    from training.__main__ import main as train
    from training.widen import main as widen_main

    data = noise_photos(tmp_path / "data", 7, count=2, size=(70, 80))
    train(["rd", "--data", str(data), "--patch", "64", "--batch", "1", "--threads", "1",
           "--eval-every", "0", "--steps", "1", "--run", str(tmp_path / "s")])
    widen_main([str(tmp_path / "s" / "ckpt.pt"), str(tmp_path / "r.pt"), "--revive",
                "--data", str(data)])
    before = torch.load(tmp_path / "s" / "ckpt.pt", weights_only=False)
    after = torch.load(tmp_path / "r.pt", weights_only=False)
    assert after["config"] == before["config"] and after["step"] == 0
    dead = after["new_channels"]
    assert dead  # an untrained network's latent rounds to zero almost everywhere
    w0, w1 = before["model"]["g_a.6.weight"], after["model"]["g_a.6.weight"]
    live = [c for c in range(w0.shape[0]) if c not in dead]
    assert torch.equal(w0[live], w1[live]) and not torch.equal(w0[dead], w1[dead])


def test_narrowed_entropy_networks_keep_the_rest_and_code(tmp_path):
    """train.narrow: a smaller entropy width (ModelConfig.Me) from a trained student; the
    transforms and hyper-analysis are the same, the hyper-synthesis keeps a subset of its
    features exactly, training continues from it and the exported network codes real files."""
    from PIL import Image

    from lic_codec.codec import Codec
    from training.__main__ import main as train
    from training.checkpoint import load_checkpoint
    from training.export import main as export
    from training.narrow import main as narrow_main
    from training.narrow import _strongest, narrow

    data = noise_photos(tmp_path / "data", 7, count=2, size=(70, 80))
    common = ["rd", "--data", str(data), "--patch", "64", "--batch", "1", "--threads", "1",
              "--eval-every", "0"]
    train([*common, "--run", str(tmp_path / "s"), "--steps", "1"])
    narrow_main([str(tmp_path / "s" / "ckpt.pt"), str(tmp_path / "n.pt"),
                 "--entropy-width", "32"])
    s = load_checkpoint(tmp_path / "s" / "ckpt.pt")
    old = LicModel.from_state_dict(s["config"], s["model"])
    state = load_checkpoint(tmp_path / "n.pt")
    new = LicModel.from_state_dict(state["config"], state["model"])
    assert new.cfg.entropy_width == 32 and new.cfg.M == old.cfg.M
    assert new.param_count() < 0.8 * old.param_count()
    assert state["prior"]["steps"] == 1
    for name in ("g_a.0.weight", "g_s.0.weight", "latent.h_a.0.weight", "latent.h_s.2.weight"):
        assert torch.equal(new.state_dict()[name], old.state_dict()[name])
    z = torch.randn(1, old.cfg.Nh, 3, 4)
    with torch.no_grad():
        a, b = old.latent.h_s(z), new.latent.h_s(z)
    kept = _strongest(old.latent.h_s[4], 2 * 32)  # the 64 hyper features with most weight
    # same function; not bit-equal on every CPU (oneDNN blocks 64 and 256 output channels
    # differently on AMX machines)
    assert torch.allclose(a[:, kept], b, rtol=0, atol=1e-6)
    with pytest.raises(ValueError, match="entropy width"):
        narrow(old, old.cfg.entropy_width)

    train([*common, "--run", str(tmp_path / "n"), "--init", str(tmp_path / "n.pt"), "--steps", "1"])
    export([str(tmp_path / "n" / "ckpt.pt"), "--name", "student", "--out-dir",
            str(tmp_path / "wts")])
    codec = Codec(weights=tmp_path / "wts")
    im = Image.open(next(data.glob("*.png")))
    assert codec.decode(codec.encode(im, quality=60)).size == im.size


def test_deepened_analysis_starts_as_the_same_network_and_codes(tmp_path):
    """train.deepen: residual blocks in the student's g_a start as the identity (the deepened
    network computes what its source did), sit at 1/4 and 1/8 of the image, and the deepened
    network trains, exports and codes real files; the decoder's layers are untouched."""
    from PIL import Image

    from lic_codec.codec import Codec
    from lic_codec.models.layers import ResidualBlock
    from training.__main__ import main as train
    from training.checkpoint import load_checkpoint
    from training.deepen import deepen
    from training.deepen import main as deepen_main
    from training.export import main as export

    data = noise_photos(tmp_path / "data", 8, count=2, size=(70, 80))
    common = ["rd", "--data", str(data), "--patch", "64", "--batch", "1", "--threads", "1",
              "--eval-every", "0"]
    train([*common, "--run", str(tmp_path / "s"), "--steps", "2"])
    deepen_main([str(tmp_path / "s" / "ckpt.pt"), str(tmp_path / "d.pt"),
                 "--analysis-blocks", "1"])
    s = load_checkpoint(tmp_path / "s" / "ckpt.pt")
    old = LicModel.from_state_dict(s["config"], s["model"])
    state = load_checkpoint(tmp_path / "d.pt")
    new = LicModel.from_state_dict(state["config"], state["model"])
    assert new.cfg.analysis_blocks == 1 and state["prior"]["steps"] == 2
    kinds = [type(m).__name__ for m in new.g_a]
    assert kinds.index("ResidualBlock") == 4 and kinds.count("ResidualBlock") == 2
    x = torch.rand(1, 3, 64, 96)
    with torch.no_grad():
        a, b = old.g_a(x), new.g_a(x)
    assert torch.equal(a, b) and a.abs().max() > 0
    for name in old.state_dict():
        if not name.startswith("g_a."):
            assert torch.equal(old.state_dict()[name], new.state_dict()[name]), name
    with pytest.raises(ValueError, match="without analysis blocks"):
        deepen(new, 1)

    train([*common, "--run", str(tmp_path / "d"), "--init", str(tmp_path / "d.pt"),
           "--steps", "2"])
    trained = load_checkpoint(tmp_path / "d" / "ckpt.pt")["model"]
    block = [i for i, m in enumerate(new.g_a) if isinstance(m, ResidualBlock)][0]
    assert trained[f"g_a.{block}.conv2.weight"].abs().max() > 0  # the blocks learn
    export([str(tmp_path / "d" / "ckpt.pt"), "--name", "student", "--out-dir",
            str(tmp_path / "wts")])
    codec = Codec(weights=tmp_path / "wts")
    im = Image.open(next(data.glob("*.png")))
    assert codec.decode(codec.encode(im, quality=60)).size == im.size


def test_permuted_latent_is_the_same_network_but_for_the_context_inputs(tmp_path):
    """train.permute: reordering the latent channels keeps the network's function when the
    context reads the same set of channels; a channel it newly reads starts at zero weight and
    the ones it still reads keep theirs; the CLI ranks the channels by rate and writes a
    checkpoint the trainer can start from."""
    from training.checkpoint import load_checkpoint
    from training.permute import channel_rates, permute
    from training.permute import main as permute_main
    from training.__main__ import main as train

    torch.manual_seed(0)
    cfg = ModelConfig(arch="student", N=16, M=12, Nh=8, Me=8)
    model = LicModel(cfg).eval()
    with torch.no_grad():
        model.latent.context.weight.normal_()
    x, t = torch.rand(1, 3, 64, 64), torch.tensor([3.0])
    same_set = torch.cat([torch.randperm(8), 8 + torch.randperm(4)])
    p = permute(model, same_set).eval()
    with torch.no_grad():
        a, b = model(x, t), p(x, t)
    assert torch.allclose(a["x_hat"], b["x_hat"], atol=1e-5)
    assert torch.allclose(a["likelihoods"]["y"][:, same_set], b["likelihoods"]["y"], atol=1e-5)

    swap = torch.tensor([11, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0])  # 11 in, 0 out of the context
    w_old, w_new = model.latent.context.weight, permute(model, swap).latent.context.weight
    assert torch.equal(w_new[:, 0], torch.zeros_like(w_new[:, 0]))
    assert torch.equal(w_new[:, 1:], w_old[:, 1:])
    with pytest.raises(ValueError, match="permutation"):
        permute(model, torch.zeros(12, dtype=torch.long))
    deep = LicModel(ModelConfig(arch="student", N=16, M=12, Nh=8, Me=8, analysis_blocks=1))
    deep.eval()
    with torch.no_grad():
        a, b = deep(x, t), permute(deep, same_set).eval()(x, t)
    assert torch.allclose(a["x_hat"], b["x_hat"], atol=1e-5)  # g_a's last conv found

    share = channel_rates(model, torch.rand(2, 3, 64, 64))
    assert share.shape == (12,) and abs(float(share.sum()) - 1) < 1e-5

    data = noise_photos(tmp_path / "data", 9, count=2, size=(70, 80))
    common = ["rd", "--data", str(data), "--patch", "64", "--batch", "1", "--threads", "1",
              "--eval-every", "0", "--latent", "12", "--entropy-width", "8"]
    train([*common, "--run", str(tmp_path / "s"), "--steps", "1"])
    permute_main([str(tmp_path / "s" / "ckpt.pt"), str(tmp_path / "p.pt"), "--data", str(data),
                  "--images", "2"])
    state = load_checkpoint(tmp_path / "p.pt")
    assert state["step"] == 0 and state["prior"]["steps"] == 1
    train([*common, "--run", str(tmp_path / "p"), "--init", str(tmp_path / "p.pt"),
           "--steps", "1"])
    assert load_checkpoint(tmp_path / "p" / "ckpt.pt")["step"] == 1


def test_the_codec_package_never_imports_the_training_lab():
    """Every module of lic_codec (at import time or inside a function) stays clear of the
    training lab, which lives beside the package in training/: the product must not depend
    on the lab."""
    import ast
    from pathlib import Path

    import lic_codec

    root = Path(lic_codec.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        rel = path.relative_to(root)
        package = ["lic_codec", *rel.parts[:-1]]  # the package "from ." refers to
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = package[: len(package) - node.level + 1] if node.level else []
                names = [".".join([*base, *([node.module] if node.module else [])])]
                if node.module is None:  # "from . import x"
                    names = [".".join([*base, a.name]) for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            offenders += [f"{rel}:{node.lineno} {n}" for n in names
                          if n.split(".")[0] == "training" or n.startswith("lic_codec.train")]
    assert not offenders, offenders


def test_a_run_is_evaluated_from_another_process(tmp_path):
    """`python -m training evaluate RUN`: the run's own evaluation (real files, five
    qualities) of its saved checkpoint, appended to its eval.tsv."""
    from training.__main__ import evaluate_run
    from training.__main__ import main as train

    data = noise_photos(tmp_path / "data", 5, count=2)
    train(["rd", "--data", str(data), "--patch", "64", "--batch", "1", "--threads", "1",
           "--eval-every", "0", "--steps", "1", "--run", str(tmp_path / "r")])
    evaluate_run([str(tmp_path / "r"), "--data", str(data), "--images", "1"])
    rows = (tmp_path / "r" / "eval.tsv").read_text().splitlines()
    assert rows[0].startswith("step\tquality") and len(rows) == 6
    assert all(r.split("\t")[0] == "1" and r.endswith("\t1") for r in rows[1:])


def test_edge_weights_count_the_border_more_and_keep_lambda():
    """--edge-weight W: errors within --edge-band pixels of a crop's edges count W times the
    others', the map has mean 1 (the same error everywhere gives the plain loss), and the
    reported MSE/PSNR stay the plain ones."""
    from training.losses import edge_weights, rate_distortion

    w = edge_weights(64, 48, 4, 5.0)
    assert w.shape == (1, 1, 64, 48) and w.mean().item() == pytest.approx(1.0)
    assert w[0, 0, 0, 20] == pytest.approx(5 * w[0, 0, 30, 20].item())
    assert w[0, 0, 3, 3] == w[0, 0, 63, 47] == w[0, 0, 30, 0]  # corners and sides alike
    assert torch.equal(edge_weights(64, 48, 4, 1.0), torch.ones(1, 1, 64, 48))

    x = torch.full((1, 3, 64, 48), 0.5)
    lik = {"y": torch.ones(1, 4, 4, 3)}  # no rate: the loss is the distortion
    lmbda = torch.tensor([0.01])
    border, inner = x.clone(), x.clone()
    border[..., :2, 10:38] += 0.1  # the same squared error, on the edge or inside
    inner[..., 30:32, 10:38] += 0.1
    terms = {k: rate_distortion({"x_hat": v, "likelihoods": lik, "y": lik["y"]}, x, lmbda,
                                edges=w) for k, v in (("border", border), ("inner", inner))}
    assert terms["border"]["loss"].item() == pytest.approx(5 * terms["inner"]["loss"].item())
    assert terms["border"]["mse"] == pytest.approx(terms["inner"]["mse"].item())
    flat = x + 0.1
    both = [rate_distortion({"x_hat": flat, "likelihoods": lik, "y": lik["y"]}, x, lmbda,
                            edges=e)["loss"] for e in (w, None)]
    assert both[0].item() == pytest.approx(both[1].item(), rel=1e-5)
