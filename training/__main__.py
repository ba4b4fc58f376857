"""Training on CPU, resumable across sessions.

    python -m training training/config/teacher_v3.toml     # a recipe (flags after it override)
    python -m training rd --arch teacher --run runs/teacher
    python -m training distill --teacher runs/teacher/ckpt.pt --stage a --run runs/distill

reads top to bottom: arguments, data, model (new or resumed), learning rate, loop. A run
directory holds one checkpoint (``ckpt.pt``, overwritten) and one log (``log.tsv``).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import signal
import sys
import time
from pathlib import Path

import torch

from lic_codec.allocator import keep_freed_memory
# imported with the trainer, not at its first evaluation: a module loaded hours later from a
# tree edited meanwhile would not match the ones already loaded (a lost evaluation, 2026-12-07)
import lic_codec.codec  # noqa: F401  (what the evaluation codes with)
import lic_codec.models.subpixel  # noqa: F401
import lic_codec.refine  # noqa: F401
from lic_codec.evaluate import evaluate
from lic_codec.models.config import ModelConfig, STUDENT, TEACHER
from lic_codec.models.lic import LicModel, upgrade_state
from .config import expand as expand_recipes
from .checkpoint import lineage, load_checkpoint, prior_training, save_checkpoint, source_model
from .compiler import compile_for_training
from .data import DEFAULT_DATA, SAMPLING, CropDataset
from .distill import STAGES, Distiller
from .ema import WeightAverage, averaged_state
from .export import export_model
from .guard import SpikeGuard
from .losses import edge_weights, new_channel_rate_weight, rate_distortion
from .parallel import SYNC_EVERY, WorkerLost, Workers

# checkpoints are chosen on val/ (photos of kinds Kodak lacks); Kodak is reported at ship time
DEFAULT_VAL = DEFAULT_DATA.parent / "val"
EVAL_QUALITIES = (0.0, 25.0, 50.0, 75.0, 100.0)  # five: enough for a BD-rate (train.curve)


def parse_args(argv=None) -> argparse.Namespace:
    """The flags, with recipe files (training/config/*.toml) expanded in place."""
    argv = expand_recipes(list(sys.argv[1:] if argv is None else argv))
    ap = argparse.ArgumentParser(prog="python -m training")
    ap.add_argument("mode", choices=["rd", "distill"],
                    help="rd: rate-distortion training of one network; distill: train the "
                         "student from a frozen teacher")
    ap.add_argument("--arch", choices=["student", "teacher"], default="student")
    ap.add_argument("--run", required=True, help="run directory (checkpoint + log)")
    ap.add_argument("--data", default=str(DEFAULT_DATA))
    ap.add_argument("--steps", type=int, default=1_000_000, help="stop at this step")
    ap.add_argument("--batch", type=int, default=2, help="crops per step and worker")
    ap.add_argument("--workers", type=int, default=1,
                    help="processes of --threads threads each, sharing every step's batch of "
                         "workers x --batch crops (data parallel: train/parallel.py)")
    ap.add_argument("--patch", type=int, default=256,
                    help="crop side, a multiple of 64 (2 x 256 px beat 8 x 128 px by 3%% "
                         "BD-rate at equal pixels: results/training.md, 2026-11-30)")
    ap.add_argument("--sampling", choices=SAMPLING, default="image",
                    help="image of each crop: uniformly per image, or per crop position "
                         "('area': larger photos give proportionally more crops)")
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--lr-decay-at", type=int, nargs="*", default=[],
                    help="steps at which the learning rate is divided by 10")
    ap.add_argument("--lr-cosine-to", type=float, default=None, metavar="LR_END",
                    help="anneal the learning rate from --lr to LR_END along a half cosine "
                         "that ends at --steps (instead of step decays)")
    ap.add_argument("--l1", type=float, default=0.0,
                    help="weight of the latent L1 penalty, in bits per unit of |y|; 1.0 zeroed "
                         "~3 of 128 channels at q0 only and cost ~1%% BD-rate in a trained "
                         "student, so off by default (results/training.md, 2026-11-30)")
    ap.add_argument("--rate-ramp", type=int, default=0, metavar="STEPS",
                    help="the latent channels train.widen added or revived (recorded in the "
                         "--init checkpoint) pay no rate at first, then a share that grows "
                         "linearly to all of it at STEPS (steps of this run)")
    ap.add_argument("--gain-lr-scale", type=float, default=1.0,
                    help="learning rate of the per-quality gain vectors as a multiple of --lr: "
                         "lets the rate points move quickly when the objective changes (e.g. "
                         "--l1), which the trunk's lr alone takes tens of thousands of steps to do")
    ap.add_argument("--latent-lr-scale", type=float, default=1.0,
                    help="learning rate of the hyperprior and entropy networks (latent.*) as a "
                         "multiple of --lr")
    ap.add_argument("--rate-modulation", action="store_true",
                    help="new runs: per-rate channel scales in the synthesis transform "
                         "(models/lic.py), learned at the gains' learning rate")
    ap.add_argument("--edge-pad", choices=["zeros", "replicate"], default=None,
                    help="new runs (also from --init): what the synthesis's last layer reads "
                         "beyond the latent's edge (models/layers.EdgeDeconv); default: the "
                         "network's own")
    ap.add_argument("--width", type=int, default=None, metavar="N",
                    help="new runs: width of the analysis/synthesis transforms (default: the "
                         "--arch's)")
    ap.add_argument("--latent", type=int, default=None, metavar="M",
                    help="new runs: latent channels; 128 caps the student's quality at high "
                         "rates (results/latent_ceiling.tsv)")
    ap.add_argument("--entropy-width", type=int, default=None, metavar="Me",
                    help="new runs: latent channels the entropy networks are sized for "
                         "(ModelConfig.Me; default: all of them)")
    ap.add_argument("--quant", choices=["noise", "hard"], default="noise",
                    help="training quantization: additive uniform noise, or the coder's own "
                         "rounding with straight-through gradients (results/training.md)")
    ap.add_argument("--freeze-analysis", action="store_true",
                    help="train only the decoder side: the analysis transform, hyper-analysis "
                         "and encoder gains stay fixed (with --quant hard: 'soft then hard')")
    ap.add_argument("--loss-power", type=float, default=0.0, metavar="P",
                    help="weigh each crop's gradient by its loss^-P (normalised over the "
                         "step's crops): 0 the plain mean of lambda * D + R, where the high "
                         "rate positions (several times the loss) outweigh the low ones; 1 the "
                         "mean of its log, every position by its relative change, as BD-rate "
                         "counts (train/losses.py)")
    ap.add_argument("--edge-weight", type=float, default=1.0, metavar="W",
                    help="weigh the squared error of the pixels within --edge-band of a "
                         "crop's edges W times the others' in the loss (1: plain MSE; "
                         "training/losses.py)")
    ap.add_argument("--edge-band", type=int, default=4, metavar="PIXELS")
    ap.add_argument("--rate-skew", type=float, default=1.0, metavar="A",
                    help="draw each crop's rate position as (levels - 1) * u^A, u uniform: 1 "
                         "uniform; above 1 more crops at the low rates (A=2: 71%% of them "
                         "below the middle quality, against 50%%), below 1 at the high ones")
    ap.add_argument("--clip", type=float, default=1.0, help="gradient norm clip")
    ap.add_argument("--ema", type=float, default=0.0, metavar="DECAY",
                    help="keep an exponential moving average of the weights (e.g. 0.999, ~1,000 "
                         "steps), saved in the checkpoint and used by the evaluations and by "
                         "train.export; 0: none (training/ema.py)")
    ap.add_argument("--skip-factor", type=float, default=10.0,
                    help="skip the update when the gradient norm exceeds this many times its "
                         "running average (0 = never)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--precision", choices=["auto", "bf16", "fp32"], default="auto",
                    help="bf16 autocast or plain fp32 for the transforms (likelihoods and rate "
                         "stay fp32); auto: bf16 where the CPU has native bf16 (AMX or "
                         "AVX512_BF16), fp32 elsewhere, where bf16 is slower")
    ap.add_argument("--fp32", action="store_true", help="same as --precision fp32")
    ap.add_argument("--compile", action="store_true",
                    help="rd mode: run the training forward pass through torch.compile "
                         "(needs a C compiler; ~2 min to compile at start)")
    ap.add_argument("--ckpt-minutes", type=float, default=5.0)
    ap.add_argument("--log-every", type=int, default=100)
    ap.add_argument("--stop-after-minutes", type=float, default=0, help="0 = no limit")
    ap.add_argument("--cpu-hours", type=float, default=0, metavar="H",
                    help="stop once the run's CPU time (every thread and worker, resumes "
                         "included) reaches H hours: arms of an ablation at equal compute "
                         "(0 = no limit)")
    ap.add_argument("--eval-every", type=int, default=2000,
                    help="evaluation through the real codec every N steps (0 = never)")
    ap.add_argument("--eval-data", default=str(DEFAULT_VAL))
    ap.add_argument("--eval-images", type=int, default=4,
                    help="N images of --eval-data, evenly spaced over the sorted folder")
    ap.add_argument("--teacher", default=None, help="distill: the teacher's checkpoint")
    ap.add_argument("--stage", choices=sorted(STAGES), default="a",
                    help="distill: (a) features, (b) channel-level latent + reconstruction, "
                         "(c) rate-distortion fine-tuning")
    ap.add_argument("--adapters", choices=["random", "embed"], default="random",
                    help="distill: initial adapters, random or student channel i -> teacher "
                         "channel i (for a teacher widened from the student, train/widen.py)")
    ap.add_argument("--init", default=None,
                    help="start a new run from this checkpoint's model weights: the moving "
                         "average of them where it has one (what its evaluations measured)")
    ap.add_argument("--init-raw", action="store_true",
                    help="with --init: the trained weights, not their moving average")
    ap.add_argument("--from-average", action="store_true",
                    help="resume from the run's moving average of the weights instead of its "
                         "trained weights (Adam restarts with a warm-up; the step count, data "
                         "order and average go on)")
    for term in ("feat", "latent", "recon", "rate", "rd"):
        ap.add_argument(f"--w-{term}", type=float, default=None,
                        help=f"distill: weight of the {term} term (default: the stage's)")
    return ap.parse_args(argv)


def learning_rate(step: int, base: float, decay_at: list[int], warm_from: int = 0,
                  cosine: tuple[float, int] | None = None) -> float:
    """Linear warm-up over 500 steps from ``warm_from`` (the start, or a resume without
    optimizer state), then step decays (x0.1) at the given steps, or with ``cosine = (end_lr,
    last_step)`` a half cosine from ``base`` at step 0 down to ``end_lr`` at ``last_step``."""
    warm = min(1.0, (step - warm_from + 1) / 500)
    if cosine is not None:
        end, last = cosine
        frac = min(1.0, step / max(1, last))
        return warm * (end + (base - end) * 0.5 * (1 + math.cos(math.pi * frac)))
    return base * warm * 0.1 ** sum(step >= s for s in decay_at)


def rate_positions(n: int, num_levels: int, skew: float = 1.0) -> torch.Tensor:
    """n rate positions in [0, num_levels - 1], (num_levels - 1) * u^skew for u uniform. Why:
    a student that trails at the low rates only can be given more crops there; skew 1 draws
    exactly what the uniform draw always did, so older runs resume unchanged."""
    u = torch.rand(n)
    return (u if skew == 1.0 else u.pow(skew)) * (num_levels - 1)


def param_groups(model: LicModel, params: list, args) -> list[dict]:
    """Adam's parameter groups: one at --lr, then (only when their scale is not 1, so that
    saved optimizer states of runs without them still load) the gain vectors at
    --gain-lr-scale and the hyperprior and entropy networks at --latent-lr-scale."""
    gain_ids = {id(model.log_gain), id(model.log_inv_gain)}  # and the decoder's rate scales
    if model.cfg.rate_modulation:
        gain_ids.add(id(model.log_dec_scale))
    latent_ids = {id(p) for n, p in model.named_parameters() if n.startswith("latent.")}
    scale = {}
    for ids, s in ((gain_ids, args.gain_lr_scale), (latent_ids, args.latent_lr_scale)):
        if s != 1.0:
            scale.update(dict.fromkeys(ids, s))
    groups = [{"params": [p for p in params if id(p) not in scale], "lr_scale": 1.0}]
    for s in dict.fromkeys([args.gain_lr_scale, args.latent_lr_scale]):  # in order, once each
        if s != 1.0:
            groups.append({"params": [p for p in params if scale.get(id(p)) == s],
                           "lr_scale": s})
    return groups


def use_bf16(args) -> bool:
    if args.fp32 or args.precision == "fp32":
        return False
    return args.precision == "bf16" or cpu_has_bf16()


def cpu_has_bf16() -> bool:
    """True on CPUs with native bf16 dot products: AMX tiles (Sapphire Rapids and later) or
    AVX512_BF16 (AMD Zen 4, Cooper Lake), where oneDNN runs bf16 convolutions faster than
    fp32; on AVX-512 without them bf16 is the slower (results/training.md)."""
    try:
        with open("/proc/cpuinfo") as f:
            return any(line.startswith("flags") and {"amx_bf16", "avx512_bf16"} & set(line.split())
                       for line in f)
    except OSError:
        return False


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.workers < 1:
        raise SystemExit("--workers must be at least 1")
    workers = Workers(args.workers, list(sys.argv[1:] if argv is None else argv))
    try:
        import compressai  # noqa: F401  (its entropy models are what training optimises)
    except ImportError:
        raise SystemExit('training needs CompressAI: pip install ".[train]"') from None
    torch.set_num_threads(args.threads)
    keep_freed_memory()  # ~10% faster steps (see lic_codec/allocator.py)
    run = Path(args.run)
    run.mkdir(parents=True, exist_ok=True)
    ckpt_path, log_path = run / "ckpt.pt", run / "log.tsv"

    state = load_checkpoint(ckpt_path) if ckpt_path.exists() else None
    init = load_checkpoint(args.init) if not state and args.init else None
    # the network is the one being continued (a widened student is a teacher; see widen.py)
    base = state or init
    cfg = ModelConfig.from_dict(base["config"]) if base else (
        STUDENT if args.arch == "student" else TEACHER)
    if args.rate_modulation and not state:  # a new run: the new scales start at 1
        cfg = dataclasses.replace(cfg, rate_modulation=True)
    if args.edge_pad and not state:  # the same parameters, read with another padding
        cfg = dataclasses.replace(cfg, edge_pad=args.edge_pad)
    shape = {k: v for k, v in (("N", args.width), ("M", args.latent), ("Me", args.entropy_width))
             if v is not None}
    if base and any(getattr(cfg, k) != v for k, v in shape.items()):
        raise SystemExit("--width/--latent/--entropy-width shape a new network; a resumed or "
                         "--init run keeps its own (train.widen grows one)")
    cfg = dataclasses.replace(cfg, **shape)
    if cfg.entropy_width > cfg.M:
        raise SystemExit(f"--entropy-width {cfg.Me} exceeds the {cfg.M} latent channels")
    model = LicModel(cfg).to(memory_format=torch.channels_last)
    # latent channels train.widen added or revived: kept in this run's args for resumes
    args.new_channels = (state["args"].get("new_channels") if state
                         else (init or {}).get("new_channels")) or []
    if args.rate_ramp and not args.new_channels:
        raise SystemExit("--rate-ramp needs an --init checkpoint from train.widen --latent or "
                         "--revive (it names the new channels)")
    if args.from_average and not state:
        raise SystemExit("--from-average resumes a run: there is no checkpoint in --run "
                         "(--init starts a new run from an average)")
    prior = None
    if init:
        prior = lineage(init, args.init)
        averaged = "ema" in init and not args.init_raw
        weights = upgrade_state(averaged_state(init) if averaged else init["model"])
        if cfg.rate_modulation and "log_dec_scale" not in weights:
            weights["log_dec_scale"] = model.log_dec_scale.detach().clone()
        model.load_state_dict(weights)
        print(f"initialised from {args.init} (step {init['step']}"
              f"{', the moving average of its weights' if averaged else ''})")
    edges = (None if args.edge_weight == 1.0 else  # [1, 1, patch, patch]
             edge_weights(args.patch, args.patch, args.edge_band, args.edge_weight))
    distiller = None
    if args.mode == "distill":
        if not args.teacher:
            raise SystemExit("distill needs --teacher CKPT")
        tstate = load_checkpoint(args.teacher)
        teacher = LicModel.from_state_dict(tstate["config"], tstate["model"])
        weights = dict(STAGES[args.stage])
        for term in weights:
            if getattr(args, f"w_{term}") is not None:
                weights[term] = getattr(args, f"w_{term}")
        distiller = Distiller(model, teacher.to(memory_format=torch.channels_last), weights,
                              args.l1, args.adapters, args.loss_power, edges)
        carried = state if state else init  # adapters continue from the previous stage
        if carried and "distiller" in carried:
            distiller.load_state_dict(carried["distiller"], strict=False)
        print(f"distilling from {args.teacher} (step {tstate['step']}), weights {weights}")
    model.latent.hard = args.quant == "hard"
    frozen = ("g_a.", "latent.h_a.", "log_gain") if args.freeze_analysis else ()
    aux_params = [p for n, p in model.named_parameters() if n.endswith("quantiles")]
    for n, p in model.named_parameters():
        p.requires_grad_(not n.startswith(frozen))
    main_params = [p for n, p in model.named_parameters()
                   if not n.endswith("quantiles") and p.requires_grad]
    if distiller is not None:
        main_params += [p for n, p in distiller.named_parameters() if not n.startswith("teacher.")]
    # fused: one kernel over all parameters instead of a loop of small ops per tensor; the
    # same algorithm, ~6% of a student step saved (results/training.md)
    opt = torch.optim.Adam(param_groups(model, main_params, args), lr=args.lr, fused=True)
    aux_opt = torch.optim.Adam(aux_params, lr=1e-3)
    step, wall, cpu = 0, 0.0, 0.0
    seed = args.seed
    warm_from = 0
    if state:
        restart = args.from_average and "ema" in state
        if args.from_average and not restart:
            raise SystemExit("--from-average: the checkpoint has no moving average (--ema)")
        model.load_state_dict(upgrade_state(averaged_state(state) if restart else state["model"]))
        if restart:  # Adam's moments belong to the trained weights, not to their average
            state["optimizer"] = None
        step, wall, seed = state["step"], state["wall_seconds"], state["seed"]
        cpu = state["cpu_seconds"]
        prior = prior_training(state)
        saved_groups = len(state["optimizer"]["param_groups"]) if state["optimizer"] else 0
        if saved_groups and saved_groups != len(opt.param_groups):
            print("the saved optimizer state has other parameter groups (--gain-lr-scale "
                  "changed): not used")
            state["optimizer"] = None
        if state["optimizer"] is not None:
            opt.load_state_dict(state["optimizer"])
            aux_opt.load_state_dict(state["aux_optimizer"])
            for group in opt.param_groups:  # loading restores the saved (maybe unfused) flags
                group.update(fused=True, foreach=None)
        else:
            warm_from = step
            print("no optimizer state for this step: Adam restarts with a warm-up")
        print(f"resumed {ckpt_path} at step {step} ({wall / 3600:.2f} h)")
    print(f"{cfg.arch}: {model.param_count() / 1e6:.2f} M parameters")

    try:
        data = CropDataset(args.data, args.patch, sampling=args.sampling)
    except ValueError as exc:  # the command's error, not a traceback
        raise SystemExit(str(exc)) from None
    print(f"{len(data)} training images from {args.data}")
    keys = ["loss", "bpp", "psnr", "l1"] + (["feat", "latent", "recon", "rate"] if distiller
                                             else [])
    new_log = workers.leads and not log_path.exists()
    # logs begun before 2026-12-08 have no CPU-time column; they go on without one
    log_cpu = new_log or (workers.leads and log_path.read_text().split("\n", 1)[0]
                          .endswith("\tcpu_s"))
    log = open(log_path if workers.leads else os.devnull, "a", buffering=1)
    if new_log:
        log.write("step\t" + "\t".join(keys) + "\tlr\twall_s\tcpu_s\n")

    # the average continues from the run's own checkpoint; a new run or one that had none
    # starts it at the current weights
    # (worker 0's only: the others neither save nor evaluate)
    ema = (WeightAverage(model, args.ema, state.get("ema") if state else None)
           if args.ema and workers.leads else None)
    if state and "ema" in state and not args.ema:
        print("the checkpoint's moving average of the weights is dropped (no --ema)")

    def checkpoint():
        extra = None
        if distiller is not None:
            extra = {k: v for k, v in distiller.state_dict().items() if not k.startswith("teacher.")}
        save_checkpoint(ckpt_path, model, opt, aux_opt, step, wall, seed, cfg, vars(args), extra,
                        cpu, prior, ema.state_dict() if ema else None,
                        state.get("branch") if state else None)

    stop = []  # SIGTERM/SIGINT: finish the step, save, exit
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.append(True))

    t_start, t_ckpt, c_start = time.time(), time.time(), time.process_time()
    wall0, cpu0 = wall, cpu
    acc = dict.fromkeys(keys, 0.0)
    n_acc = 0
    K = cfg.num_levels
    guard = SpikeGuard(args.skip_factor or math.inf)
    cosine = None if args.lr_cosine_to is None else (args.lr_cosine_to, args.steps)
    bf16 = use_bf16(args)
    args.precision = "bf16" if bf16 else "fp32"  # what ran, in the checkpoint (auto resolved)
    print(f"precision: {'bf16 autocast' if bf16 else 'fp32'}")
    model.train()
    workers.broadcast(model.parameters())  # a new run starts from worker 0's weights
    # the compiled forward shares the model's parameters; evaluation uses the eager model
    forward = compile_for_training(model) if args.compile and distiller is None else model
    share = workers.share(args.batch)
    try:
        while step < args.steps:
            lr = learning_rate(step, args.lr, args.lr_decay_at, warm_from, cosine)
            for gr in opt.param_groups:
                gr["lr"] = lr * gr.get("lr_scale", 1.0)
            # this worker's share of the step's batch of workers x --batch crops
            x = data.batch(args.batch * workers.world, seed, step, share
                           ).to(memory_format=torch.channels_last)
            torch.manual_seed(seed * 1_000_003 + step)  # rate positions and quantization noise
            t = rate_positions(args.batch * workers.world, K, args.rate_skew)[share]
            if workers.rank:  # the other workers' noise is their own
                torch.manual_seed(seed * 1_000_003 + step + (workers.rank << 40))
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                if distiller is None:
                    ramp = None if not args.rate_ramp else new_channel_rate_weight(
                        cfg.M, args.new_channels, args.rate_ramp, step)
                    terms = rate_distortion(forward(x, t), x, model.lmbda(t), args.l1, ramp,
                                            args.loss_power, edges)
                else:
                    terms = distiller(model, x, t)
            opt.zero_grad(set_to_none=True)
            terms.get("objective", terms["loss"]).backward()
            workers.average_gradients(main_params)
            norm = torch.nn.utils.clip_grad_norm_(main_params, args.clip or math.inf).item()
            if guard.ok(norm):
                opt.step()
            else:
                print(f"step {step + 1}: gradient norm {norm:.3g} > {guard.factor:g} x its "
                      f"average {guard.mean:.3g}: update skipped ({guard.skipped} so far)",
                      flush=True)
            aux_opt.zero_grad(set_to_none=True)
            model.latent.entropy_bottleneck.loss().backward()
            aux_opt.step()
            if ema is not None:
                ema.update()
            step += 1
            wall = wall0 + time.time() - t_start
            # the workers' means, whether any of them is asked to stop, and their CPU time
            # (all threads of every worker process)
            want_stop = bool(stop) or bool(args.stop_after_minutes and time.time() - t_start
                                           > args.stop_after_minutes * 60)
            *sums, stops, cpu_used = workers.sum([*(terms[k].item() for k in keys),
                                                  float(want_stop), time.process_time() - c_start])
            cpu = cpu0 + cpu_used
            stops = stops or bool(args.cpu_hours and cpu >= args.cpu_hours * 3600)
            means = dict(zip(keys, (v / workers.world for v in sums)))
            if not math.isfinite(means["loss"]):
                raise SystemExit(f"non-finite loss at step {step}; not saving")
            for k in acc:
                acc[k] += means[k]
            n_acc += 1
            if step % SYNC_EVERY == 0:  # the weights are the same bits everywhere; make sure
                workers.broadcast(model.parameters())
            if step % args.log_every == 0:
                a = {k: v / n_acc for k, v in acc.items()}
                log.write(f"{step}\t" + "\t".join(f"{a[k]:.4f}" for k in keys)
                          + f"\t{lr:.2e}\t{wall:.0f}" + (f"\t{cpu:.0f}\n" if log_cpu else "\n"))
                acc = dict.fromkeys(acc, 0.0)
                n_acc = 0
            if (workers.leads and args.eval_every and step % args.eval_every == 0
                    and Path(args.eval_data).is_dir()):
                try:
                    evaluate_now(model, run, step, args, ema)
                except Exception as exc:  # an evaluation must not cost the run (e.g. code
                    # edited under a running process); the error is logged, training goes on
                    print(f"step {step}: evaluation failed, training continues: {exc!r}",
                          flush=True)
                    model.train()
            if workers.leads and time.time() - t_ckpt > args.ckpt_minutes * 60:
                checkpoint()
                t_ckpt = time.time()
            if stops:
                break
    except WorkerLost as exc:
        if workers.leads:
            checkpoint()
        raise SystemExit(f"{exc}; saved at step {step}") from exc
    finally:
        workers.close()
    if not workers.leads:
        return
    checkpoint()
    print(f"stopped at step {step}, {wall / 3600:.2f} h wall, {cpu / 3600:.2f} CPU-hours in total")


def evaluate_now(model: LicModel, run: Path, step: int, args,
                 ema: WeightAverage | None = None) -> None:
    """Evaluate a copy of the model (with the averaged weights when there are) through the
    real codec; see :func:`record_evaluation`."""
    import copy

    snapshot = copy.deepcopy(model).float().eval()
    if ema is not None:
        ema.copy_to(snapshot)
    record_evaluation(snapshot, run, step, Path(args.eval_data), args.eval_images)
    model.train()


def record_evaluation(snapshot: LicModel, run: Path, step: int, data: Path,
                      images: int | None) -> None:
    """Export ``snapshot`` and code ``images`` images of ``data`` (spread over the folder)
    with the real codec (actual bytes); append mean bpp, PSNR and skipped channels per quality
    to the run's ``eval.tsv``."""
    import tempfile


    with tempfile.TemporaryDirectory() as tmp:
        export_model(snapshot, Path(tmp) / f"{snapshot.cfg.arch}.pt")
        rep = evaluate(data, list(EVAL_QUALITIES), snapshot.cfg.arch, weights=Path(tmp),
                       limit=images)
    path = run / "eval.tsv"
    new = not path.exists()
    with open(path, "a") as f:
        if new:
            f.write("step\tquality\tbpp\tpsnr\tskipped_channels\timages\n")
        for s in rep["summary"]:
            f.write(f"{step}\t{s['quality']:g}\t{s['bpp']:.4f}\t{s['psnr']:.3f}\t"
                    f"{s['skipped_channels']:.1f}\t{rep['images']}\n")


def evaluate_run(argv=None) -> None:
    """``python -m training evaluate RUN``: the evaluation a run makes every
    --eval-every steps, of its saved checkpoint (its moving average), from another process
    (e.g. while the run trains on, or after its in-process evaluation failed)."""
    ap = argparse.ArgumentParser(prog="python -m training evaluate")
    ap.add_argument("run", type=Path)
    ap.add_argument("--data", type=Path, default=DEFAULT_VAL)
    ap.add_argument("--images", type=int, default=8)
    args = ap.parse_args(argv)
    state, model = source_model(args.run / "ckpt.pt")
    record_evaluation(model.eval(), args.run, state["step"], args.data, args.images)
    print((args.run / "eval.tsv").read_text().splitlines()[-1])


if __name__ == "__main__":
    if sys.argv[1:2] == ["evaluate"]:
        evaluate_run(sys.argv[2:])
    else:
        main()
