#!/usr/bin/env python3
"""Builds the example ONNX models of examples/ (arena-onnx-v1 contract, `arena contract`) with the
`onnx` package only (no torch): .venv/bin/python scripts/make_examples.py

  examples/identity.onnx        x' = x
  examples/linear.onnx          x' = x + p·Wᵀ + b  (W, b below: a documented integer hash, seed 0)
  examples/perturbed_mean.onnx  x' = x + δ, δ = μ_pert − μ_ctrl of task sim-unseen-single as fitted by
                                the arena (`arena contract --task-json unseen-single`): the
                                perturbed-mean baseline, reproducing its native scores
  examples/in_context.onnx      an in-context model of sim-few-shot (the three context inputs, K
                                shots): x' = x + α ⊙ (p·W). W (weights) holds the training context's
                                single effects (`few_shot` of the task JSON: training mean − training
                                control mean, row j = the single of gene j over its input sign). From
                                the shots, per gene g: d_k = next_k − start_k (measured change),
                                a_k = c_k·W (the change W expects), and
                                α[g] = (Σ_k a_k[g]·d_k[g] + λ) / (Σ_k a_k[g]² + λ), λ = 1: a ridge fit
                                of the new context's response to the trained one, shrunk to α = 1;
                                with no shots (K = 0) α = 1 and it is the trained additive model
  examples/in_context_without_context.onnx   the same graph and weights with the three context
                                tensors replaced by empty (K = 0) constants: it declares no context
                                inputs, is never fed shots, and is x' = x + p·W at every k

Linear weights (n genes, m = n perturbation columns, seed s = 0), u(k) = ((k·2654435761 + s) mod 2³²) / 2³²:
  W[g, j] = 0.1 · (u(g·m + j) − 0.5),   b[g] = 0.02 · (u(n·m + g) − 0.5)       (float64, then float32)

Other modes (used by the tests):
  --broken DIR                   deliberately broken models, one per validation error
  --identity OUT --genes FILE [--perturbation-genes FILE]   an identity model over given genes
The task JSON comes from the arena binary (--arena PATH, default target/{debug,release}/arena, else
`cargo run -p arena`).
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parent.parent
CONTRACT = "arena-onnx-v1"
OPSET = 17
SEED = 0
FLOAT = TensorProto.FLOAT


def u(k: np.ndarray, seed: int = SEED) -> np.ndarray:
    return ((k.astype(np.uint64) * np.uint64(2654435761) + np.uint64(seed)) % np.uint64(2**32)).astype(
        np.float64
    ) / float(2**32)


def linear_weights(n: int, m: int, seed: int = SEED):
    """W [n genes, m perturbation columns] and b [n], float32 (see the module docstring)."""
    g = np.arange(n, dtype=np.uint64)[:, None]
    j = np.arange(m, dtype=np.uint64)[None, :]
    w = (0.1 * (u(g * np.uint64(m) + j, seed) - 0.5)).astype(np.float32)
    b = (0.02 * (u(np.uint64(n * m) + np.arange(n, dtype=np.uint64), seed) - 0.5)).astype(np.float32)
    return w, b


def io(name, n, batch="batch", elem=FLOAT, rank2=True):
    shape = [batch, n] if rank2 else [batch, n, 1]
    return helper.make_tensor_value_info(name, elem, shape)


def model(nodes, inputs, outputs, initializers, genes, pert_genes=None, contract=CONTRACT, name="arena-example",
          doc="", compounds=None):
    graph = helper.make_graph(nodes, name, inputs, outputs, initializer=initializers)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="arena make_examples.py")
    m.ir_version = 8
    m.doc_string = doc
    meta = {}
    if contract is not None:
        meta["arena.contract"] = contract
    if genes is not None:
        meta["arena.genes"] = "\n".join(genes)
    if pert_genes is not None:
        meta["arena.perturbation_genes"] = "\n".join(pert_genes)
    if compounds is not None:
        meta["arena.perturbation_compounds"] = "\n".join(compounds)
    for k, v in meta.items():
        e = m.metadata_props.add()
        e.key, e.value = k, v
    return m


def save(m, path: Path, check=True):
    if check:
        onnx.checker.check_model(m)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(m, str(path))
    print(f"wrote {path} ({path.stat().st_size} bytes)", file=sys.stderr)


def std_io(n, m):
    return [io("expression", n), io("perturbation", m)], [io("expression_next", n)]


def identity(genes, pert_genes=None):
    n, m = len(genes), len(pert_genes or genes)
    ins, outs = std_io(n, m)
    # The perturbation input is declared (the contract feeds it) but unused.
    return model([helper.make_node("Identity", ["expression"], ["expression_next"])], ins, outs, [], genes, pert_genes,
                 doc="x' = x")


def dose_shift(genes, compounds):
    """x' = x + sum(p) on every gene: over the gene axis and the compound columns (fed
    log10(1 + dose/1 nM)), so a compound at dose d adds log10(1 + d/nM) to every gene."""
    n, m = len(genes), len(genes) + len(compounds)
    ins, outs = std_io(n, m)
    nodes = [
        helper.make_node("ReduceSum", ["perturbation", "axes"], ["s"], keepdims=1),
        helper.make_node("Add", ["expression", "s"], ["expression_next"]),
    ]
    inits = [numpy_helper.from_array(np.asarray([1], dtype=np.int64), "axes")]
    return model(nodes, ins, outs, inits, genes, compounds=compounds, doc="x' = x + sum(perturbation)")


def linear(genes):
    n = len(genes)
    w, b = linear_weights(n, n)
    ins, outs = std_io(n, n)
    nodes = [
        helper.make_node("MatMul", ["perturbation", "Wt"], ["wp"]),
        helper.make_node("Add", ["expression", "wp"], ["xw"]),
        helper.make_node("Add", ["xw", "b"], ["expression_next"]),
    ]
    inits = [numpy_helper.from_array(np.ascontiguousarray(w.T), "Wt"), numpy_helper.from_array(b, "b")]
    return model(nodes, ins, outs, inits, genes, doc="x' = x + W p + b (scripts/make_examples.py, seed 0)")


def shift(genes, delta, doc):
    n = len(genes)
    ins, outs = std_io(n, n)
    nodes = [helper.make_node("Add", ["expression", "delta"], ["expression_next"])]
    return model(nodes, ins, outs, [numpy_helper.from_array(np.asarray(delta, dtype=np.float32), "delta")], genes,
                 doc=doc)


def mlp(genes, hidden, seed=1):
    """x' = x + W2 relu(W1 [x, p] + b1) + b2 (random weights; the benchmark model)."""
    n = len(genes)
    rng = np.random.default_rng(seed)
    w1 = (rng.standard_normal((2 * n, hidden)) / np.sqrt(2 * n)).astype(np.float32)
    w2 = (rng.standard_normal((hidden, n)) / np.sqrt(hidden) * 0.1).astype(np.float32)
    b1 = np.zeros(hidden, np.float32)
    b2 = np.zeros(n, np.float32)
    ins, outs = std_io(n, n)
    nodes = [
        helper.make_node("Concat", ["expression", "perturbation"], ["xp"], axis=1),
        helper.make_node("Gemm", ["xp", "W1", "b1"], ["h0"]),
        helper.make_node("Relu", ["h0"], ["h"]),
        helper.make_node("Gemm", ["h", "W2", "b2"], ["d"]),
        helper.make_node("Add", ["expression", "d"], ["expression_next"]),
    ]
    inits = [numpy_helper.from_array(a, k) for a, k in [(w1, "W1"), (b1, "b1"), (w2, "W2"), (b2, "b2")]]
    return model(nodes, ins, outs, inits, genes, doc=f"2-layer MLP, {n} genes, hidden {hidden}")


