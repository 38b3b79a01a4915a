"""`asr-gate plan`: how many attacks and repeats a run needs to detect a given regression."""
from __future__ import annotations

import argparse
import json
import sys


def _fraction(s: str) -> float:
    try:
        v = float(s.rstrip("%")) / (100 if s.endswith("%") else 1)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {s!r}") from None
    if not 0 <= v <= 1 or v != v:
        raise argparse.ArgumentTypeError(f"must be a fraction between 0 and 1 (or a percentage like 5%): {s!r}")
    return v


def _level(s: str) -> float:
    v = _fraction(s)
    if not 0 < v < 1:
        raise argparse.ArgumentTypeError(f"must be strictly between 0 and 1: {s!r}")
    return v


def _count(s: str) -> int:
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {s!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {s!r}")
    return v


def _attacks(s: str) -> int:
    v = _count(s)
    if v < 2:
        raise argparse.ArgumentTypeError(f"must be at least 2 (the gate's paired test needs two or more attacks): "
                                         f"{s!r}")
    return v


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "plan", help="sample-size planner: attacks and repeats needed to detect a regression",
        description="How many attacks (and repeats per attack) the gate needs to tell a regression of --margin "
                    "from no change, with the given power. Uses Var(D) = omega^2 + 2*p(1-p)(1-ICC)/n "
                    "(STATISTICS.md §3.7). Values may be fractions (0.05) or percentages (5%%).")
    p.add_argument("--baseline-asr", type=_fraction, metavar="P", help="baseline attack success rate, e.g. 0.2")
    p.add_argument("--margin", type=_level, default=0.05, metavar="D",
                   help="regression to detect, in absolute ASR (default 0.05 = 5 points)")
    p.add_argument("--icc", type=_fraction, metavar="R",
                   help="intra-class correlation of attempts within an attack (default: from --baseline, else 0, "
                        "the conservative choice)")
    p.add_argument("--omega", type=_fraction, metavar="W",
                   help="SD across attacks of the true change incl. run drift (default: from --baseline, else 0.10)")
    p.add_argument("--repeats", type=_count, metavar="N", help="attempts per attack (default 20, or the baseline's)")
    p.add_argument("--attacks", type=_attacks, metavar="K", help="number of attacks you can run (gives repeats needed)")
    p.add_argument("--power", type=_level, default=0.8, help="probability of detecting the regression (default 0.8)")
    p.add_argument("--alpha", type=_level, default=0.05, help="one-sided significance level (default 0.05)")
    p.add_argument("--baseline", metavar="FILE", help="take the ASR, ICC and omega from a baseline file")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=run)


def _from_baseline(path: str) -> dict:
    import math

    from .. import stats
    from ..compare import load_run

    data = load_run(path, "baseline")
    xs = [a["successes"] for a in data["attacks"] if a["attempts"] > 0]
    ms = [a["attempts"] for a in data["attacks"] if a["attempts"] > 0]
    out: dict = {"attacks": len(ms)}
    if ms:
        out["asr"] = sum(xs) / sum(ms)
        out["repeats"] = max(1, round(sum(ms) / len(ms)))
    est = data.get("estimates") or {}
    icc = est.get("icc")
    if icc is None and len(ms) >= 2:
        icc = stats.icc_anova(xs, ms)
        icc = None if not math.isfinite(icc) else icc
        out["icc_source"] = "computed from the baseline's attacks"
    elif icc is not None:
        out["icc_source"] = "baseline estimates"
    out["icc"] = icc
    out["omega"] = est.get("omega")
    return out


