"""gate/action/ in-process: inputs, the event payload, GITHUB_OUTPUT, the step summary, workflow commands."""
from __future__ import annotations

import io
import json
import os

import pytest

from action_harness import ACTION_YML, parse_outputs, pr_event, webhook_example, workflow_run_event
from gate import pipeline
from gate.action.event import Event, read_event
from gate.action.inputs import (GATE_INPUTS, PUBLISH_INPUTS, apply_inputs, get_input, input_env_names, input_source,
                                parse_bool, parse_fraction, require_input)
from gate.action.workflow import ANNOTATIONS_PER_LEVEL, SUMMARY_LIMIT, Workflow
from gate.errors import UsageError


def test_input_names_keep_hyphens_and_accept_underscores():
    assert input_env_names("fail-on-inconclusive") == ("INPUT_FAIL-ON-INCONCLUSIVE",
                                                              "INPUT_FAIL_ON_INCONCLUSIVE")
    assert input_env_names("suite") == ("INPUT_SUITE",)
    assert input_env_names("my input") == ("INPUT_MY_INPUT",)
    env = {"INPUT_FAIL_ON_INCONCLUSIVE": " true ", "INPUT_CHECK-RUN": "false", "INPUT_CHECK_RUN": "true",
           "INPUT_EMPTY": "  "}
    assert get_input("fail-on-inconclusive", env) == "true"
    assert get_input("check-run", env) == "false"  # the runner's hyphen form wins
    assert get_input("empty", env) is None and get_input("missing", env) is None
    assert input_source("check-run", env) == "INPUT_CHECK-RUN"


@pytest.mark.parametrize("text, value", [("true", True), ("True", True), ("TRUE", True), ("false", False),
                                         ("False", False), ("FALSE", False)])
def test_booleans_are_yaml_core_booleans(text, value):
    assert parse_bool("comment", text) is value


@pytest.mark.parametrize("text", ["yes", "1", "on", "tru", ""])
def test_other_booleans_are_usage_errors(text):
    with pytest.raises(UsageError, match="input 'comment' must be true or false"):
        parse_bool("comment", text)


def test_require_input_and_fractions():
    with pytest.raises(UsageError, match="input 'suite' is required"):
        require_input("suite", {})
    assert parse_fraction("margin", "5%") == pytest.approx(0.05)
    assert parse_fraction("margin", "0.05") == 0.05
    for bad in ("1.5", "-0.1", "five", "nan"):
        with pytest.raises(UsageError):
            parse_fraction("margin", bad)


def test_apply_inputs_fills_only_unset_options():
    import argparse

    args = argparse.Namespace(suite="cli.yaml", target=None, attempts=None, comment=None, alpha=None, margin=None)
    env = {"INPUT_SUITE": "input.yaml", "INPUT_TARGET": "t.yaml", "INPUT_ATTEMPTS": "12", "INPUT_COMMENT": "false",
           "INPUT_MARGIN": "3%"}
    specs = [s for s in GATE_INPUTS if s.dest in vars(args)]
    used = apply_inputs(args, specs, env)
    assert args.suite == "cli.yaml" and args.target == "t.yaml" and args.attempts == 12
    assert args.comment is False and args.margin == pytest.approx(0.03) and args.alpha is None
    assert "suite" not in used and "target" in used
    with pytest.raises(UsageError, match="input 'attempts' must be a positive integer"):
        apply_inputs(argparse.Namespace(attempts=None), specs, {"INPUT_ATTEMPTS": "0"})


# ------------------------------------------------------------------------------------------------
# events


def _event(tmp_path, payload, name, **env):
    path = tmp_path / "event.json"
    path.write_text(json.dumps(payload))
    return read_event({"GITHUB_EVENT_PATH": str(path), "GITHUB_EVENT_NAME": name, **env})


def test_pull_request_event_uses_the_head_sha_not_the_merge_commit(tmp_path):
    ev = _event(tmp_path, pr_event(number=7, head_sha="a" * 40), "pull_request", GITHUB_SHA="b" * 40,
                GITHUB_REPOSITORY="octo-org/widgets")
    assert (ev.pr_number, ev.head_sha, ev.sha, ev.is_fork) == (7, "a" * 40, "b" * 40, False)
    assert ev.base_repo == ev.head_repo == "octo-org/widgets"


