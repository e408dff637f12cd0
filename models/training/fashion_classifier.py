"""Fashion-MNIST classifier whose penultimate layer is the feature space of the image metrics
(Fréchet distance, KID, class coverage in metrics/): the FID-style measuring stick.

  /usr/bin/python3 models/training/fashion_classifier.py train --minutes 30
  /usr/bin/python3 models/training/fashion_classifier.py export

Input: images [B, 1, 28, 28] in [-1, 1] (the U-Nets' data range). Outputs: `features` [B, 256]
(post-ReLU penultimate layer) and `logits` [B, 10]. Trained with random crops (pad 2) and
horizontal flips; BatchNorm is folded into the convolutions at export. The reference statistics
(feature mean and covariance of the test and train sets) are computed by the TypeScript code
(`npm run metrics:reference`), not here, so one implementation makes and reads them.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fashion_unet import DATA_DIR, load_idx_images, to_unit_range  # noqa: E402
from sde_common import write_card  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
CKPT = os.path.join(HERE, "checkpoints", "fashion-classifier.pt")
OUT_DIR = os.path.join(ROOT, "models", "fashion-mnist")
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
FEATURES = 256


def load_labels(path):
    import gzip

    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, n = np.frombuffer(data[:8], dtype=">u4")
    assert magic == 2049, f"bad idx magic in {path}"
    return np.frombuffer(data[8:], dtype=np.uint8).astype(np.int64)


def dataset(split):
    prefix = "train" if split == "train" else "t10k"
    x = to_unit_range(load_idx_images(os.path.join(DATA_DIR, f"{prefix}-images-idx3-ubyte.gz")))
    y = load_labels(os.path.join(DATA_DIR, f"{prefix}-labels-idx1-ubyte.gz"))
    return torch.from_numpy(x), torch.from_numpy(y)


def block(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())


class Classifier(nn.Module):
    """2 × (conv, conv, max-pool) with 32 and 64 channels, then 3136 → 256 (features) → 10."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(block(1, 32), block(32, 32), nn.MaxPool2d(2), block(32, 64), block(64, 64), nn.MaxPool2d(2))
        self.fc = nn.Linear(64 * 7 * 7, FEATURES)
        self.drop = nn.Dropout(0.3)
        self.head = nn.Linear(FEATURES, 10)

    def forward(self, x):
        f = F.relu(self.fc(self.body(x).flatten(1)))
        return f, self.head(self.drop(f))


def augment(x):
    """Random shift by up to 2 pixels (pad with the background −1) and horizontal flip."""
    b = x.shape[0]
    padded = F.pad(x, (2, 2, 2, 2), value=-1.0)
    dx, dy = np.random.randint(0, 5, size=2)
    x = padded[:, :, dy:dy + 28, dx:dx + 28]
    flip = torch.rand(b) < 0.5
    return torch.where(flip[:, None, None, None], x.flip(3), x)


@torch.no_grad()
def accuracy(net, x, y, batch=1000):
    net.eval()
    right = 0
    for i in range(0, x.shape[0], batch):
        _, logits = net(x[i:i + batch])
        right += int((logits.argmax(1) == y[i:i + batch]).sum())
    return right / x.shape[0]


