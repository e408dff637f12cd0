#!/usr/bin/python3
"""
Exports "exact" score networks: ONNX graphs that compute the closed-form score of a Gaussian
mixture under an SDE's perturbation kernel (the same maths as models/gaussian-mixture.ts),
taking time in a given convention and answering in a given parameterization. They let the ONNX
path (models/onnx/) be checked against GaussianMixtureScore to float32 precision.

    p_t = sum_k w_k N(alpha mu_k, diag(alpha^2 sigma_k^2 + s^2)),   alpha = meanCoef(t), s = std(t)
    score = sum_k r_k(x) (alpha mu_k - x) / (alpha^2 sigma_k^2 + s^2),  r = softmax of the log-densities

Inputs and output are float32 like a real network (float16 for the -fp16 variant); the graph
casts to float64 inside, so the only error is the rounding at its edges. Each file carries its
model card twice: in the ONNX metadata (key `score_sde_card`) and in `<name>.card.json` beside it.

The class-conditional variants (-cond) take a third input y (int64 [batch]): label k < 3 gives
the score of component k alone, the null label 3 the whole mixture's (what a classifier-free
guidance network learns; models/class-mixture.ts in closed form).

Run from the repository root (needs torch and onnx; /usr/bin/python3 has both):
    /usr/bin/python3 models/exact/export_exact_mixture.py          # all
    /usr/bin/python3 models/exact/export_exact_mixture.py cond     # the conditional ones only
"""
import json
import math
import os
import re

import onnx
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
OPSET = 17

MIXTURE = {
    'means': [[-4.0, 0.0], [4.0, 0.0], [0.0, 4.0]],
    'stds': [[0.3, 0.5], [0.5, 0.3], [0.4, 0.4]],
    'weights': [0.5, 0.3, 0.2],
}
SDES = {
    'vp': {'kind': 'vp', 'schedule': 'linear', 'betaMin': 0.1, 'betaMax': 20, 'T': 1},
    'subvp': {'kind': 'subvp', 'schedule': 'linear', 'betaMin': 0.1, 'betaMax': 20, 'T': 1},
    've': {'kind': 've', 'sigmaMin': 0.01, 'sigmaMax': 50, 'T': 1},
}
TIMESTEPS = 1000
TIMES = ['t', 't999', 'sigma', 'timestep', 'edm_c_noise']
PARAMS = ['score', 'eps', 'x0']

# (sde, time, param, variant): variant '' is float32 with a dynamic batch axis.
EXPORTS = (
    [('vp', time, param, '') for time in TIMES for param in PARAMS]
    + [('ve', 't', 'score', ''), ('ve', 'sigma', 'score', ''), ('ve', 'edm_c_noise', 'eps', '')]
    + [('subvp', 't', 'score', ''), ('subvp', 't999', 'eps', ''), ('subvp', 'sigma', 'eps', '')]
    + [('vp', 't', 'eps', 'fp16'), ('vp', 't', 'score', 'b8')]
)
STATIC_BATCH = 8
CLASSES = ['west', 'east', 'north']
# (sde, time, param, variant) of the conditional exports: dynamic batch, and a static batch of 8.
EXPORTS_COND = [('vp', 't', 'eps', 'cond'), ('vp', 't', 'score', 'cond-b8')]


class ExactMixtureScore(nn.Module):
    def __init__(self, sde, time, param, io_dtype):
        super().__init__()
        self.sde, self.time, self.param, self.io_dtype = sde, time, param, io_dtype
        d = torch.float64
        means = torch.tensor(MIXTURE['means'], dtype=d)
        stds = torch.tensor(MIXTURE['stds'], dtype=d)
        w = torch.tensor(MIXTURE['weights'], dtype=d)
        self.register_buffer('means', means)  # K x D
        self.register_buffer('var0', stds * stds)  # K x D
        self.register_buffer('logw', torch.log(w / w.sum()))  # K

    def kernel_from_t(self, t):
        """alpha(t), std(t) from continuous t."""
        p = self.sde
        if p['kind'] == 've':
            s = p['sigmaMin'] * torch.exp(math.log(p['sigmaMax'] / p['sigmaMin']) * (t / p['T']))
            return torch.ones_like(t), s
        m = -0.25 * t * t * (p['betaMax'] - p['betaMin']) - 0.5 * t * p['betaMin']
        a = torch.exp(m)
        one_minus = 1.0 - torch.exp(2.0 * m)
        s = torch.sqrt(one_minus) if p['kind'] == 'vp' else one_minus
        return a, s

    def kernel_from_sigma(self, s):
        kind = self.sde['kind']
        if kind == 've':
            return torch.ones_like(s), s
        if kind == 'vp':  # s^2 = 1 - alpha^2
            return torch.sqrt(1.0 - s * s), s
        return torch.sqrt(1.0 - s), s  # sub-VP: s = 1 - alpha^2

    def kernel_from_edm(self, c):
        se = torch.exp(4.0 * c)  # sigma_edm = std / alpha
        kind = self.sde['kind']
        if kind == 've':
            return torch.ones_like(se), se
        if kind == 'vp':  # s = se a, s^2 + a^2 = 1
            a = 1.0 / torch.sqrt(1.0 + se * se)
            return a, se * a
        a = 0.5 * (torch.sqrt(se * se + 4.0) - se)  # sub-VP: se a = 1 - a^2
        return a, se * a

    def forward(self, x, t, y=None):
        xd = x.to(torch.float64)
        td = t.to(torch.float64)
        T = self.sde['T']
        if self.time == 't':
            a, s = self.kernel_from_t(td)
        elif self.time == 't999':
            a, s = self.kernel_from_t(td / 999.0)
        elif self.time == 'timestep':
            a, s = self.kernel_from_t(td / (TIMESTEPS - 1) * T)
        elif self.time == 'sigma':
            a, s = self.kernel_from_sigma(td)
        elif self.time == 'edm_c_noise':
            a, s = self.kernel_from_edm(td)
        else:
            raise ValueError(self.time)
        a3 = a[:, None, None]
        s2 = (s * s)[:, None, None]
        v = a3 * a3 * self.var0[None] + s2  # N x K x D
        r = xd[:, None, :] - a3 * self.means[None]  # N x K x D
        logw = self.logw[None]
        if y is not None:  # label k < K: component k alone; the null label K: the mixture
            K = self.logw.shape[0]
            onehot = torch.nn.functional.one_hot(torch.clamp(y, max=K - 1), K).to(torch.float64)
            only = (1.0 - onehot) * -1e30
            logw = torch.where((y == K)[:, None], logw, only)
        lp = logw - 0.5 * (torch.log(v) + r * r / v).sum(-1)  # N x K
        resp = torch.softmax(lp, dim=1)
        score = (resp[:, :, None] * (-r / v)).sum(1)  # N x D
        if self.param == 'score':
            y = score
        elif self.param == 'eps':
            y = -s[:, None] * score
        elif self.param == 'x0':
            y = (xd + (s * s)[:, None] * score) / a[:, None]
        else:
            raise ValueError(self.param)
        return y.to(self.io_dtype)