def test_fork_detection_on_pull_request_and_pull_request_target(tmp_path):
    payload = pr_event(number=7, head_sha="a" * 40, fork=True)
    for name in ("pull_request", "pull_request_target"):
        ev = _event(tmp_path, payload, name)
        assert ev.is_fork and ev.head_repo == "evil-fork/widgets" and ev.pr_number == 7
    payload["pull_request"]["head"]["repo"] = None  # the fork was deleted
    assert _event(tmp_path, payload, "pull_request").is_fork


def test_push_dispatch_schedule_and_workflow_run_events(tmp_path):
    push = webhook_example("push")
    ev = _event(tmp_path, push, "push", GITHUB_SHA="c" * 40)
    assert ev.pr_number is None and ev.head_sha == "c" * 40
    assert ev.default_branch == push["repository"]["default_branch"]
    ev = _event(tmp_path, webhook_example("workflow_dispatch"), "workflow_dispatch", GITHUB_SHA="d" * 40)
    assert ev.pr_number is None and ev.head_sha == "d" * 40
    ev = _event(tmp_path, {"schedule": "17 4 * * 1"}, "schedule", GITHUB_SHA="e" * 40,
                GITHUB_REPOSITORY="octo-org/widgets", GITHUB_REF_NAME="main")
    assert ev.pr_number is None and ev.head_sha == "e" * 40 and ev.repository == "octo-org/widgets"
    ev = _event(tmp_path, workflow_run_event(head_sha="f" * 40, pull_requests=[{"number": 9}]), "workflow_run",
                GITHUB_SHA="1" * 40)
    assert (ev.head_sha, ev.pr_number, ev.is_fork) == ("f" * 40, 9, True)
    ev = _event(tmp_path, workflow_run_event(head_sha="f" * 40, fork=False), "workflow_run")
    assert ev.pr_number is None and not ev.is_fork  # fork PRs: workflow_run.pull_requests is empty


def test_no_event_file_means_no_pull_request(tmp_path):
    ev = read_event({"GITHUB_EVENT_NAME": "pull_request", "GITHUB_SHA": "a" * 40})
    assert ev.pr_number is None and ev.head_sha == "a" * 40


BAD_EVENTS = os.path.join(os.path.dirname(__file__), "fixtures", "bad_events")
EVENT_ERRORS = {"event_truncated.json": ("invalid YAML", 3), "event_array.json": ("expected a JSON object", 1),
                "event_duplicate_key.json": ("duplicate key 'action'", 1), "event_not_utf8.json": ("UTF-8", 1),
                "event_empty.json": ("empty", 1), "missing.json": ("cannot read", None)}


@pytest.mark.parametrize("name", sorted(EVENT_ERRORS))
def test_a_missing_or_broken_event_file_is_a_located_error(name):
    from gate.errors import ConfigError

    path = os.path.join(BAD_EVENTS, name)
    with pytest.raises(ConfigError) as info:
        read_event({"GITHUB_EVENT_PATH": path, "GITHUB_EVENT_NAME": "pull_request", "GITHUB_SHA": "a" * 40})
    msg = info.value.one_line()
    needle, line = EVENT_ERRORS[name]
    assert needle in msg and name in msg and "\n" not in msg
    if line:
        assert f"{name}:{line}:" in msg


def test_every_bad_event_has_an_expectation():
    assert sorted(os.listdir(BAD_EVENTS)) == sorted(k for k in EVENT_ERRORS if k != "missing.json")


def test_run_url_only_from_well_formed_values():
    ev = Event(repository="octo-org/widgets", run_id="42")
    assert ev.run_url == "https://github.com/octo-org/widgets/actions/runs/42"
    assert Event(repository="octo-org/widgets", run_id="42)](http://evil").run_url is None
    assert Event(repository="a/b", run_id="1", server_url="javascript:alert(1)//").run_url is None


# ------------------------------------------------------------------------------------------------
# outputs, summary, commands