def train(args):
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    os.makedirs(os.path.dirname(CKPT), exist_ok=True)
    xtr, ytr = dataset("train")
    xte, yte = dataset("test")
    net = Classifier()
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=5e-4)
    steps_per_epoch = xtr.shape[0] // args.batch
    total = steps_per_epoch * args.epochs
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=total, pct_start=0.15)
    t0 = time.time()
    history = []
    for epoch in range(args.epochs):
        net.train()
        perm = torch.randperm(xtr.shape[0])
        running = 0.0
        for b in range(steps_per_epoch):
            idx = perm[b * args.batch:(b + 1) * args.batch]
            _, logits = net(augment(xtr[idx]))
            loss = F.cross_entropy(logits, ytr[idx], label_smoothing=0.05)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            running += loss.item()
        acc = accuracy(net, xte, yte)
        history.append({"epoch": epoch + 1, "loss": running / steps_per_epoch, "testAccuracy": acc})
        print(f"epoch {epoch + 1}/{args.epochs} loss {running / steps_per_epoch:.4f} test acc {acc:.4f} "
              f"{(time.time() - t0) / 60:.1f} min", flush=True)
        torch.save({"net": net.state_dict(), "history": history, "minutes": (time.time() - t0) / 60,
                    "epochs": epoch + 1, "batch": args.batch, "lr": args.lr}, CKPT + ".tmp")
        os.replace(CKPT + ".tmp", CKPT)
    print(f"done: test accuracy {history[-1]['testAccuracy']:.4f}", flush=True)


def export(_args):
    torch.set_num_threads(1)
    import onnx

    st = torch.load(CKPT)
    net = Classifier()
    net.load_state_dict(st["net"])
    net.eval()
    xte, yte = dataset("test")
    acc = accuracy(net, xte, yte)
    out = os.path.join(OUT_DIR, "classifier.onnx")
    probe = xte[:4]
    torch.onnx.export(net, (probe,), out, opset_version=17, input_names=["x"], output_names=["features", "logits"],
                      dynamic_axes={"x": {0: "batch"}, "features": {0: "batch"}, "logits": {0: "batch"}},
                      do_constant_folding=True)
    card = {
        "format": "score-sde-classifier/1",
        "name": "fashion-mnist-classifier",
        "description": "CNN (2 x [conv3-BN-ReLU x2, max-pool], 32/64 channels, Linear 3136->256 ReLU, Linear 256->10) "
                       "on Fashion-MNIST in [-1, 1]. The 256-d post-ReLU penultimate layer is the feature space of "
                       "the Frechet distance and KID; the logits give class predictions.",
        "input": "x",
        "features": "features",
        "logits": "logits",
        "sampleShape": [1, 28, 28],
        "dataRange": [-1, 1],
        "featureDim": FEATURES,
        "classes": CLASSES,
        "testAccuracy": round(acc, 4),
        "reference": {"test": "classifier-reference-test.json", "train": "classifier-reference-train.json"},
        "training": {
            "script": "models/training/fashion_classifier.py",
            "epochs": st["epochs"], "batch": st["batch"], "lr": st["lr"], "minutes": round(st["minutes"], 1),
            "params": sum(p.numel() for p in net.parameters()),
            "augmentation": "random shift <= 2 px, horizontal flip", "optimizer": "AdamW one-cycle, label smoothing 0.05",
            "hardware": "CPU (torch 1.13)",
        },
    }
    model = onnx.load(out)
    entry = model.metadata_props.add()
    entry.key = "score_sde_classifier"
    entry.value = json.dumps(card, separators=(",", ":"))
    onnx.checker.check_model(model)
    onnx.save(model, out)
    write_card(os.path.join(OUT_DIR, "classifier.card.json"), card)
    with torch.no_grad():
        f, logits = net(probe)
    with open(os.path.join(HERE, "checkpoints", "classifier-probe.json"), "w") as fh:
        json.dump({"x": probe.numpy().ravel().tolist(), "features": f.numpy().ravel().tolist(),
                   "logits": logits.numpy().ravel().tolist()}, fh)
    print(f"wrote {out} ({os.path.getsize(out)} bytes), test accuracy {acc:.4f}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    tr = sub.add_parser("train")
    tr.add_argument("--epochs", type=int, default=12)
    tr.add_argument("--batch", type=int, default=128)
    tr.add_argument("--lr", type=float, default=3e-3)
    tr.add_argument("--threads", type=int, default=1)
    tr.add_argument("--seed", type=int, default=0)
    sub.add_parser("export")
    args = p.parse_args()
    {"train": train, "export": export}[args.cmd](args)


if __name__ == "__main__":
    main()