# λ of in_context.onnx: the weight of the prior α = 1 against the shots.
IN_CONTEXT_PRIOR = 1.0
CONTEXT = ["context_expression", "context_perturbation", "context_expression_next"]


def training_effects(genes, few_shot):
    """W [n perturbation columns, n genes]: row j is the training context's effect of the single on
    gene j divided by its input sign, so p·W is the effect of p (0 for genes without a single)."""
    index = {g: i for i, g in enumerate(genes)}
    w = np.zeros((len(genes), len(genes)), np.float64)
    for gene, single in few_shot["single_effects"].items():
        w[index[gene]] = np.asarray(single["effect"]) / single["sign"]
    return w.astype(np.float32)


def in_context(genes, few_shot, with_context=True):
    """x' = x + α ⊙ (p·W) (module docstring); the perturbation axis is the gene axis."""
    n = len(genes)
    ins, outs = std_io(n, n)
    ctx = [helper.make_tensor_value_info(name, FLOAT, ["shots", n]) for name in CONTEXT]
    empty = [numpy_helper.from_array(np.zeros((0, n), np.float32), name) for name in CONTEXT]
    inits = [
        numpy_helper.from_array(training_effects(genes, few_shot), "W"),
        numpy_helper.from_array(np.array([0], np.int64), "ax0"),
        numpy_helper.from_array(np.array(IN_CONTEXT_PRIOR, np.float32), "prior"),
    ]
    nodes = [
        # d = next − start: each shot's measured change; a = c·W: the change the weights expect [K, n]
        helper.make_node("Sub", ["context_expression_next", "context_expression"], ["d"]),
        helper.make_node("MatMul", ["context_perturbation", "W"], ["a"]),
        # α = (Σ_k a·d + λ) / (Σ_k a·a + λ)  [1, n]: 1 without shots
        helper.make_node("Mul", ["a", "d"], ["ad"]),
        helper.make_node("ReduceSum", ["ad", "ax0"], ["ad_sum"], keepdims=1),
        helper.make_node("Add", ["ad_sum", "prior"], ["num"]),
        helper.make_node("Mul", ["a", "a"], ["aa"]),
        helper.make_node("ReduceSum", ["aa", "ax0"], ["aa_sum"], keepdims=1),
        helper.make_node("Add", ["aa_sum", "prior"], ["den"]),
        helper.make_node("Div", ["num", "den"], ["alpha"]),
        # x' = x + α ⊙ (p·W)
        helper.make_node("MatMul", ["perturbation", "W"], ["effect"]),
        helper.make_node("Mul", ["effect", "alpha"], ["calibrated"]),
        helper.make_node("Add", ["expression", "calibrated"], ["expression_next"]),
    ]
    task = f"{few_shot['task']} (dataset sha256 {few_shot['dataset_sha256']})"
    if with_context:
        return model(nodes, ins + ctx, outs, inits, genes,
                     doc=f"in-context: x' = x + α ⊙ (p·W), W the training effects of {task}, α fitted to the shots")
    return model(nodes, ins, outs, inits + empty, genes,
                 doc=f"in_context.onnx with empty constant shots (α = 1): x' = x + p·W, W of {task}")


