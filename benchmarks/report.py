#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn the CSV of the snp_page_lock benchmark into a table, targets, a plot.

  report.py report OUTDIR ENV=FILE.csv[,FILE.csv...]...
                                           results.csv, table.md, short.md,
                                           plot.png (gnuplot) in OUTDIR
  report.py check FILE.csv [--off|--native] smoke check: every op ran, every
                                           number positive and finite
  report.py check-vmm FILE                 the same for a perf bench output

ENV "vmm" names the output of `perf bench -f simple snp-page-lock all` in
a qemu-on boot (the VMM-side costs through /dev/snp_page_lock, see
tools/perf/bench/snp-page-lock.c for its rows); its rows go into
results.csv (env vmm), a table of their own in table.md and short.md, and
a panel of plot.png.

ENV names a boot: qemu-on, qemu-off (snp_page_lock=off), uml-on, uml-off,
or native (a run of the native harness tools/testing/snp_page_lock, whose
CSV has the same format and its own ops).
Each FILE.csv is what <debugfs>/snp_page_lock_bench/results returned in
one boot, followed by the lines of the KVM benchmark (snp_pl_map_bench:
ops kvm_map, kvm_get_put, gmem_1p, gmem_2m) of the same boot. With
several boots of one ENV, every number reported is the
median over the boots, and every ratio is the median of the ratios
computed within each boot (a ratio never mixes two boots).
"""

import csv
import io
import math
import os
import statistics
import subprocess
import sys

# The kernel's op table, in order, with what each row measures.
OPS = [
    ("empty", "empty loop (loop overhead)"),
    ("get_put", "get_page + put_page (2 atomic RMWs: the physical limit)"),
    ("kmap", "kmap_local_page + read + kunmap_local (bare map)"),
    ("kmap_pfn", "kmap_local_pfn + read + kunmap_local (what snp_kmap_local_pfn wraps)"),
    ("pin", "snp_pin_shared + snp_unpin_shared, 1 page"),
    ("snp_kmap", "snp_kmap_local_pfn + read + snp_kunmap_local"),
    ("v5_srcu", "2021 v5: per-VM srcu_read_lock + xa_load state + kmap + srcu_read_unlock"),
    ("v6_spin", "2022 v6: per-VM spin_lock + xa_load state + kmap + spin_unlock"),
    ("kvm_map", "kvm_vcpu_map + kvm_vcpu_unmap of one page (KVM's host mapping, with its pin)"),
    ("kvm_get_put", "get_page + put_page of that page, timed in the same call as kvm_map"),
    ("gmem_1p", "in-place guest_memfd: KVM_SET_MEMORY_ATTRIBUTES2 to private + back, 1 page (from the VMM)"),
    ("gmem_2m", "in-place guest_memfd: KVM_SET_MEMORY_ATTRIBUTES2 to private + back, 2 MiB (512 pages)"),
    ("word_lookup", "pin's word-map lookup alone, x2 (snp_state_word)"),
    ("xadd_pair", "pin's two atomics alone: fetch_add + sub_return of the bias on a private word"),
    ("stat_pair", "pin's per-CPU counters alone: 2x this_cpu_add"),
    ("get_put_2m", "get_page + put_page on 512 pages"),
    ("pin_2m", "snp_pin_shared + snp_unpin_shared of an aligned 2 MiB range (512 pages: one block pin; native: snp_pin_block + snp_unpin_block)"),
    ("layer_1p", "the layer's part of a 1-page round trip: 2x (convert_begin + end(abort)), no backend"),
    ("backend_1p", "software backend alone: make_private + make_shared, 1 page"),
    ("convert_1p", "snp_make_private + snp_make_shared, 1 page, no pins"),
    ("layer_2m", "the layer's part of a 2 MiB round trip, no backend"),
    ("backend_2m", "software backend alone, 512 pages"),
    ("convert_2m", "snp_make_private + snp_make_shared, 2 MiB, no pins"),
    ("srcu_exp", "synchronize_srcu_expedited, no readers"),
    ("alloc_free_0", "alloc_pages + __free_pages, order 0 (the free path has the G4 check)"),
    ("alloc_free_9", "alloc_pages + __free_pages, order 9"),
    ("get_put_x2", "get_put, 2 threads, distinct pages"),
    ("get_put_x2_same", "get_put, 2 threads, same page"),
    ("pin_x2", "pin, 2 threads, distinct pages"),
    ("pin_x2_same", "pin, 2 threads, same page"),
    ("pin_x2_adjacent", "pin, 2 threads, neighbouring pfns"),
    ("snp_kmap_x2", "snp_kmap, 2 threads, distinct pages"),
    ("v5_srcu_x2", "v5 pattern, 2 threads, distinct pages"),
    ("v6_spin_x2", "v6 pattern, 2 threads, distinct pages (one VM lock)"),
    ("try_get_put", "folio_try_get + folio_put (the conditional-pin shape)"),
    ("cs_none_x2", "2 threads: kmap + read 64 B + unmap, unprotected, irqs on (the floor)"),
    ("cs_pin_x2", "2 threads: the same under a pin; a converter converts another page every 1 ms"),
    ("cs_v5_x2", "2 threads: the same in an SRCU section; the v5 converter (synchronize_srcu) every 1 ms"),
    ("cs_v6_x2", "2 threads: the same under the VM spinlock; the v6 converter (the lock) every 1 ms"),
    ("get_put_cold", "get_put, strided walk over more memory than the LLC (in-kernel: 64 MiB)"),
    ("try_get_put_cold", "try_get_put, the same cold walk"),
    ("pin_cold", "pin, the same cold walk"),
    # Native harness only (tools/testing/snp_page_lock).
    ("pin_word", "pin's atomics, flag tests and counters, no lookup (native)"),
    ("lookup_x2", "pin's two lookups of the state word alone (native)"),
]
OP_NAMES = [o for o, _ in OPS]
NATIVE_OPS = ["empty", "get_put", "try_get_put", "pin", "pin_word",
              "lookup_x2", "pin_2m", "get_put_cold", "try_get_put_cold",
              "pin_cold", "get_put_x2", "get_put_x2_same", "pin_x2",
              "pin_x2_same", "pin_x2_adjacent"]
NATIVE_ONLY = {"pin_word", "lookup_x2"}
KERNEL_OPS = [o for o in OP_NAMES if o not in NATIVE_ONLY]
DESC = dict(OPS)
# Skipped when the layer is off.
NEEDS_LAYER = {"word_lookup", "layer_1p", "convert_1p", "layer_2m", "convert_2m",
               "gmem_1p", "gmem_2m", "cs_pin_x2"}
# Two-thread ops with a converter next to them: its latencies are in the CSV.
CONV_OPS = {"cs_pin_x2", "cs_v5_x2", "cs_v6_x2"}
ENVS = ["qemu-on", "qemu-off", "uml-on", "uml-off", "native"]
NUMS = ["ns_op", "ns_min", "ns_max", "wall_ns_op"]


def read_csv(path):
    """Return (header comment, {op: row}) of one benchmark CSV."""
    meta, lines = "", []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("# snp_page_lock_bench"):
                meta = line[2:]
            elif line and not line.startswith("#"):
                lines.append(line)
    rows = {}
    for r in csv.DictReader(io.StringIO("\n".join(lines))):
        rows[r["op"]] = r
    return meta, rows


def num(row, key):
    try:
        v = float(row[key])
    except (KeyError, TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def ok(row):
    return row is not None and row.get("status") == "ok"


def median(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def boot_ns(rows, op):
    row = rows.get(op)
    return num(row, "ns_op") if ok(row) else None


def boot_mops(rows, op):
    row = rows.get(op)
    wall = num(row, "wall_ns_op") if ok(row) else None
    return 1000.0 / wall if wall else None


def boot_parallel(rows, op):
    row = rows.get(op)
    if not ok(row) or row.get("threads") == "1":
        return None
    v, wall = num(row, "ns_op"), num(row, "wall_ns_op")
    return v / wall if v and wall else None


# data[env] is a list of boots, each {op: row}.
def ns(data, env, op):
    """ns/op, median over the boots."""
    return median(boot_ns(b, op) for b in data.get(env, []))


def mops(data, env, op):
    """Aggregate throughput in million operations per second."""
    return median(boot_mops(b, op) for b in data.get(env, []))


def parallel(data, env, op):
    """Effective parallelism of a run: summed thread time over wall time."""
    return median(boot_parallel(b, op) for b in data.get(env, []))


def ratio(data, env, a, b, metric=boot_ns):
    """metric(a) / metric(b) within each boot, median over the boots."""
    vals = []
    for boot in data.get(env, []):
        x, y = metric(boot, a), metric(boot, b)
        vals.append(x / y if x is not None and y else None)
    return median(vals)


def envs_of(data, names=ENVS):
    """The boots of names (default: all, in order) that have results."""
    return [e for e in names if e in data]


def row_of(data, env, op):
    for boot in data.get(env, []):
        if op in boot:
            return boot[op]
    return None


def fmt(v, digits=2):
    if v is None:
        return "-"
    if v >= 1000:
        return f"{v:,.0f}"
    if v >= 100:
        return f"{v:.1f}"
    return f"{v:.{digits}f}"


def targets(data):
    """Issues 7, 12 and 14's targets: (name, env, value, goal text, met, how)."""
    out = []

    def add(name, env, value, goal, le, how):
        met = None if value is None else (value <= goal if le else value >= goal)
        out.append((name, env, value, ("<= " if le else ">= ") + f"{goal:g}", met, how))

    def info(name, env, value, how):
        """A number shown next to the targets, not a target of its own."""
        out.append(("(info) " + name, env, value, "-", None, how))

    def envs(*names):
        return envs_of(data, names)

    for env in envs("qemu-on", "uml-on"):
        add("pin+unpin vs get_page+put_page", env,
            ratio(data, env, "pin", "get_put"), 1.15, True, "pin / get_put (ns)")
    for env in envs("qemu-off", "uml-off"):
        add("layer off: snp_kmap vs bare kmap", env,
            ratio(data, env, "snp_kmap", "kmap_pfn"), 1.02, True,
            "snp_kmap / kmap_pfn, snp_page_lock=off boot")
        info("layer off: snp_kmap vs kmap_local_page", env,
             ratio(data, env, "snp_kmap", "kmap"),
             "snp_kmap / kmap, snp_page_lock=off boot")
    for env in envs("qemu-on", "uml-on"):
        add("no slower than v5 SRCU, 1 thread", env,
            ratio(data, env, "snp_kmap", "v5_srcu"), 1.0, True,
            "snp_kmap / v5_srcu (ns)")
    for env in envs("qemu-on"):
        info("2 threads, v6 spinlock, no converter, each its own map", env,
             ratio(data, env, "snp_kmap_x2", "v6_spin_x2", boot_mops),
             "snp_kmap_x2 / v6_spin_x2 (ops/s)")
        add("issue 12: 2 threads, same critical section: throughput vs v6 spinlock",
            env, ratio(data, env, "cs_pin_x2", "cs_v6_x2", boot_mops), 2.0, False,
            "cs_pin_x2 / cs_v6_x2 (ops/s), converters running")
        info("2 threads, same critical section: throughput vs v5 SRCU", env,
             ratio(data, env, "cs_pin_x2", "cs_v5_x2", boot_mops),
             "cs_pin_x2 / cs_v5_x2 (ops/s), converters running")
        info("2 threads, same critical section: pin's throughput vs none", env,
             ratio(data, env, "cs_pin_x2", "cs_none_x2", boot_mops),
             "cs_pin_x2 / cs_none_x2 (ops/s)")
        for op, who in (("cs_pin_x2", "the layer"), ("cs_v5_x2", "v5 SRCU"),
                        ("cs_v6_x2", "v6 spinlock")):
            for q in ("p50", "p99"):
                info(f"converter latency {q}, {who} (us)", env,
                     conv_us(data, env, op, q),
                     f"{op}: conv_{q}_ns / 1000, median over boots")
    for env in envs("qemu-on", "uml-on"):
        add("1-page conversion vs synchronize_srcu_expedited", env,
            ratio(data, env, "srcu_exp", "convert_1p"), 10.0, False,
            "srcu_exp / convert_1p (speed-up)")
        # The conversion without the backend.
        info("the layer's part of a 1-page conversion vs "
             "synchronize_srcu_expedited", env,
             ratio(data, env, "srcu_exp", "layer_1p"),
             "srcu_exp / layer_1p (speed-up)")
        add("2 MiB conversion vs backend alone", env,
            ratio(data, env, "convert_2m", "backend_2m"), 1.5, True,
            "convert_2m / backend_2m (ns)")
        info("the layer's part of a 2 MiB conversion over the backend's work",
             env, ratio(data, env, "layer_2m", "backend_2m"),
             "layer_2m / backend_2m")
    for env in envs("qemu-on", "qemu-off"):
        info("kvm_vcpu_map + unmap in units of get_page + put_page", env,
             ratio(data, env, "kvm_map", "kvm_get_put"),
             "kvm_map / kvm_get_put (ns, same call)")
    for env in envs("qemu-on"):
        for size, n in (("4 KiB", "1p"), ("2 MiB", "2m")):
            info(f"in-place guest_memfd {size} round trip over the layer's part",
                 env, ratio(data, env, "gmem_" + n, "layer_" + n),
                 f"gmem_{n} / layer_{n}")
            info(f"in-place guest_memfd {size} round trip over the layer's "
                 "conversion with its backend", env,
                 ratio(data, env, "gmem_" + n, "convert_" + n),
                 f"gmem_{n} / convert_{n}")
    for env in envs("qemu-on"):
        add("distinct-page pinning, 2 threads vs 1", env,
            ratio(data, env, "pin_x2", "pin", boot_mops), 1.8, False,
            "pin_x2 / pin (ops/s)")
    # Issue 12: the fast path at the physical limit.
    for env in envs("qemu-on"):
        add("issue 12: QEMU pin+unpin vs get_put", env,
            ratio(data, env, "pin", "get_put"), 1.5, True,
            "pin / get_put (ns)")
        add("issue 12: 1 thread, v5 SRCU pattern over snp_kmap", env,
            ratio(data, env, "v5_srcu", "snp_kmap"), 2.0, False,
            "v5_srcu / snp_kmap (speed-up)")
        add("issue 12: 2 MiB unpinned conversion, per page vs 1 page", env,
            per_page(data, env), 0.2, True,
            "(convert_2m / 512) / convert_1p")
        add("issue 12: distinct-page pinning, 2 threads vs 1", env,
            ratio(data, env, "pin_x2", "pin", boot_mops), 1.9, False,
            "pin_x2 / pin (ops/s)")
        info("distinct-page get_put, 2 threads vs 1 (what the host allows)",
             env, ratio(data, env, "get_put_x2", "get_put", boot_mops),
             "get_put_x2 / get_put (ops/s)")
        info("in-kernel: pin+unpin vs get_put, cold", env,
             ratio(data, env, "pin_cold", "get_put_cold"),
             "pin_cold / get_put_cold (ns)")
    # Issue 14: an aligned 2 MiB range is one pin of its block word.
    for env in envs("qemu-on"):
        add("issue 14: 2 MiB aligned range pin+unpin vs a 4 KiB pin+unpin",
            env, ratio(data, env, "pin_2m", "pin"), 16.0, True,
            "pin_2m / pin (ns)")
    for env in envs("qemu-on", "qemu-off"):
        for order in ("0", "9"):
            info(f"alloc + free, order {order}, in units of get_put", env,
                 ratio(data, env, "alloc_free_" + order, "get_put"),
                 f"alloc_free_{order} / get_put (ns)")
    if "qemu-on" in data and "qemu-off" in data:
        for order in ("0", "9"):
            on = ratio(data, "qemu-on", "alloc_free_" + order, "get_put")
            off = ratio(data, "qemu-off", "alloc_free_" + order, "get_put")
            add(f"issue 12: page free (order {order}), layer on vs off",
                "qemu-on/off", on / off if on and off else None, 1.02, True,
                f"(alloc_free_{order} / get_put) on over off, each "
                "within its boot")
    for env in envs("native"):
        add("native: pin+unpin vs get_put, hot", env,
            ratio(data, env, "pin", "get_put"), 1.10, True,
            "pin / get_put (ns)")
        add("native: pin+unpin vs get_put, cold", env,
            ratio(data, env, "pin_cold", "get_put_cold"), 1.15, True,
            "pin_cold / get_put_cold (ns)")
        info("native: pin+unpin vs folio_try_get+folio_put, hot", env,
             ratio(data, env, "pin", "try_get_put"), "pin / try_get_put (ns)")
        info("native: pin without its lookups vs get_put", env,
             ratio(data, env, "pin_word", "get_put"), "pin_word / get_put (ns)")
        info("native: the two lookups of a pin+unpin", env,
             ns(data, env, "lookup_x2"), "lookup_x2 (ns)")
        add("native: distinct-page pinning, 2 threads vs 1", env,
            ratio(data, env, "pin_x2", "pin", boot_mops), 1.9, False,
            "pin_x2 / pin (ops/s)")
        info("native: same page, 2 threads, pin vs get_put", env,
             ratio(data, env, "pin_x2_same", "get_put_x2_same"),
             "pin_x2_same / get_put_x2_same (ns)")
        add("issue 14: native: 2 MiB aligned range pin+unpin vs a 4 KiB "
            "pin+unpin", env, ratio(data, env, "pin_2m", "pin"), 16.0, True,
            "pin_2m / pin (ns): snp_pin_block + snp_unpin_block")
    return out


