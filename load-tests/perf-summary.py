#!/usr/bin/env python3
"""Where the gateway's CPU goes: aggregate `perf script -F comm,ip,sym` stacks.

Usage: perf script -i PERF_OUT -F comm,ip,sym | python3 load-tests/perf-summary.py [--top N]

Each sample is charged to the nearest frame of our own crates (`gateway_*`, below the
server's connection loop) or, when the stack has none, to the nearest frame of a named
library (hyper, tokio, ...). For each such site the table shows its share of the samples and
how that share splits into kernel time (by syscall), allocator calls, memcpy/memmove and the
rest. A second table ranks the kernel's entry points (the syscall wrapper each kernel sample
came from), a third the leaf symbols.
"""
import collections
import re
import sys

ALLOC = re.compile(r"malloc|_int_free|cfree|free@|unlink_chunk|realloc|__rdl_|_int_realloc|malloc_consolidate|tcache")
COPY = re.compile(r"memmove|memcpy|memset")
ROOTS = ("gateway_server::serve",)
LIBS = ("hyper_util::", "hyper::", "tokio::", "tower_http::", "tower::", "http::", "bytes::",
        "rustls::", "prometheus::", "tracing", "serde_json::", "blake3", "gateway_")


def samples(lines):
    comm, frames = None, []
    for line in lines:
        if not line.strip():
            if comm is not None:
                yield comm, frames
            comm, frames = None, []
            continue
        if not line.startswith("\t") and not line.startswith(" " * 4):
            comm, frames = line.split()[0] if line.split() else "?", []
            continue
        parts = line.strip().split(None, 1)
        if len(parts) == 2:
            frames.append((parts[0], parts[1]))
    if comm is not None:
        yield comm, frames


def site_of(frames):
    named = None
    for addr, sym in frames:
        if addr.startswith("ffffffff"):
            continue
        if sym.startswith(ROOTS):
            break
        if sym.startswith("gateway_"):
            return short(sym)
        if named is None and sym.startswith(LIBS):
            named = short(sym)
    return named or "(runtime / unattributed)"


def short(sym):
    sym = re.sub(r"<[^<>]*>", "", sym)
    sym = re.sub(r"<[^<>]*>", "", sym)
    return sym[:90]


def syscall_of(frames):
    for addr, sym in frames:
        if not addr.startswith("ffffffff"):
            return short(sym)
    return "(kernel only)"


def main():
    top = int(sys.argv[sys.argv.index("--top") + 1]) if "--top" in sys.argv else 40
    by_site = collections.defaultdict(collections.Counter)
    by_comm = collections.Counter()
    by_syscall = collections.Counter()
    by_leaf = collections.Counter()
    total = 0
    for comm, frames in samples(sys.stdin):
        if not frames:
            continue
        total += 1
        by_comm[comm] += 1
        addr, leaf = frames[0]
        if addr.startswith("ffffffff"):
            kind = "kernel"
            by_syscall[(comm, syscall_of(frames))] += 1
        elif ALLOC.search(leaf):
            kind = "alloc"
        elif COPY.search(leaf):
            kind = "copy"
        else:
            kind = "user"
        by_leaf[short(leaf)] += 1
        by_site[(comm, site_of(frames))][kind] += 1
    pct = lambda n: 100.0 * n / total if total else 0.0
    print(f"{total} samples; by thread: " + ", ".join(f"{c} {pct(n):.1f}%" for c, n in by_comm.most_common()))
    print(f"\n{'share':>6} {'kernel':>6} {'alloc':>6} {'copy':>6} {'user':>6}  thread / nearest site")
    ranked = sorted(by_site.items(), key=lambda kv: -sum(kv[1].values()))
    for (comm, site), kinds in ranked[:top]:
        n = sum(kinds.values())
        print(f"{pct(n):6.2f} {pct(kinds['kernel']):6.2f} {pct(kinds['alloc']):6.2f} "
              f"{pct(kinds['copy']):6.2f} {pct(kinds['user']):6.2f}  {comm[:15]} {site}")
    print(f"\n{'share':>6}  kernel time by the user frame that entered it")
    for (comm, sc), n in by_syscall.most_common(top // 2):
        print(f"{pct(n):6.2f}  {comm[:15]} {sc}")
    print(f"\n{'share':>6}  leaf symbols")
    for leaf, n in by_leaf.most_common(top // 2):
        print(f"{pct(n):6.2f}  {leaf}")


if __name__ == "__main__":
    main()
