#!/usr/bin/env python3
"""File-level import cycles in Rust crates.

    python3 scripts/import_cycles.py CRATE/src [CRATE/src ...]

Each .rs file is a node (mod.rs, lib.rs and main.rs stand for their module). An edge A -> B is a
path in A's code (outside its test module) that resolves to file B: `crate::`, `self::`,
`super::` and child-module paths, each followed to the longest prefix that is a file, and through
`pub use` re-exports (a facade's `pub use` is not itself an edge). Prints every cycle (strongly
connected component of more than one file) with its edges; exits 1 if there is any, else 0.
"""
import re, pathlib, sys
def modpath(f, src):
    parts = list(f.relative_to(src).with_suffix('').parts)
    if parts[-1] in ('mod','lib','main'): parts = parts[:-1]
    return tuple(parts)
def code(f):
    """The file's code without comments and without its test module."""
    t = f.read_text()
    t = re.sub(r'//[^\n]*', '', t)
    t = re.sub(r'#\[cfg\(test\)\]\s*(pub\s+)?mod\s+\w+\s*;', '', t)
    m = re.search(r'#\[cfg\(test\)\]\s*(pub\s+)?mod\s+\w+\s*\{', t)
    return t[:m.start()] if m else t
PATH = r'\b((?:crate|super|self|[a-z_][a-z0-9_]*)(?:::(?:[A-Za-z_][A-Za-z0-9_]*|\{[^;]*?\}))+)'
def norm(p):
    p = re.sub(r'\s+', ' ', p)
    return re.sub(r'\s*(::|\{|\}|,)\s*', r'\1', p)

def expand(path):
    """A use path with braces -> one segment list per imported name."""
    if '{' not in path: return [[x.split(' as ')[0].strip() for x in path.split('::')]]
    pre, inner = path.split('{', 1)
    inner = inner[:inner.rfind('}')]
    depth, cur, items = 0, '', []
    for ch in inner:
        if ch == ',' and depth == 0: items.append(cur); cur = ''; continue
        depth += ch == '{'; depth -= ch == '}'; cur += ch
    items.append(cur)
    out = []
    for it in items:
        it = it.strip().split(' as ')[0].strip()
        if not it or it == 'self': continue
        out += [pre.rstrip(':').split('::') + s for s in expand(it)]
    return out
def import_graph(src):
    """File -> the files its code refers to (module paths as tuples; the crate root is ())."""
    files = {modpath(f, src): f for f in src.rglob('*.rs')}
    texts = {m: code(f) for m, f in files.items()}
    def start(m, segs):
        if segs[0] == 'crate': return (), segs[1:]
        base = list(m)
        if segs[0] in ('self', 'super'):
            while segs and segs[0] in ('self', 'super'):
                if segs[0] == 'super': base = base[:-1]
                segs = segs[1:]
            return tuple(base), segs
        if tuple(base + [segs[0]]) in files: return tuple(base), segs
        return None, None
    # re-exports: module -> name -> path segments (relative resolution from that module)
    reexp = {m: {} for m in files}
    for m, t in texts.items():
        for p in re.findall(r'pub use ([^;]+);', t):
            for segs in expand(norm(p)):
                reexp[m][segs[-1]] = segs
    def resolve(m, segs, depth=0):
        base, rest = start(m, segs)
        if base is None: return None
        target = base
        for s in rest:
            if target + (s,) in files: target = target + (s,); continue
            if depth < 5 and s in reexp.get(target, {}):
                return resolve(target, reexp[target][s], depth + 1)
            break
        return target
    graph = {m: set() for m in files}
    for m, t in texts.items():
        t2 = re.sub(r'pub use [^;]+;', '', t)
        for p in re.findall(PATH, t2):
            for segs in expand(norm(p)):
                tgt = resolve(m, segs)
                if tgt is not None and tgt != m: graph[m].add(tgt)
    return graph
def sccs(graph):
    """Tarjan's strongly connected components of more than one file."""
    index, low, stack, on, out, n = {}, {}, [], set(), [], [0]
    def strong(v):
        index[v] = low[v] = n[0]; n[0] += 1; stack.append(v); on.add(v)
        for w in graph[v]:
            if w not in index: strong(w); low[v] = min(low[v], low[w])
            elif w in on: low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop(); on.discard(w); comp.append(w)
                if w == v: break
            if len(comp) > 1: out.append(comp)
    sys.setrecursionlimit(10000)
    for v in graph:
        if v not in index: strong(v)
    return out
bad = 0
for src in sys.argv[1:]:
    src = pathlib.Path(src)
    graph = import_graph(src)
    for c in sccs(graph):
        bad += 1
        print(src, sorted('/'.join(x) or '<root>' for x in c))
        for a in c:
            for b in sorted(graph[a]):
                if b in c: print('   ', '/'.join(a) or '<root>', '->', '/'.join(b) or '<root>')
sys.exit(1 if bad else 0)
