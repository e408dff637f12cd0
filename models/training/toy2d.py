"""MLP eps-prediction score networks on 2-D toy data, for the VE, VP and sub-VP SDEs.

  /usr/bin/python3 models/training/toy2d.py reference                 # reference .npy files
  /usr/bin/python3 models/training/toy2d.py train --data mixture --sde vp
  /usr/bin/python3 models/training/toy2d.py all                       # every data x sde pair

`train` trains (fresh samples every step, 1 thread), exports the EMA weights to
models/toy2d/<data>-<sde>.onnx with the card beside it and in the ONNX metadata, then samples
2000 points with a 1000-step Euler-Maruyama reverse SDE and records the sliced Wasserstein
distance to the reference samples, next to the noise floor (two independent true sample sets).
"""
import argparse
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sde_common import SDE, embed_card, reverse_sde_sample, sliced_wasserstein, to_bcast, write_card  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
OUT_DIR = os.path.join(ROOT, "models", "toy2d")
CKPT_DIR = os.path.join(HERE, "checkpoints")

# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------
# 8 well-separated components on a circle of radius 4 (neighbours 3.06 apart, >= 6 stds),
# unequal weights and stds.
_ANG = np.arange(8) * (2 * np.pi / 8)
MIXTURE = {
    "means": [[round(4 * math.cos(a), 6) + 0.0, round(4 * math.sin(a), 6) + 0.0] for a in _ANG],
    "stds": [0.3, 0.5, 0.35, 0.45, 0.3, 0.5, 0.4, 0.3],
    "weights": [0.2, 0.05, 0.15, 0.1, 0.2, 0.05, 0.15, 0.1],
}


def sample_mixture(n, rng):
    m = np.asarray(MIXTURE["means"])
    s = np.asarray(MIXTURE["stds"])
    w = np.asarray(MIXTURE["weights"])
    k = rng.choice(len(w), size=n, p=w / w.sum())
    return (m[k] + s[k, None] * rng.standard_normal((n, 2))).astype(np.float32)


MOONS = {"noise": 0.08, "scale": 2.0, "shift": [0.5, 0.25]}


def sample_moons(n, rng):
    """sklearn-style two moons (half each, random order), Gaussian noise, centred and scaled."""
    n1 = n // 2
    th = rng.uniform(0, np.pi, size=n)
    outer = np.stack([np.cos(th), np.sin(th)], 1)
    inner = np.stack([1 - np.cos(th), 0.5 - np.sin(th)], 1)
    which = np.zeros(n, bool)
    which[rng.permutation(n)[:n - n1]] = True
    x = np.where(which[:, None], inner, outer) + MOONS["noise"] * rng.standard_normal((n, 2))
    return ((x - np.asarray(MOONS["shift"])) * MOONS["scale"]).astype(np.float32)


DATASETS = {"mixture": sample_mixture, "moons": sample_moons}
REF_SEED = {"mixture": 1234, "moons": 4321}


def reference_path(name):
    return os.path.join(OUT_DIR, f"{name}-reference.npy")


def write_reference(_args=None):
    os.makedirs(OUT_DIR, exist_ok=True)
    for name, fn in DATASETS.items():
        x = fn(5000, np.random.default_rng(REF_SEED[name]))
        np.save(reference_path(name), x)
        print("wrote", reference_path(name), x.shape, x.dtype)


# --------------------------------------------------------------------------------------------
# Network
# --------------------------------------------------------------------------------------------
def neg_expm1(y):
    """-expm1(y) for y <= 0, built from ops ONNX has (torch 1.13 cannot export aten::expm1)."""
    small = y > -1e-2
    series = -y * (1 + y * (0.5 + y * (1.0 / 6 + y / 24)))
    return torch.where(small, series, 1 - torch.exp(y))


