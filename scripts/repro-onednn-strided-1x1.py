#!/usr/bin/env python3
"""The libtorch/oneDNN fault behind aca's strided 1x1 convolutions, in plain PyTorch.

PyTorch 2.11.0 (PyPI) on x86: the weight gradient of a 1x1 convolution at stride 2 on a
channels-last input with fewer input channels than oneDNN's vector block (8 floats on AVX2, 16 on
AVX-512) writes past the end of a buffer (oneDNN's `jit_1x1` backward-weights kernel and its
sub-sampled copy of the input, "rtus"; oneDNN issue #6035). The heap is corrupted: a crash, glibc's
"free(): invalid pointer", or wrong numbers later.

    DNNL_MAX_CPU_ISA=AVX2 OMP_NUM_THREADS=1 python3 scripts/repro-onednn-strided-1x1.py
        -> crashes within a few repeats (batch 32, 4 channels, 8x8)
    OMP_NUM_THREADS=1 python3 scripts/repro-onednn-strided-1x1.py --size 64 --channels 8
        -> the same on an AVX-512 CPU (larger images)
    ... --sub-sampled
        -> aca's workaround (stride 1 on x[:, :, ::2, ::2]): finishes

Needs torch==2.11.0 from PyPI (keep its environment outside the repository). Only the weight
gradient is computed, so the fault is in that kernel alone.
"""
import argparse

import torch

parser = argparse.ArgumentParser()
parser.add_argument("--batch", type=int, default=32)
parser.add_argument("--channels", type=int, default=4, help="input channels")
parser.add_argument("--size", type=int, default=8, help="input height and width")
parser.add_argument("--repeats", type=int, default=20)
parser.add_argument("--nchw", action="store_true", help="contiguous NCHW input (no fault)")
parser.add_argument("--sub-sampled", action="store_true", help="aca's form (no fault)")
args = parser.parse_args()

torch.manual_seed(0)
print(torch.__version__, torch.backends.cpu.get_cpu_capability())
for i in range(args.repeats):
    x = torch.randn(args.batch, args.channels, args.size, args.size)
    if not args.nchw:
        x = x.contiguous(memory_format=torch.channels_last)
    w = torch.randn(max(args.channels // 2, 1), args.channels, 1, 1)
    if args.sub_sampled:
        x, stride = x[:, :, ::2, ::2], 1
    else:
        stride = 2
    out = torch.nn.functional.conv2d(x, w, stride=stride)
    grad_out = torch.randn_like(out)
    # Weight gradient only: output_mask = (input, weight, bias).
    _, grad_w, _ = torch.ops.aten.convolution_backward(
        grad_out, x, w, None, [stride, stride], [0, 0], [1, 1], False, [0, 0], 1,
        [False, True, False])
    print(f"repeat {i}: weight gradient sum {grad_w.sum().item():.4f}", flush=True)
print("finished without a fault")