def conv_us(data, env, op, q):
    """A converter's latency percentile q ("p50", "p99") in us."""
    vals = []
    for boot in data.get(env, []):
        row = boot.get(op)
        v = num(row, f"conv_{q}_ns") if ok(row) else None
        vals.append(v / 1000.0 if v else None)
    return median(vals)


def per_page(data, env):
    """A 2 MiB conversion's cost per page over a 1-page conversion's."""
    r = ratio(data, env, "convert_2m", "convert_1p")
    return r / 512 if r else None


def met_text(met):
    return "n/a" if met is None else ("met" if met else "MISSED")


def write_results_csv(data, path, vmm=()):
    """Every row of every boot, with its ratio to get_put of that boot; then
    the VMM rows (env vmm, op vmm_<label words>, their numbers in values)."""
    cols = ["env", "boot", "op", "threads", "pages", "nr_pages", "irqs_off",
            "loops", "runs", "ns_op", "ns_min", "ns_max", "wall_ns_op",
            "dropped", "conv_n", "conv_p50_ns", "conv_p99_ns", "mops",
            "x_get_put", "status", "values"]
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(cols)
        for env in ENVS:
            for i, boot in enumerate(data.get(env, [])):
                base = boot_ns(boot, "get_put")
                for op in OP_NAMES:
                    r = boot.get(op)
                    if r is None:
                        continue
                    v, m = boot_ns(boot, op), boot_mops(boot, op)
                    w.writerow([env, i + 1, op] +
                               [r.get(c, "") for c in cols[3:17]] +
                               [f"{m:.3f}" if m else "",
                                f"{v / base:.3f}" if v and base else "",
                                r.get("status", ""), ""])
        for i, run in enumerate(vmm):
            for key, r in run.items():
                vals = " ".join(f"{c}={r[c]:g}" for c in VMM_COLS[vmm_kind(key)]
                                if c in r)
                w.writerow(["vmm", i + 1, "vmm_" + "_".join(key)] +
                           [""] * 14 + ["", "", r["status"], vals])


