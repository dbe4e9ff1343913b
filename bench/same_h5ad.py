"""Checks two .h5ad files hold the same AnnData, exactly: X and every layer (values, dtype, sparse
structure), obs and var (values, dtypes, categories), obsm and uns; and that both HDF5 trees have
the same elements with the same attributes (encoding-type/-version, shape, ...), dtypes and
shapes (the storage layout, contiguous or chunked, may differ). Prints "same" or what differs
and exits 1. Used by bench/simulate_stream.sh to compare `arena simulate` before and after the
streaming writer.
    python bench/same_h5ad.py A.h5ad B.h5ad
"""

import sys

import anndata
import h5py
import numpy as np
import scipy.sparse as sp


def same_matrix(a, b):
    if type(a) is not type(b) or a.shape != b.shape or a.dtype != b.dtype:
        return False
    if sp.issparse(a):
        return (a.format == b.format and np.array_equal(a.indptr, b.indptr)
                and np.array_equal(a.indices, b.indices) and a.indices.dtype == b.indices.dtype
                and a.indptr.dtype == b.indptr.dtype and np.array_equal(a.data, b.data))
    return np.array_equal(a, b)


def tree(path):
    """name -> (attributes, dtype, shape) of every group and dataset."""
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            attrs = {k: np.asarray(v).tolist() for k, v in obj.attrs.items()}
            kind = (str(obj.dtype), obj.shape) if isinstance(obj, h5py.Dataset) else ("group", None)
            out[name] = (attrs, kind)
        f.visititems(visit)
        out["/"] = ({k: np.asarray(v).tolist() for k, v in f.attrs.items()}, ("group", None))
    return out


def main(left, right):
    a, b = anndata.read_h5ad(left), anndata.read_h5ad(right)
    problems = []
    ta, tb = tree(left), tree(right)
    if sorted(ta) != sorted(tb):
        problems.append(f"HDF5 elements {sorted(set(ta) ^ set(tb))}")
    problems += [f"HDF5 {k} (attributes, dtype or shape)" for k in ta if k in tb and ta[k] != tb[k]]
    if not same_matrix(a.X, b.X):
        problems.append("X")
    if sorted(a.layers) != sorted(b.layers):
        problems.append(f"layers {sorted(a.layers)} vs {sorted(b.layers)}")
    problems += [f"layers/{k}" for k in a.layers if k in b.layers and not same_matrix(a.layers[k], b.layers[k])]
    if sorted(a.obsm) != sorted(b.obsm):
        problems.append(f"obsm {sorted(a.obsm)} vs {sorted(b.obsm)}")
    problems += [f"obsm/{k}" for k in a.obsm if k in b.obsm and not same_matrix(a.obsm[k], b.obsm[k])]
    for name in ("obs", "var"):
        fa, fb = getattr(a, name), getattr(b, name)
        if not (fa.equals(fb) and (fa.dtypes == fb.dtypes).all() and fa.index.equals(fb.index)
                and list(fa.columns) == list(fb.columns)):
            problems.append(name)
    if sorted(a.uns) != sorted(b.uns) or any(not np.array_equal(a.uns[k], b.uns[k]) for k in a.uns):
        problems.append("uns")
    if problems:
        print("differ: " + ", ".join(problems))
        return 1
    print(f"same ({a.n_obs} x {a.n_vars}, {a.layers['counts'].nnz if 'counts' in a.layers else '?'} stored counts)")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
