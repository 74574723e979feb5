#!/usr/bin/env python3
"""Reads aca's TensorBoard event files back with TensorBoard's own reader and checks them.

usage: tb-check.py RUN_DIR [RUN_DIR ...] [--sweep SWEEP_DIR]

For every stage folder of each run (search/, train/) that has a metrics.jsonl and a tb/ folder:
- every numeric field of every metrics line is the scalar STAGE/FIELD at step = its epoch, with
  the same value (as float32), and no other steps;
- every scalar tag has strictly increasing steps (a resumed run shows each step once), the
  per-step losses included;
- every image decodes (PIL) to the size its summary states;
- the search's genotype text equals metrics.jsonl's.
With --sweep: the HParams experiment in SWEEP/tb parses and names the sweep's axes, and each run's
train/tb holds a session whose hyperparameters are its run.json axes.
Prints one line per check group; exits 1 with the first failure.
"""
import io
import json
import os
import struct
import sys

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2
from PIL import Image

STAGES = {"search": "search", "train": "training"}


def fail(msg):
    print(f"tb-check: FAIL: {msg}")
    sys.exit(1)


def load(path):
    ea = EventAccumulator(path, size_guidance={"scalars": 0, "images": 0, "histograms": 0, "tensors": 0})
    ea.Reload()
    return ea


def flatten(prefix, value, out):
    if isinstance(value, dict):
        for k, v in value.items():
            flatten(f"{prefix}/{k}", v, out)
    elif isinstance(value, bool):
        out[prefix] = float(value)
    elif isinstance(value, (int, float)):
        out[prefix] = float(value)


def f32(x):
    return struct.unpack("f", struct.pack("f", x))[0]


def check_stage(run, folder, tag_prefix):
    metrics = os.path.join(run, folder, "metrics.jsonl")
    tb = os.path.join(run, folder, "tb")
    if not (os.path.isfile(metrics) and os.path.isdir(tb)):
        return 0
    ea = load(tb)
    tags = ea.Tags()
    expected = {}
    lines = [json.loads(l) for l in open(metrics) if l.strip()]
    for rec in lines:
        epoch = rec.pop("epoch")
        flat = {}
        flatten(tag_prefix, rec, flat)
        for tag, v in flat.items():
            expected.setdefault(tag, []).append((epoch, v))
    for tag, points in expected.items():
        if tag not in tags["scalars"]:
            fail(f"{tb}: no scalar {tag}")
        got = [(e.step, e.value) for e in ea.Scalars(tag)]
        if [s for s, _ in got] != [s for s, _ in points]:
            fail(f"{tb}: {tag} steps {[s for s, _ in got]}, metrics.jsonl {[s for s, _ in points]}")
        for (s, a), (_, b) in zip(got, points):
            if not (a == f32(b) or (a != a and b != b)):
                fail(f"{tb}: {tag} at {s}: {a} != {b}")
    n_scalars = 0
    for tag in tags["scalars"]:
        steps = [e.step for e in ea.Scalars(tag)]
        if any(b <= a for a, b in zip(steps, steps[1:])):
            fail(f"{tb}: {tag} repeats or goes back: {steps}")
        n_scalars += len(steps)
    for tag in tags["images"]:
        for ev in ea.Images(tag):
            img = Image.open(io.BytesIO(ev.encoded_image_string))
            img.load()
            if img.size != (ev.width, ev.height):
                fail(f"{tb}: image {tag} is {img.size}, its summary says {(ev.width, ev.height)}")
    steps_tag = f"{tag_prefix}/steps/train_loss"
    if steps_tag not in tags["scalars"]:
        fail(f"{tb}: no per-step losses ({steps_tag})")
    if folder == "search":
        texts = [t.tensor_proto.string_val[0].decode() for t in ea.Tensors("search/genotype")]
        genotypes = [rec["genotype"] for rec in lines]
        if texts != genotypes:
            fail(f"{tb}: genotype texts differ from metrics.jsonl")
        for tag in ("search/alphas/normal", "search/alphas/reduce"):
            if len(ea.Images(tag)) != len(lines):
                fail(f"{tb}: {tag} has {len(ea.Images(tag))} images for {len(lines)} epochs")
        if len(ea.Histograms("search/op_weights")) != len(lines):
            fail(f"{tb}: one op-weight histogram per epoch expected")
    print(f"tb-check: {tb}: {len(expected)} metrics tags equal metrics.jsonl; {n_scalars} scalar points, "
          f"{sum(len(ea.Images(t)) for t in tags['images'])} images decode; no repeated step")
    return 1


def hparams_of(ea):
    out = {}
    for tag, content in ea.PluginTagToContent("hparams").items():
        out[tag] = plugin_data_pb2.HParamsPluginData.FromString(content)
    return out


def check_sweep(sweep):
    ea = load(os.path.join(sweep, "tb"))
    exp = hparams_of(ea).get("_hparams_/experiment")
    if exp is None:
        fail(f"{sweep}/tb: no HParams experiment")
    names = sorted(h.name for h in exp.experiment.hparam_infos)
    resolved = json.load(open(os.path.join(sweep, "sweep.json")))
    if names != sorted(resolved["axes"]):
        fail(f"{sweep}/tb: hparams {names}, sweep axes {resolved['axes']}")
    metrics = [m.name.tag for m in exp.experiment.metric_infos]
    for point in resolved["points"]:
        tb = os.path.join(sweep, "runs", point["name"], "train", "tb")
        session = hparams_of(load(tb)).get("_hparams_/session_start_info")
        if session is None:
            fail(f"{tb}: no HParams session")
        got = {k: json.loads(json.dumps(v_to_py(v))) for k, v in session.session_start_info.hparams.items()}
        want = {k: (float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v)
                for k, v in point["axes"].items()}
        if got != want:
            fail(f"{tb}: session hparams {got}, run axes {want}")
        for m in metrics:
            if m not in load(tb).Tags()["scalars"]:
                fail(f"{tb}: metric {m} missing")
    print(f"tb-check: {sweep}: HParams experiment with {names} and metrics {metrics}; "
          f"{len(resolved['points'])} sessions match their runs' axes")


def v_to_py(v):
    kind = v.WhichOneof("kind")
    return getattr(v, kind)


def main(argv):
    args = argv[1:]
    sweep = None
    if "--sweep" in args:
        i = args.index("--sweep")
        sweep = args[i + 1]
        del args[i:i + 2]
    checked = 0
    for run in args:
        for folder, prefix in STAGES.items():
            checked += check_stage(run, folder, prefix)
    if sweep:
        check_sweep(sweep)
    if checked == 0 and not sweep:
        fail("no stage folder with metrics.jsonl and tb/ found")


if __name__ == "__main__":
    main(sys.argv)