# perf bench snp-page-lock, simple format: a row's label words, then its
# numbers (see tools/perf/bench/snp-page-lock.c). VMM_COLS names them.
VMM_COLS = {
    "pin": ["pin_ns_page", "unpin_ns_page", "pin_unpin_ns_page",
            "pin_ns_call", "unpin_ns_call"],
    "convert": ["to_private_us", "to_shared_us", "round_trip_us"],
    "handoff": ["p50_us", "p99_us", "min_us", "max_us"],
    "fault": ["ns_touch", "faults_touch"],
    "fault-wait": ["p50_us", "p99_us", "min_us", "max_us"],
}


def vmm_kind(key):
    """The VMM_COLS entry of a row: a fault row without a page count is a
    fault-wait latency row."""
    return "fault-wait" if key[0] == "fault" and len(key) == 2 else key[0]


def read_vmm(path):
    """{key tuple: {col: value} or {"status": "skipped: ..."}} of one run."""
    rows = {}
    with open(path) as f:
        for line in f:
            t = line.split()
            if not t or t[0].startswith("#") or t[0] not in (
                    "pin", "convert", "handoff", "fault"):
                continue
            bench = t[0]
            if bench == "pin":
                key, rest = tuple(t[:3]), t[3:]
            elif bench == "convert":
                key, rest = tuple(t[:2]), t[2:]
            elif bench == "handoff":
                key, rest = tuple(t[:2]), t[2:]
            elif len(t) > 2 and t[2].isdigit():
                key, rest = tuple(t[:3]), t[3:]
            else:
                key, rest = tuple(t[:2]), t[2:]
                bench = "fault-wait"
            if rest and rest[0] == "skipped:":
                rows[key] = {"status": " ".join(rest)}
                continue
            vals = {}
            for c, v in zip(VMM_COLS[bench], rest):
                try:
                    x = float(v)
                except ValueError:
                    continue
                if math.isfinite(x) and x > 0:
                    vals[c] = x
            vals["status"] = "ok" if len(vals) == len(VMM_COLS[bench]) else "bad"
            rows[key] = vals
    return rows