def test_outputs_use_heredocs_that_no_value_can_break(tmp_path):
    out = tmp_path / "output"
    out.write_text("earlier=1\n")
    wf = Workflow({"GITHUB_OUTPUT": str(out), "GITHUB_ACTIONS": "true"}, stdout=io.StringIO())
    nasty = "line1\nverdict=pass\nghadelimiter_x\nEOF"
    wf.set_outputs({"verdict": "fail", "report-path": nasty, "asr": None})
    parsed = parse_outputs(out.read_text())
    assert parsed == {"earlier": "1", "verdict": "fail", "report-path": nasty, "asr": ""}
    delimiters = [line.split("<<", 1)[1] for line in out.read_text().splitlines() if "<<" in line]
    assert len(set(delimiters)) == 3  # a fresh random delimiter per value


def test_summary_never_exceeds_one_mib(tmp_path):
    path = tmp_path / "summary.md"
    path.write_text("x" * (SUMMARY_LIMIT - 10_000))
    wf = Workflow({"GITHUB_STEP_SUMMARY": str(path)})
    assert wf.append_summary("| a | b |\n" * 5_000)
    size = path.stat().st_size
    assert size < SUMMARY_LIMIT and "truncated by asr-gate" in path.read_text()
    assert not wf.append_summary("more")  # no room left: nothing appended
    assert path.stat().st_size == size
    assert not Workflow({}).append_summary("no file")


def test_annotations_are_capped_and_escaped():
    out = io.StringIO()
    wf = Workflow({"GITHUB_ACTIONS": "true"}, stdout=out)
    for i in range(12):
        wf.warning(f"w{i}\n::error::x %0A", title="t: a, b", file="suite.yaml", line=3)
    wf.error("boom")
    wf.flush_dropped()
    lines = out.getvalue().splitlines()
    warnings = [line for line in lines if line.startswith("::warning ")]
    assert len(warnings) == ANNOTATIONS_PER_LEVEL
    assert warnings[0] == "::warning file=suite.yaml,line=3,title=t%3A a%2C b::w0%0A::error::x %250A"
    assert "::error title=asr-gate::boom" in lines
    assert lines[-1] == "asr-gate: 2 warnings not shown as annotations (at most 10 per level); see the job summary"


def test_masks_are_printed_once_and_per_line():
    out = io.StringIO()
    wf = Workflow({"GITHUB_ACTIONS": "true"}, stdout=out)
    wf.mask("s3cr3t-value-unit-test")
    wf.mask("s3cr3t-value-unit-test")
    wf.mask("abc")  # too short to be worth masking
    wf.mask("first-line-secret\nsecond-line-secret%")
    assert out.getvalue().splitlines() == [
        "::add-mask::s3cr3t-value-unit-test",
        "::add-mask::first-line-secret%0Asecond-line-secret%25",
        "::add-mask::first-line-secret",
        "::add-mask::second-line-secret%25",  # the runner decodes %25 back to %
    ]


def test_outside_actions_messages_are_plain_lines():
    out, err = io.StringIO(), io.StringIO()
    wf = Workflow({}, stdout=out, stderr=err)
    wf.mask("a-secret-value")
    wf.warning("asr-gate: look ::error::here\n", title="x")
    wf.group("g")
    assert out.getvalue() == ""
    assert err.getvalue() == "asr-gate: warning: look :%3Aerror:%3Ahere\\n\n"


# ------------------------------------------------------------------------------------------------
# the gate command: policy overrides, outputs, annotations


def _policy_file(tmp_path, text):
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    return str(path)


def _build(argv, env=None):
    from gate.commands import gate as gate_cmd

    args = gate_cmd.parse(argv)
    if env:
        apply_inputs(args, GATE_INPUTS, env)
    return pipeline.build_policy(args)


def test_alpha_override_moves_pass_alpha_to_half_the_final_alpha(tmp_path):
    p = _build(["--alpha", "0.01"])
    assert (p.alpha, p.pass_alpha) == (0.01, pytest.approx(0.005))  # was left at 0.025: PASS 5x too loose
    p = _build([], {"INPUT_ALPHA": "0.01"})
    assert (p.alpha, p.pass_alpha) == (0.01, pytest.approx(0.005))
    loose = _policy_file(tmp_path, "alpha: 0.1\n")
    assert _build(["--policy", loose]).pass_alpha == pytest.approx(0.05)
    assert _build(["--policy", loose, "--alpha", "0.02"]).pass_alpha == pytest.approx(0.01)
    # a pass_alpha the policy file sets is kept
    explicit = _policy_file(tmp_path, "alpha: 0.1\npass_alpha: 0.04\n")
    p = _build(["--policy", explicit, "--alpha", "0.01"])
    assert (p.alpha, p.pass_alpha) == (0.01, 0.04)


