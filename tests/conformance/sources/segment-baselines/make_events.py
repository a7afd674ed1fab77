#!/usr/bin/python3
"""Writes events.tsv for the segment-baselines conformance case (deterministic: seeded).

Three latent personas; a visitor who realizes their persona's defining traits often enough
qualifies for its segment baseline (FREQUENCY rules), the others are left for the scorer.
Trait 190 is the target audience: a few visitors never realize it and must be skipped."""
import random

r = random.Random(7)
with open("events.tsv", "w") as f:
    for v in range(360):
        persona = v % 3
        uuid = f"v{v:04d}"
        ts = 1_700_000_000 + v * 600
        lines = []
        if v % 17 != 0:
            lines.append("190")  # in the target audience
        if r.random() < 0.55:  # qualifies for its baseline
            lines += [str(101 + persona)] * 3
        elif r.random() < 0.3:
            lines.append(str(101 + persona))  # once: not enough for FREQUENCY >= 2
        for _ in range(r.randint(2, 12)):
            # indicative traits 110+10p..119+10p, plus shared noise 150..169
            t = 110 + 10 * persona + r.randint(0, 9) if r.random() < 0.35 else 150 + r.randint(0, 19)
            lines.append(str(t))
        for i, t in enumerate(lines):
            f.write(f"{uuid}\t{t}\t{ts + i * 30}\n")
