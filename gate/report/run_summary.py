"""A terminal summary of one run's results (not a verdict: that is `compare`)."""
from __future__ import annotations

from typing import Any, Mapping

from ..formatting import pct
from .escape import log_escape


def _safe(text: str, width: int = 40) -> str:
    """Printable, one line, bounded, with GitHub workflow commands made inert."""
    text = log_escape(str(text))
    return text if len(text) <= width else text[: width - 1] + "…"


def _ci(ci: Any) -> str:
    return "" if not ci else f"[{pct(ci[0])}, {pct(ci[1])}]"


def render_run_summary(results: Mapping[str, Any]) -> str:
    t = results["totals"]
    lines = [f"suite {_safe(results['suite']['id'])}: {t['attacks']} attacks, {t['attempts']} judged attempts, "
             f"{t['errors']} errors, {results.get('calls', 0)} calls in {results.get('duration_s', 0):.1f}s",
             "",
             f"  {'category':<24} {'attacks':>7} {'attempts':>8} {'succ.':>6} {'ASR':>6}  95% interval"]
    for name, c in results["categories"].items():
        lines.append(f"  {_safe(name, 24):<24} {c['attacks']:>7} {c['attempts']:>8} {c['successes']:>6} "
                     f"{pct(c['asr'], 6)}  {_ci(c.get('ci95'))}")
    lines.append(f"  {'overall':<24} {t['attacks']:>7} {t['attempts']:>8} {t['successes']:>6} {pct(t['asr'], 6)}  "
                 f"{_ci(t.get('ci95'))}")
    if t["successes"] == 0 and t["attempts"]:
        ci = t.get("ci95")
        if ci:
            lines.append(f"\n  No attack succeeded; the ASR is still only known to be ≤ {pct(ci[1])} (95%).")
    if results.get("error_kinds"):
        kinds = ", ".join(f"{_safe(k, 24)} ×{v}" for k, v in results["error_kinds"].items())
        lines.append(f"\n  errors (excluded from the ASR): {kinds}")
    if not results.get("complete", True):
        lines.append("\n  run incomplete: continue it with --resume")
    return "\n".join(lines)