def vmm_val(vmm, key, col):
    """The median over runs of one number of one VMM row."""
    return median([r.get(key, {}).get(col) for r in vmm])


def vmm_keys(vmm):
    keys = []
    for r in vmm:
        for k in r:
            if k not in keys:
                keys.append(k)
    return keys


def vmm_status(vmm, key):
    st = [r[key]["status"] for r in vmm if key in r]
    return st[0] if st and all(x != "ok" for x in st) else "ok"


def vmm_md(vmm, data):
    """The VMM-side tables (perf bench snp-page-lock), medians over runs."""
    if not vmm:
        return []
    keys = vmm_keys(vmm)
    kpin = ns(data, "qemu-on", "pin")
    out = [f"VMM side: `perf bench snp-page-lock all` in the qemu-on boots "
           f"({len(vmm)} runs, medians). x in-kernel pin is PIN+UNPIN per page "
           "over snp_pin_shared + snp_unpin_shared of one page in the same "
           "kind of boot.", "",
           "| pin | memory | pages | PIN ns/page | UNPIN ns/page | "
           "PIN+UNPIN ns/page | x in-kernel pin | PIN us/call |",
           "|---|---|---:|---:|---:|---:|---:|---:|"]
    for k in keys:
        if k[0] != "pin":
            continue
        st = vmm_status(vmm, k)
        if st != "ok":
            out.append(f"| pin | {k[1]} | {k[2]} | {st} | | | | |")
            continue
        pu = vmm_val(vmm, k, "pin_unpin_ns_page")
        call = vmm_val(vmm, k, "pin_ns_call")
        out.append(f"| pin | {k[1]} | {k[2]} | {fmt(vmm_val(vmm, k, 'pin_ns_page'))} | "
                   f"{fmt(vmm_val(vmm, k, 'unpin_ns_page'))} | {fmt(pu)} | "
                   f"{fmt(pu / kpin if pu and kpin else None)} | "
                   f"{fmt(call / 1000 if call else None)} |")
    out += ["", "| convert (unpinned, test pool) | pages | to private us | "
            "to shared us | round trip us |", "|---|---:|---:|---:|---:|"]
    for k in keys:
        if k[0] == "convert":
            out.append(f"| convert | {k[1]} | " + " | ".join(
                fmt(vmm_val(vmm, k, c)) for c in VMM_COLS["convert"]) + " |")
    out += ["", "| latency from the converter's start (handoff) or the UNPIN "
            "(fault wait) | p50 us | p99 us | min us | max us |",
            "|---|---:|---:|---:|---:|"]
    what = {"epollpri": "handoff: start -> the VMM's EPOLLPRI",
            "unpin": "handoff: start -> the VMM's UNPIN returned",
            "done": "handoff: start -> the conversion completed",
            "wait-resume": "fault: UNPIN -> a fault that waited for the "
                           "conversion returns (SIGBUS)",
            "wait-total": "fault: the whole wait of that fault"}
    for k in keys:
        if vmm_kind(k) in ("handoff", "fault-wait"):
            out.append(f"| {what.get(k[1], ' '.join(k))} | " + " | ".join(
                fmt(vmm_val(vmm, k, c)) for c in VMM_COLS["handoff"]) + " |")
    out += ["", "| first touch (fault) | pages | ns/touch | faults/touch |",
            "|---|---:|---:|---:|"]
    for k in keys:
        if vmm_kind(k) == "fault":
            st = vmm_status(vmm, k)
            if st != "ok":
                out.append(f"| {k[1]} | {k[2]} | {st} | |")
                continue
            out.append(f"| {k[1]} | {k[2]} | {fmt(vmm_val(vmm, k, 'ns_touch'))} | "
                       f"{fmt(vmm_val(vmm, k, 'faults_touch'))} |")
    out.append("")
    return out