class MLP(nn.Module):
    """concat(c_in(t) x, Fourier(t)) -> 3 x (Linear 128, SiLU) -> Linear 2, predicting eps.

    c_in(t) = 1/sqrt(mean(t)^2 data_var + std(t)^2) keeps the input near unit scale for every
    SDE (VE reaches |x| ~ 50); it is computed from t inside the graph.
    """

    def __init__(self, sde_card, data_var, hidden=128, layers=3, n_freq=16):
        super().__init__()
        self.sde_card = dict(sde_card)
        self.data_var = float(data_var)
        self.register_buffer("freqs", 2 * math.pi * torch.exp(torch.linspace(0, math.log(32.0), n_freq)))
        dims = [2 + 2 * n_freq] + [hidden] * layers
        mods = []
        for a, b in zip(dims[:-1], dims[1:]):
            mods += [nn.Linear(a, b), nn.SiLU()]
        mods.append(nn.Linear(hidden, 2))
        self.net = nn.Sequential(*mods)

    def kernel(self, t):
        s = self.sde_card
        if s["kind"] == "ve":
            std = s["sigmaMin"] * torch.exp(math.log(s["sigmaMax"] / s["sigmaMin"]) * t)
            return torch.ones_like(t), std
        m = -0.25 * t * t * (s["betaMax"] - s["betaMin"]) - 0.5 * t * s["betaMin"]
        var = neg_expm1(2 * m)
        std = torch.sqrt(var) if s["kind"] == "vp" else var
        return torch.exp(m), std

    def forward(self, x, t):
        a, std = self.kernel(t)
        c_in = torch.rsqrt(a * a * self.data_var + std * std)
        p = t[:, None] * self.freqs[None, :]
        h = torch.cat([x * c_in[:, None], torch.sin(p), torch.cos(p)], 1)
        return self.net(h)


def n_params(m):
    return sum(p.numel() for p in m.parameters())


# --------------------------------------------------------------------------------------------
# Exact mixture score (for an extra check of the mixture models)
# --------------------------------------------------------------------------------------------
def mixture_eps_exact(x, t, sde):
    m = torch.tensor(MIXTURE["means"], dtype=torch.float64)
    s = torch.tensor(MIXTURE["stds"], dtype=torch.float64)
    w = torch.tensor(MIXTURE["weights"], dtype=torch.float64)
    w = w / w.sum()
    x = x.double()
    a = sde.mean_coef(t.double())[:, None]
    sd = sde.std(t.double())[:, None]
    var = a * a * s[None, :] ** 2 + sd * sd  # [N, K]
    diff = x[:, None, :] - a[:, :, None] * m[None]  # [N, K, 2]
    logp = torch.log(w)[None] - (diff ** 2).sum(-1) / (2 * var) - torch.log(var)  # 2-D: -d/2 log var
    r = torch.softmax(logp, dim=1)
    score = -(r[:, :, None] * diff / var[:, :, None]).sum(1)
    return (-sd * score).float()


# --------------------------------------------------------------------------------------------
# Train / export / evaluate
# --------------------------------------------------------------------------------------------
def train_one(data, kind, steps, batch, lr, ema_decay, seed, log):
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    sde = SDE(kind)
    sampler = DATASETS[data]
    probe = sampler(100000, np.random.default_rng(seed + 1))
    data_var = float(probe.var(0).mean())
    net = MLP(sde.card, data_var)
    ema = MLP(sde.card, data_var)
    ema.load_state_dict(net.state_dict())
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    warmup = 500
    t0 = time.time()
    hist, run, run_n = [], 0.0, 0
    for step in range(1, steps + 1):
        x0 = torch.from_numpy(sampler(batch, rng))
        t = sde.sample_t(batch)
        z = torch.randn_like(x0)
        xt = to_bcast(sde.mean_coef(t), x0) * x0 + to_bcast(sde.std(t), x0) * z
        loss = ((net(xt, t) - z) ** 2).sum(1).mean()
        cur = lr * min(1.0, step / warmup) * 0.5 * (1 + math.cos(math.pi * step / steps)) + 1e-5
        for g in opt.param_groups:
            g["lr"] = cur
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        d = min(ema_decay, (1 + step) / (10 + step))
        with torch.no_grad():
            for pe, pn in zip(ema.parameters(), net.parameters()):
                pe.mul_(d).add_(pn, alpha=1 - d)
        run += loss.item()
        run_n += 1
        if step % 1000 == 0:
            hist.append(run / run_n)
            log(f"  {data}-{kind} step {step} loss {run / run_n:.4f} lr {cur:.2e} {time.time() - t0:.0f}s")
            run, run_n = 0.0, 0
    ema.eval()
    return ema, sde, hist, (time.time() - t0) / 60, data_var


