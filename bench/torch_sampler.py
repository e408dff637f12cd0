#!/usr/bin/env python3
"""PyTorch baseline for `npm run bench` (never used at sampling time).

Runs the SAME weights as a shipped .onnx model (read from its initializers, whose names are the
torch state_dict's) through plain torch sampler loops in the style of score_sde's sampling.py:
Euler-Maruyama, predictor-corrector (reverse diffusion + Langevin, batch-mean norms as the
reference), and Heun on the probability-flow ODE, on the time grid the TypeScript solvers use.

Usage: torch_sampler.py '<json>' with keys model, batch, nfe, threads, reps, solvers, and optionally
device ("cpu", the default, or "cuda": then torch.cuda must be available, and every timed run ends
with torch.cuda.synchronize()).
Prints one JSON object: {"torch": version, "threads", "probe": network output on a fixed input,
"rows": [{solver, nfe, seconds, samplesPerSecond}]}.
"""
import json
import math
import os
import statistics
import sys
import time

import numpy as np
import onnx
import torch
from onnx import numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "models", "training"))
from sde_common import SDE  # noqa: E402


def build_network(model_path):
    """The torch module of a shipped model with its weights: from <model>.pt (a state_dict, shipped
    where the ONNX export renames parameters, as GroupNorm's) or else from the ONNX initializers,
    whose names are the state_dict's."""
    stem = model_path[: -len(".onnx")]
    card = json.load(open(stem + ".card.json"))
    if os.path.exists(stem + ".pt"):
        weights = torch.load(stem + ".pt")
    else:
        weights = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in onnx.load(model_path).graph.initializer}
    if card["sampleShape"] == [2]:
        from toy2d import MLP

        net = MLP(card["sde"], card["training"]["dataVar"])
    else:
        from fashion_unet import UNet

        ch = (weights["inc.weight"].shape[0], weights["d2.c1.weight"].shape[0], weights["d3.c1.weight"].shape[0])
        net = UNet(ch=ch, sde_card=card["sde"])
    state = net.state_dict()
    missing = [k for k in state if k not in weights and not k.endswith("freqs") and not k.endswith("W")]
    if missing:
        raise SystemExit(f"weights missing from {model_path}: {missing[:5]}")
    net.load_state_dict({k: weights.get(k, v) for k, v in state.items()})
    net.eval()
    return net, card


def bcast(v, x):
    return v.reshape((-1,) + (1,) * (x.dim() - 1))


class Sampler:
    def __init__(self, net, card, device="cpu"):
        self.net = net
        self.device = torch.device(device)
        self.sde = SDE(card["sde"]["kind"], **{k: v for k, v in card["sde"].items() if k != "kind"})
        self.shape = card["sampleShape"]

    def score(self, x, t):
        tb = torch.full((x.shape[0],), float(t), device=x.device)
        return -self.net(x, tb) / bcast(self.sde.std(tb), x)

    def coef(self, t):
        tb = torch.tensor([float(t)])
        return float(self.sde.drift_coef(tb)), float(self.sde.diffusion(tb))

    def grid(self, steps):
        return torch.linspace(self.sde.T, self.sde.eps, steps + 1, dtype=torch.float64).tolist()

    def prior(self, n):
        return torch.randn([n] + self.shape, device=self.device) * self.sde.prior_std()

    def euler_maruyama(self, n, nfe):
        x, ts = self.prior(n), self.grid(nfe)
        for t, tn in zip(ts[:-1], ts[1:]):
            dt = tn - t
            a, g = self.coef(t)
            x = x + (a * x - g * g * self.score(x, t)) * dt + g * math.sqrt(-dt) * torch.randn_like(x)
        return x

    def pc(self, n, nfe, snr=0.16):
        """Reverse-diffusion predictor + one Langevin corrector step, batch-mean norms."""
        x, ts = self.prior(n), self.grid(nfe // 2)
        for t, tn in zip(ts[:-1], ts[1:]):
            alpha, f_coef, G = self.discretize(t, tn)
            grad, z = self.score(x, t), torch.randn_like(x)
            gn = torch.norm(grad.reshape(n, -1), dim=-1).mean()
            zn = torch.norm(z.reshape(n, -1), dim=-1).mean()
            eps = (snr * zn / gn) ** 2 * 2 * alpha
            x = x + eps * grad + torch.sqrt(eps * 2) * z
            s = self.score(x, t)
            x = x - f_coef * x + G * G * s + G * torch.randn_like(x)
        return x

    def discretize(self, t, tn):
        """(Langevin alpha, f coefficient, G) of the SDE's own discretization, as sdes/*.ts."""
        if self.sde.kind == "ve":
            s, sn = (float(self.sde.sigma_ve(torch.tensor([v]))) for v in (t, tn))
            return 1.0, 0.0, math.sqrt(s * s - sn * sn)
        m, mn = (float(self.sde.log_mean_coef(torch.tensor([v]))) for v in (t, tn))
        beta = -math.expm1(2 * (m - mn))
        if self.sde.kind == "vp":
            return 1 - beta, math.sqrt(1 - beta) - 1, math.sqrt(beta)
        a, g = self.coef(t)
        return 1 - beta, a * (t - tn), g * math.sqrt(t - tn)

    def heun(self, n, nfe):
        x, ts = self.prior(n), self.grid(nfe // 2)
        for t, tn in zip(ts[:-1], ts[1:]):
            h = tn - t
            a, g = self.coef(t)
            d0 = a * x - 0.5 * g * g * self.score(x, t)
            xe = x + h * d0
            a1, g1 = self.coef(tn)
            d1 = a1 * xe - 0.5 * g1 * g1 * self.score(xe, tn)
            x = x + 0.5 * h * (d0 + d1)
        return x


def main():
    args = json.loads(sys.argv[1])
    device = args.get("device", "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise SystemExit(f"torch {torch.__version__} has no CUDA here (torch.cuda.is_available() is False; a CPU-only build?)")
    torch.set_num_threads(int(args["threads"]))
    torch.manual_seed(0)
    net, card = build_network(os.path.join(ROOT, args["model"]))
    net = net.to(device)
    sampler = Sampler(net, card, device)

    def sync():
        if device == "cuda":
            torch.cuda.synchronize()

    # Probe: the network on a fixed input, which the benchmark compares with onnxruntime's output
    # to show both sides run the same weights.
    dim = int(np.prod(card["sampleShape"]))
    probe_x = torch.linspace(-2, 2, 4 * dim).reshape([4] + card["sampleShape"]).to(device)
    with torch.no_grad():
        probe = net(probe_x, torch.full((4,), 0.3, device=device)).flatten().tolist()
    rows = []
    with torch.no_grad():
        for name in args["solvers"]:
            run = getattr(sampler, name)
            run(args["batch"], 4)  # warm-up
            sync()
            times = []
            for _ in range(int(args["reps"])):
                t0 = time.perf_counter()
                x = run(args["batch"], int(args["nfe"]))
                sync()
                times.append(time.perf_counter() - t0)
                if not torch.isfinite(x).all():
                    raise SystemExit(f"torch {name}: non-finite samples")
            sec = statistics.median(times)
            rows.append({"solver": name, "nfe": int(args["nfe"]), "seconds": sec, "samplesPerSecond": args["batch"] / sec})
    print(json.dumps({"torch": torch.__version__, "device": device, "threads": torch.get_num_threads(), "probe": probe, "rows": rows}))


if __name__ == "__main__":
    main()
