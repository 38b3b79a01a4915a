"""A baseline update, shown: the before/after table in the terminal, the pull request's body, the ASR trend."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from ..formatting import pct
from .escape import log_escape, md_code, md_escape

MARKER = "<!-- asr-gate:baseline-pr -->"


def trend_line(history: Sequence[Mapping[str, Any]], current: float | None = None, width: int = 12) -> str:
    """A sparkline of the accepted overall ASR, oldest → newest (plain Unicode, safe in Markdown)."""
    values = [h.get("asr") for h in history if isinstance(h.get("asr"), (int, float))]
    if current is not None:
        values.append(current)
    values = values[-width:]
    if not values:
        return ""
    bars = "▁▂▃▄▅▆▇█"
    lo, hi = min(values), max(values)
    span = hi - lo or 1.0
    spark = "".join(bars[min(7, int((v - lo) / span * 7 + 0.5))] if hi > lo else bars[3] for v in values)
    return f"{spark}  ({' → '.join(pct(v) for v in values[-5:])})"


def before_after_table(rows: Sequence[tuple[str, str, str, str]]) -> str:
    """(scope, before, after, change) rows as an aligned plain-text table (scopes escaped for the log)."""
    lines = [f"  {'scope':<28} {'before':>8} {'after':>8} {'change':>10}"]
    lines += [f"  {log_escape(s)[:28]:<28} {b:>8} {a:>8} {d:>10}" for s, b, a, d in rows]
    return "\n".join(lines)


def pr_body(suite_id: str, rows, changes: Mapping[str, list[str]], new: Mapping[str, Any],
            history: Sequence[Mapping[str, Any]]) -> str:
    prov = new.get("provenance", {})
    est = new.get("estimates", {})
    lines = [MARKER, f"## asr-gate: new baseline for {md_code(suite_id)}", "",
             "Merging this pull request makes these the accepted attack success rates that future pull "
             "requests are compared against. Review them like code: a higher ASR here means accepting a "
             "more attackable model.", "",
             "| scope | before | after | change |", "|---|---:|---:|---:|"]
    lines += [f"| {md_escape(s)} | {b} | {a} | {d} |" for s, b, a, d in rows]
    trend = trend_line(history, (new.get("totals") or {}).get("asr"))
    if trend:
        lines += ["", f"**Accepted overall ASR, last updates:** {trend}"]
    for kind in ("new", "removed", "changed"):
        ids = changes.get(kind) or []
        if ids:
            shown = ", ".join(md_code(i, 80) for i in ids[:20])
            more = f" and {len(ids) - 20} more" if len(ids) > 20 else ""
            lines += ["", f"**{kind.capitalize()} attacks ({len(ids)}):** {shown}{more}"]
    icc = est.get("icc")
    omega = est.get("omega")
    lines += ["", "<sub>",
              f"commit {md_escape(str(prov.get('commit') or 'unknown'))[:12]} · {md_escape(str(prov.get('date')))} · "
              f"asr-gate {md_escape(str(prov.get('tool_version')))} · ICC {'n/a' if icc is None else f'{icc:.2f}'} · "
              f"ω {'n/a' if omega is None else f'{omega:.3f}'}", "</sub>"]
    return "\n".join(lines) + "\n"
