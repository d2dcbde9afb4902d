"""
The bench's report: each target's figures merged from its workers' results,
the machine and code measured, and the table C{docs/benchmarks.md} shows.
"""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
from typing import Any

import twisted
from ofx.bench.children import ROOT

SATURATED = 0.9  # a process using this much of a core is the bottleneck
BUSY = 0.25  # this much of a core used by anything else makes a run suspect


def percentile(sorted_values: list[int], p: float) -> float:
    """The nearest-rank percentile of sorted values (0 for none)."""
    if not sorted_values:
        return 0.0
    rank = max(1, -(-len(sorted_values) * p // 100))
    return float(sorted_values[int(rank) - 1])


def summarize(results: list[dict[str, Any]]) -> dict[str, Any]:
    """One target's figures from its workers' results."""
    latencies = sorted(x for r in results for x in r["latencies_us"])
    elapsed = sum(r["elapsed"] for r in results) / len(results)
    by_cmd: dict[str, int] = {}
    for r in results:
        for cmd, n in r["by_cmd"].items():
            by_cmd[cmd] = by_cmd.get(cmd, 0) + n
    watched = dict(results[0]["watch_cpu"])
    machine_cpu = watched.pop("machine") / results[0]["elapsed"]
    server_cpu = sum(watched.values()) / results[0]["elapsed"]
    load_cpu = [r["cpu"] / r["elapsed"] for r in results]
    other_cpu = max(0.0, machine_cpu - server_cpu - sum(load_cpu))
    if server_cpu >= SATURATED:
        bound = "server"
    elif max(load_cpu) >= SATURATED:
        bound = "client"
    elif other_cpu >= BUSY:
        bound = "busy machine"  # other programs took CPU: the figures understate both
    else:
        bound = "neither"
    return {
        "commands_per_s": len(latencies) / elapsed,
        "p50_ms": percentile(latencies, 50) / 1000,
        "p99_ms": percentile(latencies, 99) / 1000,
        "answers": len(latencies),
        "by_cmd": by_cmd,
        "errors": sum(r["errors"] for r in results),
        "first_error": next((r["first_error"] for r in results if r["first_error"]), None),
        "seconds": elapsed,
        "server_cpu": server_cpu,
        "load_cpu": sum(load_cpu),
        "load_cpu_max": max(load_cpu),
        # Everything else the machine did meanwhile: the bench itself, the
        # kernel's loopback work not charged to a process, and other programs.
        "other_cpu": other_cpu,
        "bound": bound,
    }


def median_round(summaries: list[dict[str, Any]]) -> dict[str, Any]:
    """
    The round with the median rate (the lower middle one of an even count)
    among the rounds in which the rest of the machine was quiet, or among
    all if none was; with every round's rate and other CPU.
    """
    quiet = [t for t in summaries if t["other_cpu"] < BUSY] or summaries
    ordered = sorted(quiet, key=lambda t: t["commands_per_s"])
    return {
        **ordered[(len(ordered) - 1) // 2],
        "rounds": [t["commands_per_s"] for t in summaries],
        "rounds_other_cpu": [t["other_cpu"] for t in summaries],
    }


def paired_ratio(gateway: list[dict[str, Any]], bare: list[dict[str, Any]]) -> float:
    """
    The median of the rounds' own gateway/bare ratios, over the rounds in
    which the rest of the machine was quiet for both (or over all if none
    was). Each round measures the gateway and then the bare server, seconds
    apart; the machine's speed drifts by more than that between rounds, so a
    round's two rates are compared with each other, not with other rounds'.
    """
    pairs = list(zip(gateway, bare, strict=True))
    quiet = [(g, b) for g, b in pairs if g["other_cpu"] < BUSY and b["other_cpu"] < BUSY] or pairs
    ratios = sorted(g["commands_per_s"] / b["commands_per_s"] for g, b in quiet)
    middle = len(ratios) // 2
    return ratios[middle] if len(ratios) % 2 else (ratios[middle - 1] + ratios[middle]) / 2


def source_version() -> str | None:
    """The git commit of the code measured, with C{+changes} if the work tree differs from it."""
    try:
        commit = subprocess.run(
            ["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10
        )
        changes = subprocess.run(
            ["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no", "--", "ofx"],
            capture_output=True, text=True, timeout=10,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    if commit.returncode != 0:
        return None
    return commit.stdout.strip() + ("+changes" if changes.stdout.strip() else "")


def machine() -> dict[str, Any]:
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "?")
    except OSError:
        pass
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "twisted": twisted.__version__,
        "ofx": source_version(),
        "platform": platform.platform(),
    }


def format_report(report: dict[str, Any]) -> str:
    """The report as the table C{docs/benchmarks.md} shows."""
    m, s = report["machine"], report["settings"]
    lines = [
        f"OFX benchmark {m['date']}: {m['cpus']} CPUs ({m['cpu_model']}), Python {m['python']}, "
        f"Twisted {m['twisted']}, ofx {m.get('ofx') or '?'}",
        f"clients={s['clients']} window={s['window']} mix={s['mix']} order={s['order']} "
        f"journal={'yes' if s.get('journal', True) else 'no'} "
        f"seconds={s['seconds']:g} warmup={s['warmup']:g} load-procs={s['load_procs']} rounds={s.get('rounds', 1)}",
        "",
        f"{'target':8} {'commands/s':>10} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6} "
        f"{'server CPU':>10} {'load CPU':>8} {'other CPU':>9}  bottleneck",
    ]
    for name, t in report["targets"].items():
        lines.append(
            f"{name:8} {t['commands_per_s']:10.0f} {t['p50_ms']:7.1f} {t['p99_ms']:7.1f} {t['errors']:6d} "
            f"{t['server_cpu']:10.0%} {t['load_cpu']:8.0%} {t['other_cpu']:9.0%}  {t['bound']}"
        )
    lines.append(f"gateway/bare: {report['ratio']:.2f} (aim: 0.70 or more)")
    if s.get("rounds", 1) > 1:
        lines.append(
            f"gateway/bare is the median of the rounds' own ratios; the ratio of the rows is "
            f"{report['ratio_of_medians']:.2f}"
        )
        lines.append(
            f"each row is the median of the rounds in which other CPU stayed under {BUSY:.0%} (of all if none did):"
        )
        for name, t in report["targets"].items():
            rates = ", ".join(
                f"{r:.0f} (other {o:.0%})" for r, o in zip(t["rounds"], t["rounds_other_cpu"], strict=True)
            )
            lines.append(f"{name} commands/s per round: {rates}")
    for name, t in report["targets"].items():
        if t["first_error"]:
            lines.append(f"{name}: first error answer: {t['first_error']}")
    if report["hotpath_us"]:
        lines += [
            "",
            "hot path in process, microseconds per message:",
            f"{'command':8} {'decode':>7} {'dispatch':>8} {'encode':>7} {'total':>7}",
        ]
        for cmd, c in report["hotpath_us"].items():
            encode = "reused" if c.get("reused") else f"{c['encode']:7.1f}"
            lines.append(f"{cmd:8} {c['decode']:7.1f} {c['dispatch']:8.1f} {encode:>7} {c['total']:7.1f}")
        if any(c.get("reused") for c in report["hotpath_us"].values()):
            lines.append("reused: the answer line encoded for the first request was sent again")
    return "\n".join(lines)