def check_vmm(path):
    """Smoke check of a perf bench output: (passed, failed)."""
    rows = read_vmm(path)
    passed = failed = 0
    for bench in ("pin", "convert", "handoff", "fault"):
        mine = {k: v for k, v in rows.items() if k[0] == bench}
        bad = [" ".join(k) for k, v in mine.items() if v["status"] == "bad"]
        if not mine or bad:
            failed += 1
            print(f"  FAIL vmm {bench}: " + (f"bad numbers in {bad}" if bad
                                            else "no row"))
        else:
            passed += 1
            print(f"  ok   vmm {bench}: {len(mine)} rows")
    return passed, failed


def table_md(data, meta, machine, vmm=()):
    envs = envs_of(data)
    out = []
    out.append(f"Measured on: {machine}")
    for e in envs:
        out.append(f"- {e} ({len(data[e])} boots): {meta.get(e, '')}")
    out.append("")
    head = "| op | what | threads |"
    sep = "|---|---|---|"
    for e in envs:
        head += f" {e} ns/op | x get_put |"
        sep += "---:|---:|"
    head += " qemu-on Mops/s | parallel |"
    sep += "---:|---:|"
    out += [head, sep]
    for op in OP_NAMES:
        rows = {e: row_of(data, e, op) for e in envs}
        if not any(rows.values()):
            continue
        threads = next(r["threads"] for r in rows.values() if r)
        line = f"| {op} | {DESC[op]} | {threads} |"
        for e in envs:
            v, row = ns(data, e, op), rows[e]
            if v is None and row is not None and row.get("status", "ok") != "ok":
                line += f" {row['status']} | - |"
            else:
                line += f" {fmt(v)} | {fmt(ratio(data, e, op, 'get_put'))} |"
        line += f" {fmt(mops(data, 'qemu-on', op), 1)} | {fmt(parallel(data, 'qemu-on', op))} |"
        out.append(line)
    out.append("")
    out.append("ns/op of a 2-thread row is the mean per-thread latency; Mops/s is "
               "the aggregate throughput (all threads); parallel is the time the "
               "threads spent in their loops over the wall-clock time of the run "
               "(2.00: both vCPUs ran the whole time; less: the host did not give "
               "QEMU two CPUs, or the threads did not overlap). x get_put is ns/op "
               "over get_put's ns/op in the same boot. With several boots, "
               "numbers are medians over the boots and ratios medians of "
               "same-boot ratios.")
    out.append("")
    out += targets_md(data)
    out.append("")
    out += vmm_md(vmm, data)
    return "\n".join(out) + "\n"