def test_margin_and_max_asr_overrides_change_only_their_own_field(tmp_path):
    import dataclasses

    from gate.verdict import Policy

    path = _policy_file(tmp_path, (
        "alpha: 0.1\npass_alpha: 0.03\nmargin: 0.1\nmax_asr: 0.4\nceiling_mode: strict\ncorrection: bh\n"
        "on_inconclusive: warn\nmin_attempts: 2\nmax_error_rate: 0.2\nmin_attacks_for_t: 12\npower: 0.9\n"
        "categories:\n  x: {margin: 0.2, max_asr: 0.5}\n"))
    before = _build(["--policy", path])
    after = _build(["--policy", path, "--margin", "2%", "--max-asr", "0.3"])
    changed = {f.name for f in dataclasses.fields(Policy) if getattr(before, f.name) != getattr(after, f.name)}
    assert changed == {"margin", "max_asr"}
    assert (after.margin, after.max_asr) == (pytest.approx(0.02), 0.3)
    assert after.margin_for("x") == 0.2 and after.max_asr_for("x") == 0.5
    # a value the policy refuses names the option, not a policy-file field
    with pytest.raises(UsageError, match=r"^--margin / input 'margin': 0(\.0)? must be in \(0, 1\]"):
        _build(["--margin", "0"])


@pytest.mark.parametrize("policy, flag, expected", [
    ("fail", False, "neutral"),   # --no-fail-on-inconclusive beats the policy's fail
    ("warn", False, "warn"), ("pass", False, "pass"), ("neutral", False, "neutral"),
    ("neutral", True, "fail"), ("warn", True, "fail"),
    ("fail", None, "fail"), ("warn", None, "warn"), (None, None, "neutral"),
])
def test_fail_on_inconclusive_overrides_the_policy_both_ways(tmp_path, policy, flag, expected):
    argv = ["--policy", _policy_file(tmp_path, f"on_inconclusive: {policy}\n")] if policy else []
    cli = argv + ({True: ["--fail-on-inconclusive"], False: ["--no-fail-on-inconclusive"], None: []}[flag])
    assert _build(cli).on_inconclusive == expected
    env = {} if flag is None else {"INPUT_FAIL-ON-INCONCLUSIVE": str(flag).lower()}
    assert _build(argv, env).on_inconclusive == expected


def test_no_fail_on_inconclusive_makes_an_inconclusive_verdict_exit_0(tmp_path):
    from gate.verdict import compare

    run = {"attacks": [{"id": f"a{i}", "category": "c", "hash": f"h{i}", "attempts": 10, "successes": 1}
                       for i in range(3)]}  # 3 attacks: too few to ever pass, nothing significant
    path = _policy_file(tmp_path, "on_inconclusive: fail\n")
    assert compare(run, run, _build(["--policy", path])).exit_code == 1
    verdict = compare(run, run, _build(["--policy", path, "--no-fail-on-inconclusive"]))
    assert verdict.verdict == "inconclusive" and verdict.exit_code == 0 and verdict.conclusion == "neutral"


def test_fail_on_inconclusive_input_has_no_default_so_the_policy_decides():
    """The runner sends every input that has a default: a default of "false" would override a policy's
    `on_inconclusive: fail` in every workflow that does not set the input."""
    import yaml

    from action_harness import ACTION_YML

    spec = yaml.safe_load(ACTION_YML.read_text())["inputs"]["fail-on-inconclusive"]
    assert "default" not in spec


def _counts(n, successes, attempts=10, prefix="a", category="c"):
    return [{"id": f"{prefix}{i}", "category": category, "hash": f"{prefix}{i}", "attempts": attempts,
             "successes": successes} for i in range(n)]


def _context(env, stdout=None):
    from gate.publish.publisher import Context

    wf = Workflow(env, stdout=stdout or io.StringIO(), stderr=io.StringIO())
    return Context(wf=wf, event=Event(), comment=False, check_run=False)


