#!/usr/bin/env python3
"""Times a dilated depthwise convolution (dilation 2, stride 1, DARTS's padding k - 1) against
the same kernel run undilated on the four parity sub-images as one batch of 4N, which is what
`aca_space::nn::ops::DilConv` does on the CPU where it pays (docs/benchmarks.md). Forward and
backward, channels-last, one thread, on the PyTorch given (2.11.0 is the libtorch aca links).

usage: PYTHON scripts/bench-dilated-conv.py N,C,H [N,C,H ...]
"""
import sys
import time

import torch
import torch.nn.functional as F


def dilated(x, w, k):
    return F.conv2d(x, w, None, 1, k - 1, 2, x.shape[1])


def phases(x, w, k):
    n, c, h, wd = x.shape
    xs = x.permute(0, 2, 3, 1).reshape(n, h // 2, 2, wd // 2, 2, c).permute(2, 4, 0, 1, 3, 5)
    xs = xs.reshape(4 * n, h // 2, wd // 2, c).permute(0, 3, 1, 2)
    y = F.conv2d(xs, w, None, 1, (k - 1) // 2, 1, c)
    y = y.permute(0, 2, 3, 1).reshape(2, 2, n, h // 2, wd // 2, c).permute(2, 3, 0, 4, 1, 5)
    return y.reshape(n, h, wd, c).permute(0, 3, 1, 2)


def median_ms(f, x, w, k, reps):
    times = []
    for _ in range(reps):
        xx, ww = x.detach().requires_grad_(), w.detach().requires_grad_()
        start = time.perf_counter()
        y = f(xx, ww, k)
        y.backward(torch.ones_like(y))
        times.append(time.perf_counter() - start)
    times.sort()
    return times[len(times) // 2] * 1e3, y, xx.grad, ww.grad


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    torch.set_num_threads(1)
    for shape in sys.argv[1:]:
        n, c, h = map(int, shape.split(","))
        if h % 2:
            sys.exit(f"{shape}: the image size must be even")
        for k in (3, 5):
            x = torch.randn(n, c, h, h).contiguous(memory_format=torch.channels_last)
            w = torch.randn(c, 1, k, k)
            reps = 30 if n * h < 1000 else 8
            a, ya, gxa, gwa = median_ms(dilated, x, w, k, reps)
            b, yb, gxb, gwb = median_ms(phases, x, w, k, reps)
            a2, *_ = median_ms(dilated, x, w, k, reps)
            err = max(
                (ya - yb).abs().max().item(),
                (gxa - gxb).abs().max().item(),
                (gwa - gwb).abs().max().item() / gwa.abs().max().item(),
            )
            a = min(a, a2)
            print(f"{n},{c},{h} {k}x{k}: dilated {a:.2f} ms, four phases {b:.2f} ms, "
                  f"ratio {b / a:.2f}, largest difference {err:.1e}", flush=True)


if __name__ == "__main__":
    main()
