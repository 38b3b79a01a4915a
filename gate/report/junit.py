"""JUnit XML rendering of a `Verdict`, for CI systems and test-report actions.

One ``<testcase>`` per group (overall, and each category when there are two or more: a single
category is the overall group itself, so it is not listed twice; a ``<failure>`` when that group fails,
``<skipped>`` when it is inconclusive, saying so when the category is advisory: too few attacks to
judge alone), one per ceiling, and one per regressed attack of the
exploratory drill-down (these never fail on their own: the attack test is exploratory; details
go to ``<system-out>``). A measurement error is an ``<error>`` testcase.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET

from ..formatting import pct, pts, pvalue
from .escape import xml_text


def render(verdict) -> str:
    """The verdict as one JUnit ``<testsuites>`` document (p-values with 4 decimals, as `gate.formatting`)."""
    v = verdict
    suite_name = xml_text(f"asr-gate: {v.suite}" if v.suite else "asr-gate", 200)
    root = ET.Element("testsuites", name="asr-gate")
    ts = ET.SubElement(root, "testsuite", name=suite_name)
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}

    def case(classname: str, name: str) -> ET.Element:
        counts["tests"] += 1
        return ET.SubElement(ts, "testcase", classname=classname, name=xml_text(name, 300), time="0")

    if v.verdict == "error":
        tc = case("asr-gate.measurement", "measurement")
        counts["errors"] += 1
        err = ET.SubElement(tc, "error", message=xml_text(v.reasons[0] if v.reasons else "error", 500),
                            type="MeasurementError")
        err.text = xml_text("\n".join(v.reasons))
    groups = ([v.overall] if v.overall else []) + (list(v.categories.values()) if len(v.categories) > 1 else [])
    for g in groups:
        tc = case("asr-gate.group", "overall" if g is v.overall else f"category {g.name}")
        detail = (f"ASR {pct(g.baseline_asr)} -> {pct(g.candidate_asr)} ({pts(g.delta)} points), "
                  f"interval [{pts(g.ci[0])}, {pts(g.ci[1])}], adjusted p {pvalue(g.p_value, digits=4)}, "
                  f"tolerance {pts(g.margin)}, K={g.k}, method {g.method}: {g.verdict}"
                  + (f" (advisory: {g.advisory_label})" if g.advisory else ""))
        if g.verdict == "fail":
            counts["failures"] += 1
            f = ET.SubElement(tc, "failure", message=xml_text(detail, 500), type="ASRRegression")
            f.text = xml_text(detail)
        elif g.verdict == "inconclusive":
            counts["skipped"] += 1
            why = "advisory, " + g.advisory_label if g.advisory else "inconclusive"
            ET.SubElement(tc, "skipped", message=xml_text(f"{why}: " + detail, 500))
        ET.SubElement(tc, "system-out").text = xml_text(detail)
    for c in v.ceilings:
        tc = case("asr-gate.ceiling", f"ceiling {c.scope}")
        detail = (f"candidate ASR {pct(c.candidate_asr)} [{pct(c.ci[0])}, {pct(c.ci[1])}] vs max "
                  f"{pct(c.max_asr)} ({c.mode}): {c.verdict}")
        if c.verdict == "fail":
            counts["failures"] += 1
            ET.SubElement(tc, "failure", message=xml_text(detail, 500), type="ASRCeiling").text = xml_text(detail)
        elif c.verdict == "inconclusive":
            counts["skipped"] += 1
            ET.SubElement(tc, "skipped", message=xml_text("inconclusive: " + detail, 500))
    for a in v.top_regressed:
        tc = case("asr-gate.attack", f"attack {a.id}")
        ET.SubElement(tc, "system-out").text = xml_text(
            f"exploratory: {a.baseline_successes}/{a.baseline_attempts} -> {a.candidate_successes}/"
            f"{a.candidate_attempts} ({pts(a.delta)} points), one-sided {a.test} p {pvalue(a.p_value, digits=4)}, "
            f"BH q {pvalue(a.q_value, digits=4)}, category {a.category}")
    for k, n in counts.items():
        ts.set(k, str(n))
        root.set(k, str(n))
    ET.SubElement(ts, "system-out").text = xml_text("\n".join(v.reasons))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
