#!/usr/bin/env python3
"""Loads `aca export` weights into the original DARTS code and compares its logits with aca's.

usage: check-export-darts.py DARTS_CNN_DIR TRAIN_DIR PREDICTIONS_JSON IMAGE.png...

DARTS_CNN_DIR holds DARTS's model.py, operations.py and genotypes.py; TRAIN_DIR is an aca
training run exported with `aca export --run TRAIN_DIR` (model.safetensors, genotype.py,
dataset.json, config.json); PREDICTIONS_JSON is `aca predict --json --top CLASSES` on the same
images, which must already have the run's input size (no resize). Needs torch, numpy and
safetensors. The network is built as DARTS builds it (NetworkCIFAR or NetworkImageNet), with
the stem's input channels set to the dataset's (DARTS fixes 3), loaded with strict=True.
"""
import json
import sys
import types
import zlib

import numpy as np
import torch
from safetensors.torch import load_file


def read_png(path):
    """8-bit grey or RGB PNG without interlacing or palette (what the check writes)."""
    data = open(path, "rb").read()
    pos, idat, w, h, ctype = 8, b"", 0, 0, 0
    while pos < len(data):
        n = int.from_bytes(data[pos:pos + 4], "big")
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h = int.from_bytes(body[0:4], "big"), int.from_bytes(body[4:8], "big")
            ctype = body[9]
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    c = {0: 1, 2: 3}[ctype]
    raw = zlib.decompress(idat)
    stride = w * c
    rows, prev = [], bytearray(stride)
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - c] if i >= c else 0
            b, cc = prev[i], prev[i - c] if i >= c else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - cc
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - cc)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else cc)) & 255
        rows.append(bytes(line))
        prev = line
    return np.frombuffer(b"".join(rows), dtype=np.uint8).reshape(h, w, c).transpose(2, 0, 1)


def main():
    darts_dir, run, preds_path, images = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    sys.path.insert(0, darts_dir)
    sys.modules["utils"] = types.SimpleNamespace(drop_path=lambda x, p: x)  # eval mode only
    import model as darts_model
    from genotypes import Genotype

    info = json.load(open(f"{run}/dataset.json"))
    net_cfg = json.load(open(f"{run}/config.json"))["network"]
    text = open(f"{run}/genotype.py").read().split("genotype = ", 1)[1]
    genotype = eval(text, {"Genotype": Genotype})
    c, layers, classes = net_cfg["channels"], net_cfg["layers"], info["classes"]
    if net_cfg["setting"] == "imagenet":
        net = darts_model.NetworkImageNet(c, classes, layers, net_cfg["auxiliary"], genotype)
        net.stem0[0] = torch.nn.Conv2d(info["channels"], c // 2, 3, 2, 1, bias=False)
    else:
        net = darts_model.NetworkCIFAR(c, classes, layers, net_cfg["auxiliary"], genotype)
        net.stem[0] = torch.nn.Conv2d(info["channels"], 3 * c, 3, padding=1, bias=False)
    state = load_file(f"{run}/model.safetensors")
    net.load_state_dict(state, strict=True)
    net.drop_path_prob = 0.0
    net.eval()
    mean = torch.tensor(info["mean"]).view(1, -1, 1, 1)
    std = torch.tensor(info["std"]).view(1, -1, 1, 1)
    x = torch.stack([torch.from_numpy(read_png(p).copy()) for p in images]).float() / 255.0
    with torch.no_grad():
        logits, _ = net((x - mean) / std)
    probs = torch.softmax(logits, -1)
    worst = 0.0
    for i, pred in enumerate(json.load(open(preds_path))):
        for label, _, p in pred["top"]:
            worst = max(worst, abs(probs[i, label].item() - p))
    print(f"{len(state)} tensors loaded with strict=True; largest probability difference {worst:.2e}")
    sys.exit(0 if worst < 1e-4 else 1)


if __name__ == "__main__":
    main()
