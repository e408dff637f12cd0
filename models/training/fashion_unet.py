"""Small U-Net eps-prediction score network for Fashion-MNIST 28x28, VP or VE SDE.

  /usr/bin/python3 models/training/fashion_unet.py train  --sde vp --minutes 45
  /usr/bin/python3 models/training/fashion_unet.py export --sde vp
  /usr/bin/python3 models/training/fashion_unet.py sample --sde vp --steps 500 --png /tmp/fmnist_vp_check.png
  /usr/bin/python3 models/training/fashion_unet.py reference

Training is time-budgeted (--minutes) and resumable: it checkpoints to
models/training/checkpoints/fashion-<sde>.pt every --ckpt-minutes and at the end, and a
re-run with --resume continues from there. Export always reads the latest checkpoint and
writes the EMA weights. Single-threaded on purpose (shared CPU).
"""
import argparse
import gzip
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sde_common import SDE, embed_card, reverse_sde_sample, to_bcast, write_card  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
CKPT_DIR = os.path.join(HERE, "checkpoints")
OUT_DIR = os.path.join(ROOT, "models", "fashion-mnist")
DATA_DIR = "/usr/share/datasets/fashion-mnist"


def load_idx_images(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, n, rows, cols = np.frombuffer(data[:16], dtype=">u4")
    assert magic == 2051, f"bad idx magic in {path}"
    return np.frombuffer(data[16:], dtype=np.uint8).reshape(n, 1, rows, cols)


def to_unit_range(u8):
    return (u8.astype(np.float32) / 127.5 - 1.0).astype(np.float32)


# --------------------------------------------------------------------------------------------
# Network
# --------------------------------------------------------------------------------------------
class FourierEmbedding(nn.Module):
    """Gaussian Fourier features of t in [0, 1] (fixed random frequencies), then an MLP."""

    def __init__(self, n_freq=16, scale=16.0, dim=64):
        super().__init__()
        self.register_buffer("W", torch.randn(n_freq) * scale)
        self.mlp = nn.Sequential(nn.Linear(2 * n_freq, dim), nn.SiLU(), nn.Linear(dim, dim))

    def forward(self, t):
        p = 2 * math.pi * t[:, None] * self.W[None, :]
        return self.mlp(torch.cat([torch.sin(p), torch.cos(p)], dim=1))


def gn(c):
    return nn.GroupNorm(min(8, c // 4), c)


class ResBlock(nn.Module):
    def __init__(self, cin, cout, emb):
        super().__init__()
        self.n1, self.c1 = gn(cin), nn.Conv2d(cin, cout, 3, padding=1)
        self.e = nn.Linear(emb, cout)
        self.n2, self.c2 = gn(cout), nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()
        nn.init.zeros_(self.c2.weight)
        nn.init.zeros_(self.c2.bias)

    def forward(self, x, e):
        h = self.c1(F.silu(self.n1(x)))
        h = h + self.e(e)[:, :, None, None]
        h = self.c2(F.silu(self.n2(h)))
        return self.skip(x) + h


class UNet(nn.Module):
    """28 -> 14 -> 7 and back, one ResBlock per level on each side, concatenated skips.

    For VE the input is scaled by 1/sqrt(1 + sigma(t)^2) inside the graph (x_t reaches |x| ~ 50);
    the ONNX graph therefore still takes the raw x_t and continuous t.
    """

    def __init__(self, ch=(16, 32, 64), emb=64, sde_card=None, n_classes=0):
        super().__init__()
        c1, c2, c3 = ch
        self.sde_card = dict(sde_card or {"kind": "vp"})
        self.temb = FourierEmbedding(dim=emb)
        # Class-conditional: label n_classes is the null label (classifier-free guidance), its
        # embedding learnt like the others; added to the time embedding.
        self.n_classes = n_classes
        if n_classes:
            self.yemb = nn.Embedding(n_classes + 1, emb)
        self.inc = nn.Conv2d(1, c1, 3, padding=1)
        self.d1 = ResBlock(c1, c1, emb)
        self.down1 = nn.Conv2d(c1, c1, 3, stride=2, padding=1)  # 28 -> 14
        self.d2 = ResBlock(c1, c2, emb)
        self.down2 = nn.Conv2d(c2, c2, 3, stride=2, padding=1)  # 14 -> 7
        self.d3 = ResBlock(c2, c3, emb)
        self.mid = ResBlock(c3, c3, emb)
        self.u3 = ResBlock(c3 + c3, c2, emb)
        self.u2 = ResBlock(c2 + c2, c1, emb)
        self.u1 = ResBlock(c1 + c1, c1, emb)
        self.outn = gn(c1)
        self.outc = nn.Conv2d(c1, 1, 3, padding=1)

    def in_scale(self, x, t):
        s = self.sde_card
        if s["kind"] != "ve":
            return x
        sigma = s["sigmaMin"] * torch.exp(math.log(s["sigmaMax"] / s["sigmaMin"]) * t)
        return x * torch.rsqrt(1.0 + sigma * sigma)[:, None, None, None]

    def forward(self, x, t, y=None):
        e = self.temb(t)
        if self.n_classes:
            e = e + self.yemb(y)
        h = self.inc(self.in_scale(x, t))
        h1 = self.d1(h, e)  # 28
        h2 = self.d2(self.down1(h1), e)  # 14
        h3 = self.d3(self.down2(h2), e)  # 7
        h = self.mid(h3, e)
        h = self.u3(torch.cat([h, h3], 1), e)  # 7, c2
        h = F.interpolate(h, scale_factor=2.0, mode="nearest")  # 14
        h = self.u2(torch.cat([h, h2], 1), e)  # 14, c1
        h = F.interpolate(h, scale_factor=2.0, mode="nearest")  # 28
        h = self.u1(torch.cat([h, h1], 1), e)
        return self.outc(F.silu(self.outn(h)))


def n_params(m):
    return sum(p.numel() for p in m.parameters())


# --------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------
N_CLASSES = 10


def ckpt_path(kind, cond=False):
    return os.path.join(CKPT_DIR, f"fashion-{kind}{'-cond' if cond else ''}.pt")


def model_name(kind, cond=False):
    return f"unet-{kind}{'-cond' if cond else ''}"


def load_idx_labels(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, _n = np.frombuffer(data[:8], dtype=">u4")
    assert magic == 2049, f"bad idx magic in {path}"
    return np.frombuffer(data[8:], dtype=np.uint8).astype(np.int64)


def save_ckpt(path, state):
    tmp = path + ".tmp"
    torch.save(state, tmp)
    os.replace(tmp, path)


def train(args):
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    os.makedirs(CKPT_DIR, exist_ok=True)
    sde = SDE(args.sde)
    data = torch.from_numpy(to_unit_range(load_idx_images(os.path.join(DATA_DIR, "train-images-idx3-ubyte.gz"))))
    labels = torch.from_numpy(load_idx_labels(os.path.join(DATA_DIR, "train-labels-idx1-ubyte.gz")))
    n_classes = N_CLASSES if args.cond else 0
    net = UNet(ch=tuple(args.ch), sde_card=sde.card, n_classes=n_classes)
    ema = UNet(ch=tuple(args.ch), sde_card=sde.card, n_classes=n_classes)
    ema.load_state_dict(net.state_dict())
    for p in ema.parameters():
        p.requires_grad_(False)
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    step, epoch, minutes_done, loss_hist = 0, 0, 0.0, []
    path = ckpt_path(args.sde, args.cond)
    if args.resume and os.path.exists(path):
        st = torch.load(path)
        net.load_state_dict(st["net"])
        ema.load_state_dict(st["ema"])
        opt.load_state_dict(st["opt"])
        step, epoch, minutes_done, loss_hist = st["step"], st["epoch"], st["minutes"], st["loss_hist"]
        torch.set_rng_state(st["rng"])
        print(f"resumed from {path} at step {step}, epoch {epoch}", flush=True)
    print(f"sde={sde.card} params={n_params(net)} batch={args.batch} lr={args.lr}", flush=True)

    def state(epoch_f):
        return {
            "net": net.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(),
            "step": step, "epoch": epoch_f, "minutes": minutes_done + (time.time() - t0) / 60,
            "loss_hist": loss_hist, "rng": torch.get_rng_state(), "ch": list(args.ch),
            "sde": sde.card, "batch": args.batch, "lr": args.lr, "ema_decay": args.ema,
            "n_classes": n_classes, "p_uncond": args.p_uncond,
        }

    t0 = time.time()
    last_ckpt = t0
    deadline = t0 + args.minutes * 60
    n = data.shape[0]
    running, run_n = 0.0, 0
    done = False
    while not done:
        perm = torch.randperm(n)
        nb = n // args.batch
        for b in range(nb):
            batch_idx = perm[b * args.batch:(b + 1) * args.batch]
            x0 = data[batch_idx]
            y = None
            if n_classes:
                # Labels dropped to the null label with probability p_uncond: one network, both scores.
                y = labels[batch_idx].clone()
                y[torch.rand(y.shape[0]) < args.p_uncond] = n_classes
            if args.flip:
                flip = torch.rand(x0.shape[0]) < 0.5
                x0 = torch.where(flip[:, None, None, None], x0.flip(3), x0)
            t = sde.sample_t(x0.shape[0])
            z = torch.randn_like(x0)
            xt = to_bcast(sde.mean_coef(t), x0) * x0 + to_bcast(sde.std(t), x0) * z
            loss = ((net(xt, t, y) - z) ** 2).mean()
            lr = args.lr * min(1.0, (step + 1) / args.warmup)
            for g in opt.param_groups:
                g["lr"] = lr
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
            step += 1
            d = min(args.ema, (1 + step) / (10 + step))
            with torch.no_grad():
                for pe, pn in zip(ema.parameters(), net.parameters()):
                    pe.mul_(d).add_(pn.detach(), alpha=1 - d)
            running += loss.item()
            run_n += 1
            if step % args.log_every == 0:
                loss_hist.append((step, running / run_n))
                el = (time.time() - t0) / 60
                print(f"step {step} epoch {epoch + b / nb:.2f} loss {running / run_n:.4f} lr {lr:.2e} "
                      f"{el:.1f} min ({(time.time() - t0) / step if step else 0:.3f} s/step this run)",
                      flush=True)
                running, run_n = 0.0, 0
            now = time.time()
            if now - last_ckpt > args.ckpt_minutes * 60:
                save_ckpt(path, state(epoch + (b + 1) / nb))
                last_ckpt = now
            if now > deadline:
                done = True
                ep = epoch + (b + 1) / nb
                break
        else:
            epoch += 1
            ep = epoch
            save_ckpt(path, state(ep))
            last_ckpt = time.time()
    save_ckpt(path, state(ep))
    print(f"done: step {step} epoch {ep:.2f}, saved {path}", flush=True)


# --------------------------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------------------------
def load_ema(kind, cond=False):
    st = torch.load(ckpt_path(kind, cond))
    net = UNet(ch=tuple(st["ch"]), sde_card=st["sde"], n_classes=st.get("n_classes", 0))
    net.load_state_dict(st["ema"])
    net.eval()
    return net, st


CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def make_card(kind, st, net):
    cond = bool(st.get("n_classes", 0))
    hist = st["loss_hist"]
    tail = [l for _, l in hist[-10:]]
    sde_card = dict(st["sde"])
    desc = (f"Small U-Net (28->14->7, channels {st['ch']}, GroupNorm+SiLU, Gaussian-Fourier t embedding) "
            f"predicting the noise eps of the {kind.upper()} SDE kernel x_t = mean(t) x0 + std(t) eps "
            f"on Fashion-MNIST scaled to [-1, 1]; score = -eps/std(t).")
    if kind == "ve":
        desc += " The graph scales x_t by 1/sqrt(1+sigma(t)^2) internally; feed raw x_t and continuous t."
    if cond:
        desc += (f" Class-conditional: input y (int64 [B]) is a class 0-9 or the null label {st['n_classes']} "
                 f"(labels were dropped to null with probability {st['p_uncond']} in training), so one network "
                 f"gives the conditional and the unconditional score (classifier-free guidance).")
    card = {
        "format": "score-sde-card/1",
        "name": f"fashion-mnist-{model_name(kind, cond)}",
        "description": desc,
        "sde": sde_card,
        "parameterization": "eps",
        "timeInput": "t",
        "sampleShape": [1, 28, 28],
        "dataRange": [-1, 1],
        "inputs": {"x": "x", "t": "t", **({"label": "y"} if cond else {})},
        "output": "out",
        "data": {"name": "fashion-mnist", "reference": "fashion-mnist-test-1000.npy", "classifier": "classifier.onnx"},
        "training": {
            "script": "models/training/fashion_unet.py",
            "command": f"/usr/bin/python3 models/training/fashion_unet.py train --sde {kind}{' --cond' if cond else ''} --minutes <M>",
            "epochs": round(float(st["epoch"]), 2),
            "steps": int(st["step"]),
            "batch": int(st["batch"]),
            "lr": float(st["lr"]),
            "minutes": round(float(st["minutes"]), 1),
            "params": n_params(net),
            "finalLoss": round(float(np.mean(tail)), 5) if tail else None,
            "loss": "mean ||eps_hat - eps||^2 (denoising score matching, lambda = std^2)",
            "tSampling": f"stratified U({SDE(kind).eps:g}, 1)",
            "ema": float(st["ema_decay"]),
            "hardware": "1 CPU thread (torch 1.13)",
        },
    }
    if cond:
        card["conditioning"] = {"input": "y", "classes": CLASSES, "nullLabel": int(st["n_classes"]),
                                "pUncond": float(st["p_uncond"])}
        card["training"]["labelDropout"] = float(st["p_uncond"])
    return card


def export(args):
    torch.set_num_threads(1)
    import onnx

    net, st = load_ema(args.sde, args.cond)
    os.makedirs(OUT_DIR, exist_ok=True)
    name = model_name(args.sde, args.cond)
    out = os.path.join(OUT_DIR, f"{name}.onnx")
    x = torch.randn(4, 1, 28, 28) * (2.0 if args.sde == "vp" else 10.0)
    t = torch.tensor([0.001, 0.3, 0.7, 1.0])
    y = torch.tensor([0, 3, 9, N_CLASSES]) if args.cond else None
    inputs, names = ((x, t, y), ["x", "t", "y"]) if args.cond else ((x, t), ["x", "t"])
    with torch.no_grad():
        ref = net(*inputs).numpy()
    axes = {k: {0: "batch"} for k in names + ["out"]}
    torch.onnx.export(net, inputs, out, opset_version=17, input_names=names, output_names=["out"],
                      dynamic_axes=axes, do_constant_folding=True)
    card = make_card(args.sde, st, net)
    embed_card(out, card)
    write_card(os.path.join(OUT_DIR, f"{name}.card.json"), card)
    onnx.checker.check_model(onnx.load(out))
    import json

    with open(os.path.join(CKPT_DIR, f"fashion-{args.sde}{'-cond' if args.cond else ''}-probe.json"), "w") as f:
        json.dump({"x": x.numpy().ravel().tolist(), "xShape": list(x.shape), "t": t.tolist(),
                   **({"y": y.tolist()} if args.cond else {}), "out": ref.ravel().tolist()}, f)
    print(f"wrote {out} ({os.path.getsize(out)} bytes), params {n_params(net)}, "
          f"step {st['step']}, epoch {st['epoch']:.2f}, loss {card['training']['finalLoss']}")


def write_reference(_args):
    os.makedirs(OUT_DIR, exist_ok=True)
    x = to_unit_range(load_idx_images(os.path.join(DATA_DIR, "t10k-images-idx3-ubyte.gz"))[:1000])
    np.save(os.path.join(OUT_DIR, "fashion-mnist-test-1000.npy"), x)
    print("wrote", x.shape, x.dtype, x.min(), x.max())


def save_grid(x, path, nrow=4):
    from PIL import Image

    x = ((x.clamp(-1, 1) + 1) * 127.5).round().byte().numpy()[:, 0]
    n = x.shape[0]
    ncol = int(math.ceil(n / nrow))
    grid = np.zeros((nrow * 30, ncol * 30), dtype=np.uint8)
    for i in range(n):
        r, c = divmod(i, ncol)
        grid[r * 30 + 1:r * 30 + 29, c * 30 + 1:c * 30 + 29] = x[i]
    Image.fromarray(grid).resize((grid.shape[1] * 4, grid.shape[0] * 4), Image.NEAREST).save(path)


def sample(args):
    torch.set_num_threads(1)
    net, st = load_ema(args.sde)
    sde = SDE(args.sde)
    gen = torch.Generator().manual_seed(args.seed)
    t0 = time.time()
    x = reverse_sde_sample(net, sde, (args.n, 1, 28, 28), args.steps, "eps", gen=gen)
    print(f"sampled {args.n} in {time.time() - t0:.1f}s; mean {x.mean():.3f} std {x.std():.3f} "
          f"min {x.min():.2f} max {x.max():.2f}")
    save_grid(x, args.png)
    print("wrote", args.png)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    tr = sub.add_parser("train")
    tr.add_argument("--sde", choices=["vp", "ve"], required=True)
    tr.add_argument("--minutes", type=float, default=45)
    tr.add_argument("--batch", type=int, default=128)
    tr.add_argument("--lr", type=float, default=1e-3)
    tr.add_argument("--warmup", type=int, default=200)
    tr.add_argument("--ema", type=float, default=0.999)
    tr.add_argument("--ch", type=int, nargs=3, default=[16, 32, 64])
    tr.add_argument("--flip", action="store_true", default=True)
    tr.add_argument("--ckpt-minutes", type=float, default=3)
    tr.add_argument("--log-every", type=int, default=50)
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--resume", action="store_true")
    tr.add_argument("--cond", action="store_true", help="class-conditional (label input y, null label 10)")
    tr.add_argument("--p-uncond", type=float, default=0.1, help="label dropout probability (--cond)")
    ex = sub.add_parser("export")
    ex.add_argument("--sde", choices=["vp", "ve"], required=True)
    ex.add_argument("--cond", action="store_true")
    sa = sub.add_parser("sample")
    sa.add_argument("--sde", choices=["vp", "ve"], required=True)
    sa.add_argument("--steps", type=int, default=500)
    sa.add_argument("--n", type=int, default=16)
    sa.add_argument("--seed", type=int, default=0)
    sa.add_argument("--png", default=None)
    sub.add_parser("reference")
    args = p.parse_args()
    if args.cmd == "sample" and args.png is None:
        args.png = f"/tmp/fmnist_{args.sde}_check.png"
    {"train": train, "export": export, "sample": sample, "reference": write_reference}[args.cmd](args)


if __name__ == "__main__":
    main()