def targets_md(data):
    out = ["| target | boot | measured | goal | result | how |",
           "|---|---|---:|---:|---|---|"]
    for name, env, value, goal, met, how in targets(data):
        out.append(f"| {name} | {env} | {fmt(value, 3)} | {goal} | "
                   f"{met_text(met)} | {how} |")
    return out


def short_md(data, vmm=()):
    envs = envs_of(data)
    keep = ["empty", "get_put", "kmap", "kmap_pfn", "pin", "snp_kmap", "v5_srcu",
            "v6_spin", "kvm_map", "kvm_get_put", "pin_2m", "layer_1p", "backend_1p", "convert_1p",
            "backend_2m", "convert_2m", "gmem_1p", "gmem_2m",
            "srcu_exp", "pin_x2", "snp_kmap_x2", "v6_spin_x2",
            "cs_none_x2", "cs_pin_x2", "cs_v5_x2", "cs_v6_x2",
            "try_get_put", "get_put_cold", "pin_cold", "pin_x2_same"]
    head = "| op |" + "".join(f" {e} ns/op | x get_put |" for e in envs)
    sep = "|---|" + "---:|---:|" * len(envs)
    out = [head, sep]
    for op in keep:
        line = f"| {op} |"
        for e in envs:
            line += (f" {fmt(ns(data, e, op))} |"
                     f" {fmt(ratio(data, e, op, 'get_put'))} |")
        out.append(line)
    out.append("")
    out += targets_md(data)
    out.append("")
    out += vmm_md(vmm, data)
    return "\n".join(out) + "\n"


