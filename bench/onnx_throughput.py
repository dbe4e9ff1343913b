#!/usr/bin/env python3
"""Raw ONNX Runtime throughput: the plain Python loop that bench/onnx_throughput.sh compares
`arena eval MODEL.onnx` against. Same model, same batch shapes as the arena's runner on the task
(n_conditions test perturbations x rows_per_condition start cells, cut into batches of
--batch-size), one signed one-hot perturbation per condition, intra-op threads = the cores
available (as the arena's runner), other session options default, one warm-up run before timing
(the runner runs one when it loads the model). Prints rows/s of the best of --repeats runs as JSON."""

import argparse
import json
import os
import time

import numpy as np
import onnxruntime as ort


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("model")
    ap.add_argument("--conditions", type=int, required=True)
    ap.add_argument("--rows-per-condition", type=int, required=True)
    ap.add_argument("--batch-size", type=int, required=True)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)),
                    help="intra-op threads (default: the cores available, as the arena's runner)")
    args = ap.parse_args()

    so = ort.SessionOptions()
    so.intra_op_num_threads = args.threads
    sess = ort.InferenceSession(args.model, so, providers=["CPUExecutionProvider"])
    n_genes = sess.get_inputs()[0].shape[1]
    n_pert = sess.get_inputs()[1].shape[1]
    rng = np.random.default_rng(0)
    start = np.log1p(rng.poisson(2.0, size=(args.rows_per_condition, n_genes))).astype(np.float32)
    batches = []
    for c in range(args.conditions):
        for lo in range(0, args.rows_per_condition, args.batch_size):
            x = np.ascontiguousarray(start[lo : lo + args.batch_size])
            p = np.zeros((x.shape[0], n_pert), np.float32)
            p[:, c % n_pert] = -1.0
            batches.append((x, p))
    rows = sum(x.shape[0] for x, _ in batches)
    sess.run(None, {"expression": batches[0][0], "perturbation": batches[0][1]})  # warm-up
    best = float("inf")
    for _ in range(args.repeats):
        t = time.perf_counter()
        for x, p in batches:
            sess.run(["expression_next"], {"expression": x, "perturbation": p})
        best = min(best, time.perf_counter() - t)
    print(json.dumps({"rows": rows, "batches": len(batches), "seconds": best, "rows_per_second": rows / best,
                      "onnxruntime": ort.__version__, "threads": args.threads}))


if __name__ == "__main__":
    main()