def broken(genes, out: Path):
    """One model per validation error of the runner (names are what the tests look for)."""
    n = len(genes)
    ins, outs = std_io(n, n)
    ident = [helper.make_node("Identity", ["expression"], ["expression_next"])]
    c = lambda name, v: helper.make_node("Constant", [], [name], value=numpy_helper.from_array(np.asarray(v), name))
    cases = {
        "wrong_input_name": model([helper.make_node("Identity", ["x"], ["expression_next"])],
                                  [io("x", n), io("perturbation", n)], outs, [], genes),
        "wrong_output_name": model([helper.make_node("Identity", ["expression"], ["y"])], ins, [io("y", n)], [], genes),
        "wrong_rank": model([helper.make_node("Squeeze", ["expression", "axes"], ["expression_next"])],
                            [io("expression", n, rank2=False), io("perturbation", n)], outs,
                            [numpy_helper.from_array(np.array([2], np.int64), "axes")], genes),
        "wrong_dtype": model([helper.make_node("Cast", ["expression"], ["expression_next"], to=FLOAT)],
                             [io("expression", n, elem=TensorProto.DOUBLE), io("perturbation", n)], outs, [], genes),
        "wrong_dims": model([helper.make_node("Identity", ["expression"], ["expression_next"])],
                            [io("expression", n + 1), io("perturbation", n)], [io("expression_next", n + 1)], [],
                            genes),
        "wrong_perturbation_dims": model(ident, [io("expression", n), io("perturbation", n - 1)], outs, [], genes),
        "mixed_batch": model(ident, [io("expression", n, batch=4), io("perturbation", n)],
                             [io("expression_next", n, batch=4)], [], genes),
        "fixed_batch_7": model(ident, [io("expression", n, batch=7), io("perturbation", n, batch=7)],
                               [io("expression_next", n, batch=7)], [], genes),
        "wrong_genes": model(ident, ins, outs, [], genes[:-3] + ["NOT_A_GENE_1", "NOT_A_GENE_2", "NOT_A_GENE_3"]),
        "reordered_genes": model(ident, ins, outs, [], list(reversed(genes))),
        "no_contract": model(ident, ins, outs, [], genes, contract=None),
        "wrong_contract": model(ident, ins, outs, [], genes, contract="arena-onnx-v0"),
        "no_genes": model(ident, ins, outs, [], None),
        # x / (1 + Σ p): a knockdown single divides by zero (inf / NaN for every perturbed row).
        "nan_output": model([
            helper.make_node("ReduceSum", ["perturbation", "ax1"], ["ps"], keepdims=1),
            helper.make_node("Add", ["ps", "one"], ["den"]),
            helper.make_node("Div", ["expression", "den"], ["expression_next"]),
        ], ins, outs, [numpy_helper.from_array(np.array([1], np.int64), "ax1"),
                       numpy_helper.from_array(np.array(1.0, np.float32), "one")], genes),
        # Declares one of the three context inputs only.
        "partial_context": model(ident, ins + [io("context_expression", n, batch="shots")], outs, [], genes),
        # A context input with a fixed shot axis (K = 5).
        "fixed_shots": model(ident, ins + [io(name, n, batch=5) for name in CONTEXT], outs, [], genes),
        "unsupported_op": model([helper.make_node("ArenaNoSuchOp", ["expression"], ["expression_next"])], ins, outs,
                                [], genes),
        # ConstantOfShape of [batch·2⁴⁰, n] floats (4 TiB per row of the batch), summed into the output.
        "absurd_allocation": model([
            helper.make_node("Shape", ["expression"], ["shp"]),
            helper.make_node("Mul", ["shp", "huge"], ["big"]),
            helper.make_node("ConstantOfShape", ["big"], ["z"], value=numpy_helper.from_array(np.array([0.0], np.float32))),
            helper.make_node("ReduceSum", ["z"], ["zs"], keepdims=0),
            helper.make_node("Add", ["expression", "zs"], ["expression_next"]),
        ], ins, outs, [numpy_helper.from_array(np.array([2**40, 1], np.int64), "huge")], genes),
        # A Loop of 10⁹ 256x256 matmuls seeded from the input (cannot be folded at load time).
        "slow": slow_model(genes),
    }
    for name, m in cases.items():
        save(m, out / f"{name}.onnx", check=False)
    good = out / "_good.onnx"
    save(identity(genes), good)
    data = good.read_bytes()
    (out / "truncated.onnx").write_bytes(data[: len(data) // 2])
    (out / "corrupt.onnx").write_bytes(bytes((i * 37 + 11) % 256 for i in range(4096)))
    (out / "empty.onnx").write_bytes(b"")
    good.unlink()


def slow_model(genes):
    n = len(genes)
    ins, outs = std_io(n, n)
    k = 256
    w = (np.random.default_rng(0).standard_normal((k, k)) / 16).astype(np.float32)
    body = helper.make_graph(
        [
            helper.make_node("Identity", ["cond_in"], ["cond_out"]),
            helper.make_node("MatMul", ["s_in", "W"], ["m"]),
            helper.make_node("Tanh", ["m"], ["s_out"]),
        ],
        "body",
        [helper.make_tensor_value_info("i", TensorProto.INT64, []),
         helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
         helper.make_tensor_value_info("s_in", FLOAT, [k, k])],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info("s_out", FLOAT, [k, k])],
    )
    nodes = [
        helper.make_node("ReduceSum", ["expression"], ["tot"], keepdims=0),
        helper.make_node("Mul", ["W", "tot"], ["s0a"]),
        helper.make_node("Tanh", ["s0a"], ["s0"]),
        helper.make_node("Loop", ["trip", "cond", "s0"], ["s_final"], body=body),
        helper.make_node("ReduceSum", ["s_final"], ["fs"], keepdims=0),
        helper.make_node("Mul", ["fs", "zero"], ["z"]),
        helper.make_node("Add", ["expression", "z"], ["expression_next"]),
    ]
    inits = [numpy_helper.from_array(w, "W"), numpy_helper.from_array(np.array(10**9, np.int64), "trip"),
             numpy_helper.from_array(np.array(True), "cond"), numpy_helper.from_array(np.array(0.0, np.float32), "zero")]
    return model(nodes, ins, outs, inits, genes)


def find_arena(explicit):
    if explicit:
        return [explicit]
    for profile in ("debug", "release"):
        p = ROOT / "target" / profile / "arena"
        if p.is_file():
            return [str(p)]
    return ["cargo", "run", "--quiet", "-p", "arena", "--"]


def task_json(arena, task):
    out = subprocess.run(arena + ["contract", "--task-json", task], cwd=ROOT, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def read_lines(path):
    return [line.strip() for line in Path(path).read_text().splitlines() if line.strip()]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arena", help="path of the arena binary")
    ap.add_argument("--task", default="unseen-single", help="simulator task of the examples")
    ap.add_argument("--out", default=str(ROOT / "examples"), help="output directory")
    ap.add_argument("--broken", metavar="DIR", help="write the deliberately broken models into DIR instead")
    ap.add_argument("--identity", metavar="OUT", help="write an identity model over --genes to OUT")
    ap.add_argument("--mlp", metavar="OUT", help="write a 2-layer MLP over --genes to OUT (benchmark)")
    ap.add_argument("--hidden", type=int, default=512)
    ap.add_argument("--genes", metavar="FILE", help="gene names, one per line (--identity, --mlp)")
    ap.add_argument("--perturbation-genes", metavar="FILE", help="perturbation axis genes, one per line (--identity)")
    ap.add_argument("--dose-shift", metavar="OUT",
                    help="write x' = x + sum(perturbation) over --genes and --compounds to OUT (compound columns)")
    ap.add_argument("--compounds", metavar="FILE", help="compound names, one per line (--dose-shift)")
    args = ap.parse_args()

    if args.dose_shift:
        if not (args.genes and args.compounds):
            ap.error("--dose-shift needs --genes FILE and --compounds FILE")
        save(dose_shift(read_lines(args.genes), read_lines(args.compounds)), Path(args.dose_shift))
        return

    if args.identity or args.mlp:
        if not args.genes:
            ap.error("--identity/--mlp need --genes FILE")
        genes = read_lines(args.genes)
        if args.identity:
            pert = read_lines(args.perturbation_genes) if args.perturbation_genes else None
            save(identity(genes, pert), Path(args.identity))
        else:
            save(mlp(genes, args.hidden), Path(args.mlp))
        return
    task = task_json(find_arena(args.arena), args.task)
    genes = task["genes"]
    if args.broken:
        broken(genes, Path(args.broken))
        return
    out = Path(args.out)
    save(identity(genes), out / "identity.onnx")
    save(linear(genes), out / "linear.onnx")
    save(shift(genes, task["perturbed_mean_delta"],
               f"perturbed-mean baseline of {task['task']} (dataset {task['dataset']} sha256 {task['dataset_sha256']})"),
         out / "perturbed_mean.onnx")
    save(in_context(genes, task["few_shot"]), out / "in_context.onnx")
    save(in_context(genes, task["few_shot"], with_context=False), out / "in_context_without_context.onnx")


if __name__ == "__main__":
    main()
