"""Shared SDE formulas, card writing and ONNX metadata for the training scripts.

The kernels match sdes/ve.ts, sdes/vp.ts and sdes/schedules.ts exactly:
  VE     sigma(t) = smin (smax/smin)^t          mean x0,          std sigma(t)
  VP     m(t) = -1/4 t^2 (bmax-bmin) - 1/2 t bmin   mean e^m x0,  std sqrt(1 - e^{2m})
  sub-VP same m(t)                                mean e^m x0,  std 1 - e^{2m}
Training only: the shipped ONNX graphs are what the TypeScript sampler uses.
"""
import json
import math

import numpy as np
import torch

DEFAULTS = {
    "ve": {"kind": "ve", "sigmaMin": 0.01, "sigmaMax": 50.0, "T": 1.0},
    "vp": {"kind": "vp", "schedule": "linear", "betaMin": 0.1, "betaMax": 20.0, "T": 1.0},
    "subvp": {"kind": "subvp", "schedule": "linear", "betaMin": 0.1, "betaMax": 20.0, "T": 1.0},
}
TRAIN_EPS = {"ve": 1e-5, "vp": 1e-3, "subvp": 1e-3}


class SDE:
    """Continuous-time SDE with t in [0, T]; all methods take torch tensors t of shape [B]."""

    def __init__(self, kind, **kw):
        self.kind = kind
        self.card = dict(DEFAULTS[kind])
        self.card.update(kw)
        self.T = float(self.card["T"])
        self.eps = TRAIN_EPS[kind]

    # --- kernel -----------------------------------------------------------------------------
    def log_mean_coef(self, t):
        if self.kind == "ve":
            return torch.zeros_like(t)
        bmin, bmax = self.card["betaMin"], self.card["betaMax"]
        s = t / self.T  # schedules.ts uses t directly with T = 1; keep T = 1.
        return -0.25 * s * s * (bmax - bmin) - 0.5 * s * bmin

    def sigma_ve(self, t):
        smin, smax = self.card["sigmaMin"], self.card["sigmaMax"]
        return smin * torch.exp(math.log(smax / smin) * (t / self.T))

    def mean_coef(self, t):
        return torch.exp(self.log_mean_coef(t))

    def std(self, t):
        if self.kind == "ve":
            return self.sigma_ve(t)
        m = self.log_mean_coef(t)
        if self.kind == "vp":
            return torch.sqrt(-torch.expm1(2 * m))
        return -torch.expm1(2 * m)

    # --- forward SDE coefficients (for the reverse-SDE sanity sampler) ----------------------
    def beta(self, t):
        bmin, bmax = self.card["betaMin"], self.card["betaMax"]
        return bmin + (t / self.T) * (bmax - bmin)

    def drift_coef(self, t):
        if self.kind == "ve":
            return torch.zeros_like(t)
        return -0.5 * self.beta(t)

    def diffusion(self, t):
        if self.kind == "ve":
            smin, smax = self.card["sigmaMin"], self.card["sigmaMax"]
            return self.sigma_ve(t) * math.sqrt(2 * math.log(smax / smin) / self.T)
        if self.kind == "vp":
            return torch.sqrt(self.beta(t))
        return torch.sqrt(self.beta(t) * -torch.expm1(4 * self.log_mean_coef(t)))

    def prior_std(self):
        return self.card["sigmaMax"] if self.kind == "ve" else 1.0

    def sample_t(self, n, gen=None):
        """Stratified t ~ U(eps, T): one uniform offset, n evenly spaced strata (lower variance)."""
        u = (torch.rand(1, generator=gen) + torch.arange(n) / n) % 1.0
        return self.eps + (self.T - self.eps) * u[torch.randperm(n, generator=gen)]


def to_bcast(v, x):
    return v.reshape((-1,) + (1,) * (x.dim() - 1))


@torch.no_grad()
def reverse_sde_sample(net, sde, shape, steps, param="eps", gen=None, denoise=True):
    """Euler-Maruyama on the reverse SDE from t = T to t = eps, then one Tweedie denoising step."""
    x = torch.randn(shape, generator=gen) * sde.prior_std()
    ts = torch.linspace(sde.T, sde.eps, steps + 1)
    for i in range(steps):
        t, tn = ts[i], ts[i + 1]
        dt = tn - t  # negative
        tb = torch.full((shape[0],), float(t))
        score = to_score(net(x, tb), sde, x, tb, param)
        f = to_bcast(sde.drift_coef(tb), x) * x
        g = to_bcast(sde.diffusion(tb), x)
        x = x + (f - g * g * score) * dt + g * math.sqrt(-float(dt)) * torch.randn(shape, generator=gen)
    if denoise:
        tb = torch.full((shape[0],), float(ts[-1]))
        score = to_score(net(x, tb), sde, x, tb, param)
        a, s = to_bcast(sde.mean_coef(tb), x), to_bcast(sde.std(tb), x)
        x = (x + s * s * score) / a
    return x


def to_score(y, sde, x, t, param):
    if param == "score":
        return y
    if param == "eps":
        return -y / to_bcast(sde.std(t), x)
    raise ValueError(param)


def sliced_wasserstein(a, b, n_proj=128, seed=0):
    """SW_2 between two equal-size point clouds (numpy [N, d]), averaged over random directions."""
    rng = np.random.default_rng(seed)
    d = a.shape[1]
    dirs = rng.normal(size=(n_proj, d))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    pa = np.sort(a @ dirs.T, axis=0)
    pb = np.sort(b @ dirs.T, axis=0)
    return float(np.sqrt(np.mean((pa - pb) ** 2)))


def embed_card(onnx_path, card):
    """Adds the card to the ONNX file's metadata_props under key 'score_sde_card'."""
    import onnx

    model = onnx.load(onnx_path)
    del model.metadata_props[:]
    entry = model.metadata_props.add()
    entry.key = "score_sde_card"
    entry.value = json.dumps(card, separators=(",", ":"))
    onnx.checker.check_model(model)
    onnx.save(model, onnx_path)


def write_card(card_path, card):
    with open(card_path, "w") as f:
        json.dump(card, f, indent=2)
        f.write("\n")