def plot(data, outdir, vmm=()):
    """One panel per target: the ratio measured in each boot kind, the goal
    as a line (x get_put and the other ratios of targets(), not raw ns);
    then the VMM's PIN+UNPIN per page in units of the in-kernel pin, which
    has no goal."""
    panels = {}
    for name, env, value, goal, _, how in targets(data):
        if name.startswith("(info)") or value is None:
            continue
        panels.setdefault((name, goal, how), []).append((env, value))
    kpin = ns(data, "qemu-on", "pin")
    for k in vmm_keys(vmm):
        v = vmm_val(vmm, k, "pin_unpin_ns_page") if k[0] == "pin" else None
        if v and kpin:
            panels.setdefault(("~ VMM (perf bench): PIN+UNPIN per page vs in-kernel pin",
                               None, "x in-kernel pin+unpin"),
                              []).append((f"{k[1]}-{k[2]}", v / kpin))
    if not panels:
        print("report: no target measured, no plot", file=sys.stderr)
        return False
    png = os.path.join(outdir, "plot.png")
    cols = 4
    rows = (len(panels) + cols - 1) // cols
    script = [f"set terminal pngcairo size {cols * 420},{rows * 300} noenhanced font ',9'",
              f"set output '{png}'",
              f"set multiplot layout {rows},{cols} title "
              "'snp_page_lock: each target, measured (bars, median over boots) "
              "against its goal (red line)'",
              "set style data histograms",
              "set style fill solid 0.7 border -1",
              "set boxwidth 0.6",
              "set grid ytics",
              "set key off"]
    for i, ((name, goal, how), bars) in enumerate(sorted(panels.items(),
                                                         key=lambda p: p[0][0])):
        # Rotate the labels of a panel with many bars.
        script.append("set xtics rotate by -30 font ',7'" if len(bars) > 3
                      else "set xtics norotate font ',8'")
        dat = os.path.join(outdir, f"plot-{i}.dat")
        with open(dat, "w") as f:
            for env, value in bars:
                f.write(f"{env} {value:.4f}\n")
        title = name if len(name) <= 60 else name[:57] + "..."
        top = max([v for _, v in bars] + ([float(goal.split()[-1])] if goal else []))
        script.append(f"set yrange [0:{top * 1.15:g}]")
        line = ""
        if goal:
            line = (f", {float(goal.split()[-1])} with lines lw 2 lc rgb 'red' "
                    f"title '{goal}'")
        script += [f"set title '{title}' font ',9'",
                   f"set ylabel '{how[:50]}' font ',8'",
                   f"plot '{dat}' using 0:2:xtic(1) with boxes lc rgb '#4472c4'"
                   + line]
    script.append("unset multiplot")
    ok_ = True
    try:
        subprocess.run(["gnuplot"], input="\n".join(script) + "\n", text=True,
                       check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as e:
        err = getattr(e, "stderr", "") or str(e)
        print(f"report: gnuplot failed: {err.strip()}", file=sys.stderr)
        ok_ = False
    for i in range(len(panels)):
        os.remove(os.path.join(outdir, f"plot-{i}.dat"))
    return ok_


def report(outdir, specs, machine):
    data, meta, vmm = {}, {}, []
    for spec in specs:
        env, paths = spec.split("=", 1)
        for path in paths.split(","):
            if not os.path.exists(path) or os.path.getsize(path) == 0:
                print(f"report: {env}: no results ({path})", file=sys.stderr)
                continue
            if env == "vmm":
                vmm.append(read_vmm(path))
                continue
            meta[env], rows = read_csv(path)
            data.setdefault(env, []).append(rows)
    if not data:
        print("report: no results at all", file=sys.stderr)
        return 1
    write_results_csv(data, os.path.join(outdir, "results.csv"), vmm)
    with open(os.path.join(outdir, "table.md"), "w") as f:
        f.write(table_md(data, meta, machine, vmm))
    with open(os.path.join(outdir, "short.md"), "w") as f:
        f.write(short_md(data, vmm))
    plot(data, outdir, vmm)
    return 0


def check(path, off, native=False):
    """Smoke check; prints one line per op, returns (passed, failed)."""
    names = NATIVE_OPS if native else KERNEL_OPS
    try:
        _, rows = read_csv(path)
    except (OSError, csv.Error, KeyError) as e:
        print(f"  FAIL: cannot read {path}: {e}")
        return 0, 1
    passed = failed = 0
    for op in names:
        r = rows.get(op)
        why = None
        if r is None:
            why = "did not run"
        elif off and op in NEEDS_LAYER:
            if r.get("status") != "skipped: layer off":
                why = f"expected 'skipped: layer off', got {r.get('status')!r}"
        elif r.get("status") != "ok" and not (
                r.get("status") == "no overlap" and r.get("threads") == "2"):
            why = f"status {r.get('status')!r}"
        else:
            if r.get("status") == "no overlap":
                # It ran; the host never gave its threads two CPUs at once.
                print(f"  note {op}: its threads never ran together (host busy)")
            bad = [k for k in NUMS if not (num(r, k) or 0) > 0]
            loops = num(r, "loops")
            if bad:
                why = "not positive/finite: " + ",".join(bad)
            elif not loops or loops < 1:
                why = "no loops"
            elif not num(r, "ns_min") <= num(r, "ns_op") <= num(r, "ns_max"):
                why = "median outside [min, max]"
            elif op in CONV_OPS and not (
                    (num(r, "conv_n") or 0) >= 1 and
                    0 < (num(r, "conv_p50_ns") or 0) <= (num(r, "conv_p99_ns") or 0)):
                why = "the converter made no conversion, or p50 > p99"
        if why:
            failed += 1
            print(f"  FAIL {op}: {why}")
        else:
            passed += 1
            print(f"  ok   {op}: {r['ns_op']} ns/op ({r['status']})")
    extra = set(rows) - set(names)
    if extra:
        failed += 1
        print(f"  FAIL unknown ops (update benchmarks/report.py): {sorted(extra)}")
    return passed, failed


def main(argv):
    if len(argv) >= 3 and argv[1] == "report":
        machine = os.environ.get("BENCH_MACHINE", "unknown machine")
        return report(argv[2], argv[3:], machine)
    if len(argv) >= 3 and argv[1] == "check-vmm":
        p, f = check_vmm(argv[2])
        print(f"{p} {f}")
        return 1 if f or not p else 0
    if len(argv) >= 3 and argv[1] == "check":
        p, f = check(argv[2], "--off" in argv[3:], "--native" in argv[3:])
        print(f"{p} {f}")
        return 1 if f or not p else 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