@torch.no_grad()
def eval_loss(net, sde, data, n=200000, seed=99):
    """Held-out DSM loss (sum over the 2 coordinates) on fresh samples, stratified t."""
    gen = torch.Generator().manual_seed(seed)
    x0 = torch.from_numpy(DATASETS[data](n, np.random.default_rng(seed)))
    t = sde.eps + (sde.T - sde.eps) * (torch.arange(n) + 0.5) / n
    z = torch.randn(x0.shape, generator=gen)
    xt = to_bcast(sde.mean_coef(t), x0) * x0 + to_bcast(sde.std(t), x0) * z
    return float(((net(xt, t) - z) ** 2).sum(1).mean())


@torch.no_grad()
def evaluate(net, sde, data, n=2000, reps=5, steps=1000, seed=7):
    """SW_2 of reps disjoint n-sample model sets against the first n reference samples, and the
    noise floor: the same for 20 fresh independent n-sample sets of the true distribution."""
    ref = np.load(reference_path(data))[:n]
    gen = torch.Generator().manual_seed(seed)
    x = reverse_sde_sample(net, sde, (n * reps, 2), steps, "eps", gen=gen).numpy()
    finite = np.isfinite(x).all(1)
    sw = [sliced_wasserstein(x[i * n:(i + 1) * n][finite[i * n:(i + 1) * n]], ref[:int(finite[i * n:(i + 1) * n].sum())])
          for i in range(reps)]
    floor = [sliced_wasserstein(DATASETS[data](n, np.random.default_rng(seed + 100 + i)), ref) for i in range(20)]
    res = {
        "sw": round(float(np.mean(sw)), 4),
        "swStd": round(float(np.std(sw)), 4),
        "swSets": reps,
        "swNoiseFloor": round(float(np.mean(floor)), 4),
        "swNoiseFloorStd": round(float(np.std(floor)), 4),
        "swNoiseFloorSets": len(floor),
        "nonFinite": int((~finite).sum()),
    }
    allx, x = x[finite], x[:n]
    if data == "mixture":
        # exact-score check: relative eps error E|eps_hat - eps*|^2 / E|eps*|^2 at a few t
        rel = {}
        rng = np.random.default_rng(seed + 1)
        for tv in [0.01, 0.1, 0.3, 0.6, 1.0]:
            tt = torch.full((4000,), max(tv, sde.eps))
            x0 = torch.from_numpy(sample_mixture(4000, rng))
            xt = to_bcast(sde.mean_coef(tt), x0) * x0 + to_bcast(sde.std(tt), x0) * torch.randn(x0.shape, generator=gen)
            e_star = mixture_eps_exact(xt, tt, sde)
            rel[str(tv)] = round(float(((net(xt, tt) - e_star) ** 2).sum(1).mean() / (e_star ** 2).sum(1).mean()), 4)
        res["epsRelErrVsExact"] = rel
        # mode weights of all n * reps samples (nearest mean) vs the mixture weights
        m = np.asarray(MIXTURE["means"])
        k = np.argmin(((allx[:, None, :] - m[None]) ** 2).sum(-1), 1)
        res["sampleModeWeights"] = [round(float((k == i).mean()), 3) for i in range(len(m))]
    return res, x


