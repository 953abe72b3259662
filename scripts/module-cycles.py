"""Import cycles between the modules of a crate: exits 1 and names them, 0 when there are none.

Usage: python3 scripts/module-cycles.py vk-monitor/src [-v]   (-v also prints every edge)

Every file is a module; a reference `crate::a::b::c` or `super::x` (in a `use` or a path, not
in a comment) from module M is an edge from M to the longest module prefix it names. Test
modules (`tests`, `properties`) are left out. At every level of the tree, the edges are
collapsed to the sibling subtrees they connect, and any cycle among siblings is reported with
the edges that make it. A child using its parent's front, or a parent its child, counts too.
References that only macros make (`$crate::...`) are not dependencies of the module and are
ignored.
"""
import os, re, sys
root = sys.argv[1]
mods = {}
for dp, _, fs in os.walk(root):
    for f in fs:
        if not f.endswith('.rs'): continue
        rel = os.path.relpath(os.path.join(dp, f), root)[:-3].split(os.sep)
        if rel[-1] in ('mod', 'lib'): rel = rel[:-1]
        if rel and rel[-1] in ('tests', 'properties'):  # test modules
            continue
        mods[tuple(rel)] = open(os.path.join(dp, f)).read()
def strip(src):
    src = re.sub(r'//[^\n]*', '', src)
    # drop #[cfg(test)] mod tests { ... } at the end
    i = src.find('#[cfg(test)]\nmod tests {')
    return src if i < 0 else src[:i]
def resolve(mod, path):
    parts = path.split('::')
    if parts[0] == 'crate': base, rest = (), parts[1:]
    elif parts[0] in ('super', 'self'):
        base = mod
        while parts and parts[0] in ('super', 'self'):
            if parts[0] == 'super': base = base[:-1]
            parts = parts[1:]
        rest = parts
    else: return None
    best = base
    for i in range(1, len(rest) + 1):
        cand = base + tuple(rest[:i])
        if cand in mods: best = cand
        else: break
    return best
edges = set()
for m, src in mods.items():
    src = strip(src)
    # expand `use crate::a::{b, c::{d}}` groups roughly: collect prefixes + group items
    for stmt in re.findall(r'\buse\s+((?:crate|super|self)[^;]*);', src):
        stmt = re.sub(r'\s+', '', stmt)
        def walk(prefix, s):
            m2 = re.match(r'^([\w:]*?)(?:::)?\{(.*)\}$', s)
            if not m2:
                yield prefix + s.split(' as ')[0]
                return
            pre, inner = m2.groups()
            depth, cur, items = 0, '', []
            for ch in inner:
                if ch == '{': depth += 1
                if ch == '}': depth -= 1
                if ch == ',' and depth == 0: items.append(cur); cur = ''
                else: cur += ch
            if cur: items.append(cur)
            for it in items:
                yield from walk(prefix + pre + ('::' if pre else ''), it)
        for p in walk('', stmt):
            p = re.sub(r'as\w+$', '', p)
            t = resolve(m, p.rstrip(':'))
            if t is not None and t != m and t[:len(m)] != m: edges.add((m, t))
    for p in re.findall(r'(?<![$\w])((?:crate|super)(?:::\w+)+)', src):
        t = resolve(m, p)
        if t is not None and t != m and t[:len(m)] != m: edges.add((m, t))
def cycles(edges, nodes):
    graph = {n: set() for n in nodes}
    for a, b in edges:
        if a != b: graph[a].add(b)
    # Tarjan
    index, low, stack, on, out, i = {}, {}, [], set(), [], [0]
    def strong(v):
        index[v] = low[v] = i[0]; i[0] += 1; stack.append(v); on.add(v)
        for w in graph[v]:
            if w not in index: strong(w); low[v] = min(low[v], low[w])
            elif w in on: low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop(); on.discard(w); comp.append(w)
                if w == v: break
            if len(comp) > 1: out.append(comp)
    for v in nodes:
        if v not in index: strong(v)
    return out
found = False
parents = {m[:-1] for m in mods if m} | {()}
for parent in sorted(parents):
    kids = sorted({m[:len(parent) + 1] for m in mods if len(m) > len(parent) and m[:len(parent)] == parent})
    collapsed = set()
    for a, b in edges:
        if a[:len(parent)] == parent and b[:len(parent)] == parent and len(a) > len(parent) and len(b) > len(parent):
            ka, kb = a[:len(parent) + 1], b[:len(parent) + 1]
            if ka != kb: collapsed.add((ka, kb))
    for c in cycles(collapsed, kids):
        found = True
        print('cycle under', '::'.join(parent) or 'crate', ':', ' <-> '.join('::'.join(k) for k in c))
        for a, b in sorted(edges):
            if a[:len(parent)+1] in c and b[:len(parent)+1] in c and a[:len(parent)+1] != b[:len(parent)+1]:
                print('   ', '::'.join(a), '->', '::'.join(b))
if '-v' in sys.argv:
    for a, b in sorted(edges): print('::'.join(a) or 'crate', '->', '::'.join(b) or 'crate')
print('modules:', len(mods), 'edges:', len(edges), 'cycles:', 'yes' if found else 'none')
sys.exit(1 if found else 0)
