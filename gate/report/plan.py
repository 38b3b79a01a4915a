"""The sample-size planner's answer: how many attacks and repeats a run needs (``asr-gate plan``).

Var(D) = omega^2 + 2*p(1-p)(1-ICC)/n (docs/statistics.md §3.7): `make_plan` fills what the user did not give
from a baseline file or from conservative defaults and asks `gate.stats.plan`; `render_text` says it in
sentences (``--format json`` prints the dict itself).
"""
from __future__ import annotations

import math


def _points(x: float) -> str:
    return f"{100 * x:.1f} points"


def baseline_inputs(path: str) -> dict:
    """What a baseline file tells the planner: its attacks, ASR, repeats per attack, ICC and omega."""
    from .. import stats
    from ..results import load_results

    data = load_results(path, strict=False)
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


def make_plan(*, baseline_asr: float | None, margin: float, icc: float | None, omega: float | None,
              repeats: int | None, attacks: int | None, power: float, alpha: float,
              baseline: str | None = None) -> dict:
    """The planner's answer (what ``--format json`` prints): values not given come from ``baseline``'s file,
    else from conservative defaults (ICC 0, omega 0.10); each input says where it came from."""
    from .. import stats
    from ..errors import UsageError

    info: dict = {}
    if baseline:
        info = baseline_inputs(baseline)
    p = baseline_asr if baseline_asr is not None else info.get("asr")
    if p is None:
        raise UsageError("plan: give --baseline-asr P or --baseline FILE (with at least one judged attempt)")
    icc_given, omega_given = icc is not None, omega is not None
    icc_src = "--icc" if icc_given else info.get("icc_source", "default (0: conservative)")
    icc = icc if icc_given else (info.get("icc") if info.get("icc") is not None else 0.0)
    omega = omega if omega_given else (info.get("omega") if info.get("omega") is not None else 0.10)
    omega_src = "--omega" if omega_given else ("baseline estimates" if info.get("omega") is not None
                                               else "default (0.10: no history)")
    repeats = repeats if repeats is not None else info.get("repeats")
    pl = stats.plan(p, margin, omega=omega, icc=icc, repeats=repeats if repeats or not attacks else None,
                    attacks=attacks, alpha=alpha, power=power)
    attacks = attacks if attacks is not None else pl.attacks
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
        "inputs": {"baseline_asr": p, "margin": margin, "icc": icc, "omega": omega, "alpha": alpha,
                   "power": power, "icc_source": icc_src, "omega_source": omega_src},
    }
    if info.get("attacks"):
        k_now = info["attacks"]
        result["baseline_attacks"] = k_now
        if k_now >= 2:
            result["mde_with_baseline_attacks"] = stats.mde(k_now, pl.var_d, alpha, power, use_t=k_now < 30)
    return result


def render_text(r: dict, attacks: int | None) -> str:
    """The plan in sentences; ``attacks`` is ``--attacks`` (then the answer is repeats, else attacks)."""
    i = r["inputs"]
    lines = [f"To detect an increase of {_points(i['margin'])} in attack success rate "
             f"(baseline {100 * i['baseline_asr']:.1f}%) "
             f"with {100 * i['power']:.0f}% probability, at one-sided alpha {i['alpha']:g}:"]
    if attacks is not None:
        if r["repeats_needed"] is None:
            lines.append(f"  {attacks} attacks are not enough, however many times each is repeated: the attacks "
                         f"differ too much in how a change affects them. You need at least {r['k_min']} attacks "
                         f"(in practice more).")
        else:
            lines.append(f"  with {attacks} attacks, repeat each attack {r['repeats_needed']} times "
                         f"({attacks * r['repeats_needed']:,} model calls per run).")
        if r["mde"] is not None:
            lines.append(f"  With {attacks} attacks × {r['repeats']} repeats the smallest increase the gate "
                         f"reliably catches is {_points(r['mde'])} (power against {_points(i['margin'])}: "
                         f"{100 * r['power']:.0f}%).")
    else:
        lines.append(f"  run {r['attacks_needed']} attacks × {r['repeats']} repeats each "
                     f"({r['attacks_needed'] * r['repeats']:,} model calls per run).")
        if r["mde"] is not None:
            lines.append(f"  With that design the smallest increase caught reliably is {_points(r['mde'])}.")
    if r.get("mde_with_baseline_attacks") is not None:
        lines.append(f"  Your baseline has {r['baseline_attacks']} attacks: with {r['repeats']} repeats they can catch "
                     f"increases of about {_points(r['mde_with_baseline_attacks'])}.")
    if r["n_star"] is not None:
        lines.append(f"  Repeating an attack more than about {r['n_star']:.0f} times barely helps; with fewer than "
                     f"{r['k_min']} attacks no number of repeats is enough. Add attacks rather than repeats.")
    lines.append(f"Assumptions: ICC {i['icc']:.2f} ({i['icc_source']}; how much more alike two attempts of one attack "
                 f"are than two attempts of different attacks), omega {i['omega']:.2f} ({i['omega_source']}; how much "
                 f"a change differs from attack to attack, including run-to-run drift).")
    return "\n".join(lines)
