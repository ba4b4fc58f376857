"""Does torch.compile change what a training step computes, beyond the noise of bf16 itself?

Results: results/training.md (torch.compile numerics).

An R-D A/B of compiled against eager training cannot answer this cheaply: the two draw
different quantization noise (compiled code has its own random stream), so their curves differ
by ~1% whatever the compiler does. Here the randomness is taken out instead: the latent is
rounded (the trainer's --quant hard, straight-through), one fixed batch and fixed rate
positions, and the loss and the gradient of every parameter are compared between

    eager fp32 (the reference), eager bf16 autocast (what training runs), compiled bf16.

If compiled-vs-eager-bf16 is far below eager-bf16-vs-fp32, compiling adds nothing that bf16
does not already add, and an R-D difference between compiled and eager runs is noise.

    python experiments/compile_numerics.py runs/teacher_v2/ckpt.pt [BATCHES]
"""

from __future__ import annotations

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))  # training/, beside lic_codec


import sys

import torch


def grads(model, forward, x, t, bf16: bool) -> tuple[float, torch.Tensor]:
    from training.losses import rate_distortion

    model.zero_grad(set_to_none=True)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        loss = rate_distortion(forward(x, t), x, model.lmbda(t), 1.0)["loss"]
    loss.backward()
    g = torch.cat([p.grad.flatten().float() for n, p in model.named_parameters()
                   if p.grad is not None and not n.endswith("quantiles")])
    return loss.item(), g


def main() -> None:
    from lic_codec.models.lic import LicModel
    from training.checkpoint import load_checkpoint
    from training.compiler import compile_for_training
    from training.data import CropDataset

    path = sys.argv[1]
    batches = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    torch.set_num_threads(1)
    state = load_checkpoint(path)
    model = LicModel.from_state_dict(state["config"], state["model"])
    model = model.float().to(memory_format=torch.channels_last).train()
    model.latent.hard = True  # deterministic: no quantization noise
    compiled = compile_for_training(model)
    data = CropDataset("../shared/data/train", 128)
    print("batch\tloss fp32\tbf16-fp32 loss\tcompiled-bf16 loss\t"
          "grad rel.err bf16 vs fp32\tgrad rel.err compiled vs bf16")
    for b in range(batches):
        x = data.batch(8, 12345, b).to(memory_format=torch.channels_last)
        t = torch.linspace(0, model.cfg.num_levels - 1, 8)
        l32, g32 = grads(model, model, x, t, False)
        l16, g16 = grads(model, model, x, t, True)
        lc, gc = grads(model, compiled, x, t, True)
        e16 = ((g16 - g32).norm() / g32.norm()).item()
        ec = ((gc - g16).norm() / g16.norm()).item()
        print(f"{b}\t{l32:.5f}\t{l16 - l32:+.5f}\t{lc - l16:+.5f}\t{e16:.4f}\t{ec:.4f}",
              flush=True)


if __name__ == "__main__":
    main()
