#!/usr/bin/python3
"""Times PyTorch training steps of a dsrbench model, the way `dsrbench bench`
times the C engine's: SGD with Nesterov momentum 0.9, weight decay 5e-4 and
learning rate 0.1, mean cross-entropy, a fresh N(0,1) batch with uniform
labels before every step (made outside the timed region), warm-up, then timed
steps; CPU, float32, NCHW. The models are the fixture generator's
(tests/reference/make_fixtures.py), which mirror engine/models.c layer for
layer.

Prints one line of key=value pairs (seconds; medians over the timed steps):
  steps=N step=S step_min=S step_max=S forward=S backward=S optimizer=S cpu=S
forward is model + loss, backward is zero_grad + loss.backward(), optimizer
is opt.step(); cpu is the process's CPU seconds in a step (all threads).

Usage: /usr/bin/python3 experiments/bench_torch.py --model wrn-28-2 --input 3x32x32
           --threads 2 [--batch 100] [--warmup-steps 1] [--warmup-seconds 0]
           [--min-steps 3] [--max-steps 64] [--seconds 0]
(Debian's python3-torch; `dsrbench bench` runs it beside the C measurements.)
"""
import argparse
import os
import re
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "reference"))
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from make_fixtures import LeNet300100, LeNet5, ResNet50, Wrn  # noqa: E402

CLASSES = 10


def build(name, c, h, w):
    if name == "lenet-300-100":
        return LeNet300100(c * h * w, CLASSES, 1.0)
    if name == "lenet-5" and h == w:
        return LeNet5(c, h, CLASSES, 1.0)
    if name == "resnet-50":
        return ResNet50(c, CLASSES, 1.0)
    match = re.fullmatch(r"wrn-(\d+)-(\d+(?:\.\d+)?)", name)
    if match:
        return Wrn(int(match.group(1)), float(match.group(2)), c, CLASSES, 1.0)
    sys.exit("bench_torch.py: --model %s: expected lenet-300-100, lenet-5 (square input), "
             "wrn-D-K or resnet-50" % name)


def parse_input(text):
    match = re.fullmatch(r"(\d+)x(\d+)x(\d+)", text)
    if not match:
        sys.exit("bench_torch.py: --input %s: expected CxHxW, e.g. 3x32x32" % text)
    return tuple(int(g) for g in match.groups())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--input", required=True, type=parse_input)
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--warmup-steps", type=int, default=1)
    ap.add_argument("--warmup-seconds", type=float, default=0.0)
    ap.add_argument("--min-steps", type=int, default=3)
    ap.add_argument("--max-steps", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=0.0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    c, h, w = args.input
    model = build(args.model, c, h, w)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True,
                          weight_decay=5e-4)

    def batch():
        return torch.randn(args.batch, c, h, w), torch.randint(0, CLASSES, (args.batch,))

    def step(x, labels):
        cpu_start = time.process_time()
        start = time.perf_counter()
        loss = F.cross_entropy(model(x), labels)
        forward = time.perf_counter()
        opt.zero_grad()
        loss.backward()
        backward = time.perf_counter()
        opt.step()
        end = time.perf_counter()
        return (end - start, forward - start, backward - forward, end - backward,
                time.process_time() - cpu_start)

    warm_start, warm = time.perf_counter(), 0
    while warm < args.warmup_steps or time.perf_counter() - warm_start < args.warmup_seconds:
        step(*batch())
        warm += 1
    samples, timed = [], 0.0
    while len(samples) < args.max_steps and (len(samples) < args.min_steps or
                                             timed < args.seconds):
        samples.append(step(*batch()))
        timed += samples[-1][0]
    columns = list(zip(*samples))
    print("steps=%d step=%.6f step_min=%.6f step_max=%.6f forward=%.6f backward=%.6f "
          "optimizer=%.6f cpu=%.6f" % (len(samples), statistics.median(columns[0]),
                                       min(columns[0]), max(columns[0]),
                                       statistics.median(columns[1]),
                                       statistics.median(columns[2]),
                                       statistics.median(columns[3]),
                                       statistics.median(columns[4])))


if __name__ == "__main__":
    main()