def test_asr_outputs_are_each_runs_overall_asr_and_delta_the_paired_change(tmp_path, capsys):
    from gate.verdict import compare

    baseline = {"attacks": _counts(12, 1)}
    # the candidate has a new, always-successful attack: in its overall ASR, not in the paired test
    results = {"attacks": _counts(12, 1) + _counts(1, 10, prefix="new"), "totals": {"asr": 22 / 130}}
    verdict = compare(baseline, results)
    assert verdict.new == ("new0",) and verdict.overall.candidate_asr == pytest.approx(0.1)
    out = tmp_path / "output"
    out.write_text("")
    ctx = _context({"GITHUB_OUTPUT": str(out)})
    pipeline.report_verdict(ctx, verdict, results=results, baseline=baseline, results_path=str(tmp_path / "r.json"),
                            out_dir=str(tmp_path / "o"), suite_id="s")
    o = parse_outputs(out.read_text())
    assert o["asr"] == "0.169231"  # 22/130 over every judged attempt of the run, was the paired 0.1
    assert o["baseline-asr"] == "0.1" and o["delta"] == "0"
    assert float(o["delta"]) == pytest.approx(verdict.overall.delta)


def test_annotations_of_regressed_attacks_never_print_nan(tmp_path, capsys):
    import dataclasses

    from gate.verdict import AttackChange, compare

    verdict = compare({"attacks": _counts(12, 1)}, {"attacks": _counts(12, 6)})
    assert verdict.verdict == "fail"
    nan = float("nan")
    odd = (AttackChange("nan-delta", "c", 1, 10, 6, 10, nan, (nan, nan), 0.001, 0.01, "exact"),
           AttackChange("nan-p", "c", 1, 10, 6, 10, 0.5, (0.1, 0.9), nan, nan, "exact"),
           AttackChange("clear", "c", 1, 10, 6, 10, 0.5, (0.1, 0.9), 0.01, 0.02, "exact"))
    verdict = dataclasses.replace(verdict, top_regressed=odd)
    log = io.StringIO()
    ctx = _context({"GITHUB_ACTIONS": "true"}, stdout=log)
    code = pipeline.report_verdict(ctx, verdict, results={"attacks": _counts(12, 6)},
                                   baseline={"attacks": _counts(12, 1)}, results_path=str(tmp_path / "r.json"),
                                   out_dir=str(tmp_path / "o"), suite_id="s")
    assert code == 1
    text = log.getvalue()
    assert "nan" not in text.lower(), text
    warnings = [line for line in text.splitlines() if line.startswith("::warning ")]
    assert len(warnings) == 1 and "attack clear regressed" in warnings[0]
    assert "(+50.0 points, exploratory p = 0.010)" in warnings[0]


# ------------------------------------------------------------------------------------------------
# sequential mode


def test_sequential_inputs_fill_the_gate_options_and_are_declared_in_action_yml():
    import yaml

    from action_harness import ACTION_YML
    from gate.commands import gate as gate_cmd

    args = gate_cmd.parse([])
    assert (args.sequential, args.seed, args.no_early_pass) == (None, None, False)
    apply_inputs(args, GATE_INPUTS, {"INPUT_SEQUENTIAL": "true", "INPUT_SEQUENTIAL-SEED": "7"})
    assert args.sequential is True and args.seed == 7
    args = gate_cmd.parse(["--no-sequential", "--sequential-seed", "2"])
    apply_inputs(args, GATE_INPUTS, {"INPUT_SEQUENTIAL": "true", "INPUT_SEQUENTIAL_SEED": "9"})
    assert args.sequential is False and args.seed == 2  # the command line wins
    assert gate_cmd.parse(["--sequential", "--seed", "0"]).seed == 0
    with pytest.raises(UsageError, match="input 'sequential' must be true or false"):
        apply_inputs(gate_cmd.parse([]), GATE_INPUTS, {"INPUT_SEQUENTIAL": "yes"})
    for bad in ("-1", "x", "1.5"):
        with pytest.raises(UsageError, match="input 'sequential-seed' must be a non-negative integer"):
            apply_inputs(gate_cmd.parse([]), GATE_INPUTS, {"INPUT_SEQUENTIAL-SEED": bad})
    # publish mode has nothing to run
    assert not {s.name for s in PUBLISH_INPUTS} & {"sequential", "sequential-seed"}
    inputs = yaml.safe_load(ACTION_YML.read_text())["inputs"]
    assert inputs["sequential"]["default"] == "false" and inputs["sequential"]["description"]
    assert "default" not in inputs["sequential-seed"] and inputs["sequential-seed"]["description"]


