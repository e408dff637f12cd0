"""Copies a model's <name>.card.json into its ONNX metadata, so that the two cards agree after a
card is edited by hand (the loaders read the metadata first).

  /usr/bin/python3 models/training/embed_card.py models/fashion-mnist/unet-vp.onnx [...]

The metadata key is 'score_sde_classifier' for a classifier card (format score-sde-classifier/1),
else 'score_sde_card'. Other metadata entries are kept; the graph is untouched.
"""
import json
import os
import sys

import onnx


def embed(onnx_path):
    card_path = os.path.splitext(onnx_path)[0] + ".card.json"
    with open(card_path) as f:
        card = json.load(f)
    key = "score_sde_classifier" if card.get("format", "").startswith("score-sde-classifier/") else "score_sde_card"
    model = onnx.load(onnx_path)
    kept = [(p.key, p.value) for p in model.metadata_props if p.key != key]
    del model.metadata_props[:]
    for k, v in kept + [(key, json.dumps(card, separators=(",", ":")))]:
        entry = model.metadata_props.add()
        entry.key, entry.value = k, v
    onnx.checker.check_model(model)
    onnx.save(model, onnx_path)
    print(f"{onnx_path}: metadata '{key}' <- {card_path}")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for path in sys.argv[1:]:
        embed(path)