def export(net, sde, data, kind, info):
    os.makedirs(OUT_DIR, exist_ok=True)
    out = os.path.join(OUT_DIR, f"{data}-{kind}.onnx")
    x = torch.randn(5, 2)
    t = torch.tensor([1e-5, 0.01, 0.3, 0.7, 1.0])
    torch.onnx.export(
        net, (x, t), out, opset_version=17, input_names=["x", "t"], output_names=["out"],
        dynamic_axes={"x": {0: "batch"}, "t": {0: "batch"}, "out": {0: "batch"}}, do_constant_folding=True,
    )
    if data == "mixture":
        desc_data = "8-component 2-D Gaussian mixture on a circle of radius 4 (unequal weights and stds)"
        data_card = {"name": "gaussian-mixture-8", "reference": "mixture-reference.npy", "mixture": MIXTURE}
    else:
        desc_data = (f"two moons (sklearn-style, noise {MOONS['noise']}), then (x - {MOONS['shift']}) * "
                     f"{MOONS['scale']}")
        data_card = {"name": "two-moons", "reference": "moons-reference.npy"}
    card = {
        "format": "score-sde-card/1",
        "name": f"toy2d-{data}-{kind}",
        "description": (f"MLP (3 x 128 SiLU, Fourier features of t) predicting the noise eps of the "
                        f"{kind} SDE kernel on {desc_data}; score = -eps/std(t). The graph rescales x by "
                        f"1/sqrt(mean(t)^2 var_data + std(t)^2) internally; feed raw x_t and continuous t."),
        "sde": sde.card,
        "parameterization": "eps",
        "timeInput": "t",
        "sampleShape": [2],
        "inputs": {"x": "x", "t": "t"},
        "output": "out",
        "data": data_card,
        "training": info,
    }
    embed_card(out, card)
    write_card(os.path.join(OUT_DIR, f"{data}-{kind}.card.json"), card)
    with torch.no_grad():
        probe = {"x": x.tolist(), "t": t.tolist(), "out": net(x, t).tolist()}
    return out, probe


def run_pair(data, kind, args, log=print):
    steps = args.steps
    net, sde, hist, minutes, data_var = train_one(data, kind, steps, args.batch, args.lr, args.ema, args.seed, log)
    held = eval_loss(net, sde, data)
    res, samples = evaluate(net, sde, data)
    info = {
        "script": "models/training/toy2d.py",
        "command": f"/usr/bin/python3 models/training/toy2d.py train --data {data} --sde {kind}",
        "steps": steps,
        "batch": args.batch,
        "lr": args.lr,
        "lrSchedule": "500-step warmup, cosine decay",
        "ema": args.ema,
        "minutes": round(minutes, 2),
        "params": n_params(net),
        "finalLoss": round(float(np.mean(hist[-3:])), 4),
        "heldOutLossEma": round(held, 4),
        "loss": "mean_batch sum_coords (eps_hat - eps)^2, t ~ stratified U(eps, 1)",
        "tEps": sde.eps,
        "dataVar": round(data_var, 5),
        "eval": {
            "sampler": "Euler-Maruyama reverse SDE, 1000 uniform steps from T=1 to t=eps, then a Tweedie denoising step",
            "n": 2000,
            "swProjections": 128,
            "swNote": "sliced W2 (128 random directions) of 2000 samples vs reference[:2000]; noise floor = true samples vs reference[:2000]",
            **res,
        },
        "hardware": "1 CPU thread (torch 1.13)",
    }
    out, probe = export(net, sde, data, kind, info)
    os.makedirs(CKPT_DIR, exist_ok=True)
    np.save(os.path.join(CKPT_DIR, f"toy2d-{data}-{kind}-samples.npy"), samples)
    import json

    with open(os.path.join(CKPT_DIR, f"toy2d-{data}-{kind}-probe.json"), "w") as f:
        json.dump(probe, f)
    log(f"{data}-{kind}: params {n_params(net)} loss {info['finalLoss']} held {held:.4f} "
        f"{minutes:.1f} min  eval {res}  -> {out} ({os.path.getsize(out)} bytes)")
    return info


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("reference")
    for name in ["train", "all"]:
        q = sub.add_parser(name)
        if name == "train":
            q.add_argument("--data", choices=list(DATASETS), required=True)
            q.add_argument("--sde", choices=["ve", "vp", "subvp"], required=True)
        q.add_argument("--steps", type=int, default=20000)
        q.add_argument("--batch", type=int, default=512)
        q.add_argument("--lr", type=float, default=2e-3)
        q.add_argument("--ema", type=float, default=0.999)
        q.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    torch.set_num_threads(1)
    if args.cmd == "reference":
        write_reference()
    elif args.cmd == "train":
        if not os.path.exists(reference_path(args.data)):
            write_reference()
        run_pair(args.data, args.sde, args)
    else:
        write_reference()
        for data in DATASETS:
            for kind in ["vp", "subvp", "ve"]:
                run_pair(data, kind, args)


if __name__ == "__main__":
    main()
