"""Benchmark of deal-registration conflict detection: precision and recall of
``partnerhub.deals.matching.compare`` on labelled pairs of real organisation names.

    .venv/bin/python benchmarks/deal_matching.py [--scale 1.0] [--seed 42] [--half report]

At --scale 1.0 it builds, deterministically (``random.Random(--seed)``), 3,000 positive pairs
(one organisation written twice, in 15 kinds of variation) and 3,000 negative pairs (two
different organisations, mostly hard ones: same first word, same first two words or letters,
same last word, same country, same free-mail provider) from the real organisation names of the
IEEE MA-L registry shipped in netaddr; how, in ``benchmarks/deal_matching_data.py``. ``--scale
0.05`` makes 300 pairs (a smoke test of a few seconds). ``--half dev`` draws the organisations of
the half used while developing the matcher; the default ``report`` draws the other half.

Needs no database and no Django: ``matching.py`` is pure Python.

Prints JSON lines on stdout: one per kind of pair (pairs, errors, a few examples of the
errors), the pairs that are not labelled (ambiguous), and last the result:
{"benchmark": "deal_matching", "pairs": N, "precision": ..., "recall": ..., "f1": ..., ...}.
Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from benchmarks import common  # noqa: E402
from benchmarks import deal_matching_data as data  # noqa: E402
from partnerhub.deals import matching  # noqa: E402

FULL = {"positives": 3_000, "negatives": 3_000}
EXAMPLES = 3


def arguments(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scale", type=float, default=1.0, help="fraction of the full size (default 1.0)"
    )
    parser.add_argument("--seed", type=int, default=42, help="seed of the generated pairs")
    parser.add_argument(
        "--half",
        choices=["report", "dev", "all"],
        default="report",
        help="which half of the organisations to draw from (default: report)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    parser.add_argument(
        "--database",
        choices=["sqlite", "postgres"],
        default="sqlite",
        help="accepted for uniformity with the other benchmarks: matching uses no database",
    )
    args = parser.parse_args(argv)
    if args.scale <= 0:
        parser.error("--scale must be positive")
    common.QUIET = args.quiet
    return args


def _record(r: data.Record) -> matching.OrgIdentity:
    return matching.identity(r.name, r.website, r.email, r.country)


def _show(r: data.Record) -> dict:
    return {k: v for k, v in vars(r).items() if v}


def _ratio(a: int, b: int) -> float:
    return round(a / b, 4) if b else 0.0


def run(args: argparse.Namespace) -> tuple[list[dict], dict]:
    timings = common.Timings()
    with timings.time("build the labelled pairs"):
        pairs, ambiguous = data.build(
            args.seed,
            common.scaled(FULL["positives"], args.scale, 50),
            common.scaled(FULL["negatives"], args.scale, 50),
            args.half,
        )
    with timings.time(f"normalise {2 * len(pairs)} records"):
        idents = [(_record(p.a), _record(p.b)) for p in pairs]
    with timings.time(f"compare {len(pairs)} pairs"):
        results = [matching.compare(a, b) for a, b in idents]
    with timings.time("compare the ambiguous pairs", announce=False):
        unlabelled: dict[str, dict] = defaultdict(lambda: {"pairs": 0, "judged_conflict": 0})
        for p in ambiguous:
            unlabelled[p.why_unlabelled]["pairs"] += 1
            unlabelled[p.why_unlabelled]["judged_conflict"] += matching.compare(
                _record(p.a), _record(p.b)
            ).is_conflict

    tp = fp = fn = tn = 0
    by_kind: dict[tuple[bool, str], dict] = defaultdict(
        lambda: {"pairs": 0, "errors": 0, "examples": []}
    )
    for pair, result in zip(pairs, results, strict=True):
        entry = by_kind[(pair.label, pair.kind)]
        entry["pairs"] += 1
        if pair.label and result.is_conflict:
            tp += 1
        elif pair.label:
            fn += 1
        elif result.is_conflict:
            fp += 1
        else:
            tn += 1
        if pair.label != result.is_conflict:
            entry["errors"] += 1
            if len(entry["examples"]) < EXAMPLES:
                entry["examples"].append(
                    {"a": _show(pair.a), "b": _show(pair.b), **result.as_dict()}
                )
    lines = []
    for (label, kind), entry in sorted(by_kind.items(), key=lambda kv: (not kv[0][0], kv[0][1])):
        lines.append(
            {
                "label": "positive" if label else "negative",
                "kind": kind,
                "pairs": entry["pairs"],
                "errors": entry["errors"],
                ("recall" if label else "specificity"): _ratio(
                    entry["pairs"] - entry["errors"], entry["pairs"]
                ),
                "examples": entry["examples"],
            }
        )
    for why, entry in sorted(unlabelled.items()):
        lines.append({"label": "ambiguous (not scored)", "kind": why, **entry})
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    f1 = round(2 * precision * recall / (precision + recall), 4) if precision + recall else 0.0
    compare_seconds = timings.seconds[f"compare {len(pairs)} pairs"]
    result = {
        "benchmark": "deal_matching",
        "pairs": len(pairs),
        "positives": tp + fn,
        "negatives": fp + tn,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
        "threshold": matching.CONFLICT_THRESHOLD,
        "errors_by_kind": {
            f"{'positive' if label else 'negative'}:{kind}": entry["errors"]
            for (label, kind), entry in sorted(by_kind.items())
            if entry["errors"]
        },
        "scale": args.scale,
        "seed": args.seed,
        "half": args.half,
        "source": "IEEE MA-L registry (netaddr/eui/oui.txt)",
        "seconds": timings.seconds,
        "compare_us_per_pair": round(1e6 * compare_seconds / max(1, len(pairs)), 1),
    }
    return lines, result


def main(argv=None) -> int:
    args = arguments(argv)
    start = time.perf_counter()
    lines, result = run(args)
    result["total_seconds"] = round(time.perf_counter() - start, 2)
    for line in lines:
        print(json.dumps(line, ensure_ascii=False), flush=True)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