def run(args: argparse.Namespace) -> int:
    from .. import stats
    from ..errors import UsageError

    info: dict = {}
    if args.baseline:
        info = _from_baseline(args.baseline)
    p = args.baseline_asr if args.baseline_asr is not None else info.get("asr")
    if p is None:
        raise UsageError("plan: give --baseline-asr P or --baseline FILE (with at least one judged attempt)")
    icc = args.icc if args.icc is not None else (info.get("icc") if info.get("icc") is not None else 0.0)
    icc_src = "--icc" if args.icc is not None else info.get("icc_source", "default (0: conservative)")
    omega = args.omega if args.omega is not None else (info.get("omega") if info.get("omega") is not None else 0.10)
    omega_src = "--omega" if args.omega is not None else ("baseline estimates" if info.get("omega") is not None
                                                          else "default (0.10: no history)")
    repeats = args.repeats if args.repeats is not None else info.get("repeats")
    pl = stats.plan(p, args.margin, omega=omega, icc=icc, repeats=repeats if repeats or not args.attacks else None,
                    attacks=args.attacks, alpha=args.alpha, power=args.power)
    if repeats is None and args.attacks is None:
        repeats = pl.design_repeats
    attacks = args.attacks if args.attacks is not None else pl.attacks
    n = pl.design_repeats
    result = {
        "attacks": attacks,
        "repeats": n,
        "mde": pl.mde,
        "power": pl.power,
        "attacks_needed": pl.attacks,
        "attacks_needed_normal": pl.attacks_z,
        "repeats_needed": pl.repeats,
        "k_min": pl.k_min,
        "n_star": pl.n_star,
        "calls_per_run": attacks * n if attacks else None,
        "se": (pl.var_d / attacks) ** 0.5 if attacks else None,
        "var_d": pl.var_d,
        "inputs": {"baseline_asr": p, "margin": args.margin, "icc": icc, "omega": omega, "alpha": args.alpha,
                   "power": args.power, "icc_source": icc_src, "omega_source": omega_src},
    }
    if info.get("attacks"):
        k_now = info["attacks"]
        result["baseline_attacks"] = k_now
        if k_now >= 2:
            result["mde_with_baseline_attacks"] = stats.mde(k_now, pl.var_d, args.alpha, args.power,
                                                            use_t=k_now < 30)
    if args.format == "json":
        sys.stdout.write(json.dumps(result, indent=2, allow_nan=False) + "\n")
        return 0
    sys.stdout.write(_text(result, args) + "\n")
    return 0


def _text(r: dict, args: argparse.Namespace) -> str:
    i = r["inputs"]
    pts = lambda x: f"{100 * x:.1f} points"  # noqa: E731
    lines = [f"To detect an increase of {pts(i['margin'])} in attack success rate "
             f"(baseline {100 * i['baseline_asr']:.1f}%) "
             f"with {100 * i['power']:.0f}% probability, at one-sided alpha {i['alpha']:g}:"]
    if args.attacks is not None:
        if r["repeats_needed"] is None:
            lines.append(f"  {args.attacks} attacks are not enough, however many times each is repeated: the attacks "
                         f"differ too much in how a change affects them. You need at least {r['k_min']} attacks "
                         f"(in practice more).")
        else:
            lines.append(f"  with {args.attacks} attacks, repeat each attack {r['repeats_needed']} times "
                         f"({args.attacks * r['repeats_needed']:,} model calls per run).")
        if r["mde"] is not None:
            lines.append(f"  With {args.attacks} attacks × {r['repeats']} repeats the smallest increase the gate "
                         f"reliably catches is {pts(r['mde'])} (power against {pts(i['margin'])}: "
                         f"{100 * r['power']:.0f}%).")
    else:
        lines.append(f"  run {r['attacks_needed']} attacks × {r['repeats']} repeats each "
                     f"({r['attacks_needed'] * r['repeats']:,} model calls per run).")
        if r["mde"] is not None:
            lines.append(f"  With that design the smallest increase caught reliably is {pts(r['mde'])}.")
    if r.get("mde_with_baseline_attacks") is not None:
        lines.append(f"  Your baseline has {r['baseline_attacks']} attacks: with {r['repeats']} repeats they can catch "
                     f"increases of about {pts(r['mde_with_baseline_attacks'])}.")
    if r["n_star"] is not None:
        lines.append(f"  Repeating an attack more than about {r['n_star']:.0f} times barely helps; with fewer than "
                     f"{r['k_min']} attacks no number of repeats is enough. Add attacks rather than repeats.")
    lines.append(f"Assumptions: ICC {i['icc']:.2f} ({i['icc_source']}; how much more alike two attempts of one attack "
                 f"are than two attempts of different attacks), omega {i['omega']:.2f} ({i['omega_source']}; how much "
                 f"a change differs from attack to attack, including run-to-run drift).")
    return "\n".join(lines)