def _seq_suite(tmp_path, n=8):
    import yaml

    from gate.suite import load_suite

    doc = {"suite": "seq", "version": 1, "defaults": {"attempts": 4, "detector": {"contains": "PWNED"}},
           "attacks": [{"id": f"a{i}", "category": "c" if i % 2 else "d", "prompt": f"prompt {i}"}
                       for i in range(n)]}
    path = tmp_path / "suite.yaml"
    path.write_text(yaml.safe_dump(doc))
    return load_suite(str(path))


def test_gate_builds_the_design_from_its_baseline_and_the_policy_with_overrides(tmp_path):
    from gate.commands import gate as gate_cmd

    suite = _seq_suite(tmp_path)
    baseline = {"attacks": [{"id": a.id, "category": a.category, "hash": a.hash, "attempts": 4, "successes": 1}
                            for a in suite.attacks]}
    policy_path = _policy_file(tmp_path, "alpha: 0.1\nmargin: 0.1\nmin_attempts: 2\n")
    args = gate_cmd.parse(["--policy", policy_path, "--margin", "3%", "--sequential", "--seed", "5"])
    policy = pipeline.build_policy(args)
    design = pipeline.sequential_design(args, suite, baseline, policy)
    assert design.margin == pytest.approx(0.03)  # the override, not the file's 0.1
    assert (design.alpha, design.pass_alpha) == (0.1, pytest.approx(0.05))
    assert design.min_attempts == 2 and design.seed == 5 and design.allow_early_pass
    assert sorted(design.order) == sorted(a.id for a in suite.attacks) and design.looks == 4
    args = gate_cmd.parse(["--sequential", "--no-early-pass"])
    assert not pipeline.sequential_design(args, suite, baseline, pipeline.build_policy(args)).allow_early_pass
    # nothing paired, a live A/B or a shard: a usage error before any model call
    foreign = {"attacks": [dict(a, hash="other") for a in baseline["attacks"]]}
    with pytest.raises(UsageError, match="no attack of the suite is in the baseline"):
        pipeline.sequential_design(args, suite, foreign, policy)
    with pytest.raises(UsageError, match="baseline-target"):
        pipeline.sequential_design(gate_cmd.parse(["--sequential", "--baseline-target", "t.yaml"]), suite, None,
                                   policy)
    with pytest.raises(UsageError, match="--shard"):
        pipeline.sequential_design(gate_cmd.parse(["--sequential", "--shard", "1/2"]), suite, baseline, policy)
    suite.close()


@pytest.mark.parametrize("mode, extra", [
    ("gate", {"INPUT_SUITE": "missing.yaml", "INPUT_TARGET": "missing.yaml"}),
    ("publish", {}),
    ("baseline", {"INPUT_SUITE": "s.yaml", "INPUT_TARGET": "t.yaml", "INPUT_BRANCH": "bad..branch",
                  "INPUT_BASE": "main"}),
])
def test_every_input_a_mode_reads_is_declared_in_action_yml(tmp_path, monkeypatch, capsys, mode, extra):
    """Each mode fails on purpose after it has read its inputs; every INPUT_* it asked for is in action.yml."""
    import yaml

    from gate.action import __main__ as entry
    from gate.action import inputs as inputs_mod

    declared = set(yaml.safe_load(ACTION_YML.read_text())["inputs"])
    read: set[str] = set()
    real = inputs_mod.input_env_names

    def recording(name):
        read.add(name)
        return real(name)

    monkeypatch.setattr(inputs_mod, "input_env_names", recording)
    monkeypatch.chdir(tmp_path)
    for key in [k for k in os.environ if k.startswith(("INPUT_", "GITHUB_"))]:
        monkeypatch.delenv(key)
    env = {"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(tmp_path), "GITHUB_REPOSITORY": "o/r",
           "INPUT_MODE": mode, **extra}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    code = entry.main([], os.environ)
    capsys.readouterr()
    assert code == 2
    assert read and read <= declared, read - declared
    if mode == "baseline":  # checked before the suite is even loaded
        assert {"base", "branch", "baseline", "suite", "target"} <= read