def card_for(sde, time, param, variant, name):
    card = {
        'format': 'score-sde-card/1',
        'name': name,
        'description': (
            f'Exact score of a 3-component 2-D Gaussian mixture under the {sde} SDE (closed form, no training): '
            f"time input '{time}', output '{param}'"
            + (', float16 inputs and output' if variant == 'fp16' else '')
            + (f', static batch of {STATIC_BATCH}' if variant.endswith('b8') else '')
            + '. For checking the ONNX path against GaussianMixtureScore.'
        ),
        'sde': SDES[sde],
        'parameterization': param,
        'timeInput': time,
        'sampleShape': [2],
        'inputs': {'x': 'x', 't': 't'},
        'output': 'out',
        'data': {'name': 'mixture3-2d', 'mixture': MIXTURE},
        'training': {'script': 'models/exact/export_exact_mixture.py', 'exact': True, 'parameters': 0},
    }
    if variant.startswith('cond'):
        card['description'] += f' Class-conditional: input y (int64 [batch]) is a component 0-2 or the null label 3 (the mixture).'
        card['inputs']['label'] = 'y'
        card['conditioning'] = {'input': 'y', 'classes': CLASSES, 'nullLabel': len(CLASSES)}
    if time == 'timestep':
        card['timesteps'] = TIMESTEPS
    return card


def pretty_json(obj):
    """Indented JSON with arrays of numbers kept on one line."""
    text = json.dumps(obj, indent=2)
    return re.sub(r'\[\s*([-0-9.,\s]+?)\s*\]', lambda m: '[' + ', '.join(v.strip() for v in m.group(1).split(',')) + ']', text)


def export(sde, time, param, variant):
    name = f'mixture-{sde}-{time}-{param}' + (f'-{variant}' if variant else '')
    io_dtype = torch.float16 if variant == 'fp16' else torch.float32
    model = ExactMixtureScore(SDES[sde], time, param, io_dtype).eval()
    n = STATIC_BATCH if variant.endswith('b8') else 5
    x = torch.randn(n, 2).to(io_dtype)
    t = torch.full((n,), 0.5 if time in ('t', 'sigma', 'edm_c_noise') else 500.0)
    t = t.to(torch.int64) if time == 'timestep' else t.to(io_dtype)
    cond = variant.startswith('cond')
    inputs, names = ((x, t, torch.arange(n) % (len(CLASSES) + 1)), ['x', 't', 'y']) if cond else ((x, t), ['x', 't'])
    dynamic = None if variant.endswith('b8') else {k: {0: 'batch'} for k in names + ['out']}
    path = os.path.join(HERE, name + '.onnx')
    torch.onnx.export(model, inputs, path, input_names=names, output_names=['out'],
                      dynamic_axes=dynamic, opset_version=OPSET, do_constant_folding=True)
    card = card_for(sde, time, param, variant, name)
    proto = onnx.load(path)
    proto.producer_name = 'score-sde/models/exact/export_exact_mixture.py'
    proto.doc_string = card['description']
    entry = proto.metadata_props.add()
    entry.key = 'score_sde_card'
    entry.value = json.dumps(card, separators=(',', ':'))
    onnx.checker.check_model(proto)
    onnx.save(proto, path)
    with open(os.path.join(HERE, name + '.card.json'), 'w') as f:
        f.write(pretty_json(card) + '\n')
    print(f'{name}.onnx  {os.path.getsize(path)} bytes')


if __name__ == '__main__':
    import sys

    torch.manual_seed(0)
    for spec in EXPORTS_COND if sys.argv[1:] == ['cond'] else EXPORTS + EXPORTS_COND:
        export(*spec)
