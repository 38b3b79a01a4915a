"""gate/publish/github.py against GitHub's OpenAPI description (Prism) and a stateful fake (find-and-edit logic)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gate.publish import github as gg
from gh_contract import ACTIONS_TOKEN, FORK_TOKEN, PAT_TOKEN, REPO, connect_fake, raw_request, webhook_example

SHA = "ce587453ced02b1526dfb4cb910479d431683101"
MARKER = gg.sticky_marker("prompt-injection")


def annotations(n: int) -> list[gg.Annotation]:
    return [gg.Annotation(path="suites/default.yaml", start_line=i + 1, end_line=i + 1, level="warning",
                          message=f"attack a{i}: ASR up 4.0 points", title=f"a{i}") for i in range(n)]


def check_run_body(**overrides) -> dict:
    body = {"name": "asr-gate", "head_sha": SHA, "status": "completed", "conclusion": "success",
            "output": {"title": "ASR 4.0%", "summary": "ok"}}
    body.update(overrides)
    return body


# ------------------------------------------------------------------------------------------------
# the contract itself can fail: Prism and the fake reject what GitHub would reject


def test_prism_serves_the_trimmed_description(prism):
    # the full 13 MB description takes 7-15 s to load; the trimmed one about 1.5 s (timed in bench/startup.py
    # territory, not here: a wall-clock bound flakes on a loaded machine). Here: it is the small one.
    from fake_github import SPEC_PATH

    assert SPEC_PATH.stat().st_size < 2_000_000 and prism.startup_seconds > 0


@pytest.mark.parametrize("body, field", [
    (check_run_body(conclusion="passed"), "conclusion"),
    (check_run_body(output={"title": "t", "summary": "s" * 65_536}), "summary"),
    (check_run_body(output={"title": "t", "summary": "s", "annotations": [
        {"path": "a", "start_line": 1, "end_line": 1, "annotation_level": "warning", "message": "m"}] * 51}),
     "annotations"),
    (check_run_body(output={"title": "t", "summary": "s", "annotations": [
        {"path": "a", "start_line": 1, "end_line": 1, "annotation_level": "error", "message": "m"}]}),
     "annotation_level"),
], ids=["bad-conclusion", "summary-too-long", "51-annotations", "bad-annotation-level"])
def test_prism_rejects_an_invalid_check_run(prism, body, field):
    mark = prism.mark()
    status, out = raw_request(prism.url, "POST", f"/repos/{REPO}/check-runs", body)
    assert status == 422, out
    assert field in str(out)
    assert prism.errors_since(mark)
    # the same request through PyGithub fails too
    from github import GithubException

    client = gg.connect(ACTIONS_TOKEN, prism.url, REPO, write_throttle=False, retries=0)
    with pytest.raises(GithubException) as info:
        client.repo.create_check_run(name=body["name"], head_sha=SHA, conclusion=body["conclusion"],
                                     output=body["output"])
    assert info.value.status == 422


def test_prism_rejects_an_operation_missing_from_the_description(prism):
    status, _ = raw_request(prism.url, "DELETE", f"/repos/{REPO}/issues/comments/1")
    assert status in (404, 405)  # Prism: 405 method not allowed


def test_fake_rejects_invalid_requests_like_prism(fake):
    status, out = raw_request(fake.url, "POST", f"/repos/{REPO}/check-runs", check_run_body(conclusion="passed"))
    assert status == 422 and "conclusion" in str(out)
    status, out = raw_request(fake.url, "PATCH", f"/repos/{REPO}/issues/comments/1", {"body": 5})
    assert status == 422 and "body" in str(out)
    status, _ = raw_request(fake.url, "DELETE", f"/repos/{REPO}/issues/comments/1")
    assert status == 404
    assert len(fake.violations) == 3
    fake.violations.clear()


# ------------------------------------------------------------------------------------------------
# check run


def test_check_run_batches_annotations_and_truncates_against_prism(prism, gh_prism):
    mark = prism.mark()
    url = gg.publish_check_run(gh_prism, name="asr-gate / default", head_sha=SHA, conclusion="failure",
                               title="ASR 9.0% (baseline 4.0%) — regression", summary="| a | b |\n" * 20_000,
                               text="é" * 70_000, annotations=annotations(120))
    assert url.startswith("https://github.com/")
    calls = prism.requests_since(mark)
    assert [m for m, _ in calls] == ["GET", "POST", "PATCH", "PATCH"], calls
    assert calls[0][1].endswith(f"/commits/{SHA}/check-runs")


def test_check_run_updates_the_existing_run_against_prism(prism, gh_prism):
    # Prism's example lists run 4 "mighty_readme" with an empty external_id: it is "ours" here
    mark = prism.mark()
    gg.publish_check_run(gh_prism, name="mighty_readme", head_sha=SHA, conclusion="neutral", title="t",
                         summary="s", annotations=annotations(3), external_id="")
    calls = prism.requests_since(mark)
    assert [m for m, _ in calls] == ["GET", "PATCH"], calls
    assert calls[1][1].endswith("/check-runs/4")


def test_check_run_batches_of_fifty_on_the_fake(fake):
    client = connect_fake(fake)
    head = fake.refs["heads/main"]
    url = gg.publish_check_run(client, name="asr-gate", head_sha=head, conclusion="failure", title="regression",
                               summary="x" * 100_000, text="t", annotations=annotations(120))
    (listing,) = fake.calls("checks/list-for-ref")
    assert listing.query == {"check_name": ["asr-gate"]}
    writes = [r for r in fake.requests if r.method != "GET"]
    assert [r.operation_id for r in writes] == ["checks/create", "checks/update", "checks/update"]
    assert [len(r.body["output"]["annotations"]) for r in writes] == [50, 50, 20]
    (run,) = fake.check_runs
    assert url.endswith(f"/runs/{run.id}")
    assert run.conclusion == "failure" and run.status == "completed"
    assert len(run.annotations) == 120
    assert [a["message"] for a in run.annotations] == [f"attack a{i}: ASR up 4.0 points" for i in range(120)]
    assert len(run.output["summary"]) <= gg.CHECK_RUN_TEXT_LIMIT
    assert "… truncated" in run.output["summary"]


def test_check_run_rerun_updates_our_run_and_leaves_the_job_run_alone(fake):
    client = connect_fake(fake)
    head = fake.refs["heads/main"]
    # the workflow job's own check run: same app (github-actions), same name, another external_id
    status, _ = raw_request(fake.url, "POST", f"/repos/{REPO}/check-runs",
                            check_run_body(name="asr-gate", head_sha=head, external_id="job-uuid"))
    assert status == 201
    gg.publish_check_run(client, name="asr-gate", head_sha=head, conclusion="failure", title="t", summary="first")
    gg.publish_check_run(client, name="asr-gate", head_sha=head, conclusion="success", title="t", summary="second")
    job, ours = fake.check_runs
    assert job.external_id == "job-uuid" and job.output["summary"] == "ok"
    assert ours.external_id == "asr-gate:asr-gate" and ours.output["summary"] == "second"
    assert ours.conclusion == "success"
    assert len(fake.calls("checks/create")) == 2  # the job's and ours, never a third


def test_check_run_conclusion_is_checked_before_any_request(fake):
    client = connect_fake(fake)
    with pytest.raises(ValueError):
        gg.publish_check_run(client, name="x", head_sha=SHA, conclusion="inconclusive", title="t", summary="s")
    assert fake.requests == []


# ------------------------------------------------------------------------------------------------
# sticky comment


def test_sticky_comment_created_once_then_edited(fake):
    pr = fake.add_pull_request("feature")
    impostor = fake.add_comment(pr.number, "mallory", f"{MARKER}\nnot the real report")
    client = connect_fake(fake)

    url1 = gg.upsert_sticky_comment(client, pr_number=pr.number, marker=MARKER, body="## ASR 4.0%")
    url2 = gg.upsert_sticky_comment(client, pr_number=pr.number, marker=MARKER, body="## ASR 9.0%")
    url3 = gg.upsert_sticky_comment(client, pr_number=pr.number, marker=MARKER, body="## ASR 9.0%")

    ours = [c for c in fake.comments if c.login == "github-actions[bot]"]
    assert len(ours) == 1 and url1 == url2 == url3
    assert ours[0].body == f"{MARKER}\n## ASR 9.0%"
    assert ours[0].edits == 1  # the identical third upsert did not write
    assert impostor.body == f"{MARKER}\nnot the real report" and impostor.edits == 0
    assert len(fake.calls("issues/create-comment")) == 1
    assert len(fake.calls("issues/update-comment")) == 1
    assert not fake.calls("users/get-authenticated")  # GITHUB_TOKEN cannot call GET /user


def test_sticky_comment_must_start_with_the_marker_and_be_ours(fake):
    """Issue 14, attack 4: another workflow's comment, by the same bot identity, quoting a PR body that
    contains the marker was taken for ours and overwritten."""
    pr = fake.add_pull_request("feature")
    quoting = fake.add_comment(pr.number, "github-actions[bot]",
                               f"Triage bot: the PR description says\n> {MARKER}\n> please merge")
    indented = fake.add_comment(pr.number, "github-actions[bot]", f" {MARKER}\nnot at the very start")
    foreign = fake.add_comment(pr.number, "mallory", f"{MARKER}\nlooks like ours, written by someone else")
    client = connect_fake(fake)
    gg.upsert_sticky_comment(client, pr_number=pr.number, marker=MARKER, body="## ASR 4.0%")
    gg.upsert_sticky_comment(client, pr_number=pr.number, marker=MARKER, body="## ASR 5.0%")
    assert quoting.edits == indented.edits == foreign.edits == 0
    (ours,) = [c for c in fake.comments if c.body.startswith(MARKER) and c.login == "github-actions[bot]"]
    assert ours.body == f"{MARKER}\n## ASR 5.0%" and ours.edits == 1
    assert len(fake.calls("issues/create-comment")) == 1


def test_a_body_that_quotes_the_marker_still_starts_with_it(fake):
    pr = fake.add_pull_request("feature")
    client = connect_fake(fake)
    gg.upsert_sticky_comment(client, pr_number=pr.number, marker=MARKER, body=f"report quoting {MARKER} inside")
    gg.upsert_sticky_comment(client, pr_number=pr.number, marker=MARKER, body=f"again {MARKER}")
    (comment,) = fake.comments
    assert comment.body == f"{MARKER}\nagain {MARKER}"


def test_sticky_comment_found_on_a_later_page(fake):
    fake.per_page_default = 2
    pr = fake.add_pull_request("feature")
    for i in range(5):
        fake.add_comment(pr.number, "bob", f"comment {i}")
    fake.add_comment(pr.number, "github-actions[bot]", f"{MARKER}\nold")
    for i in range(3):
        fake.add_comment(pr.number, "bob", f"later {i}")
    client = connect_fake(fake)
    gg.upsert_sticky_comment(client, pr_number=pr.number, marker=MARKER, body="new")
    assert [c.body for c in fake.comments if c.login == "github-actions[bot]"] == [f"{MARKER}\nnew"]
    assert len(fake.calls("issues/list-comments")) >= 3  # followed the Link header


def test_sticky_comments_of_two_suites_are_separate(fake):
    pr = fake.add_pull_request("feature")
    client = connect_fake(fake)
    gg.upsert_sticky_comment(client, pr_number=pr.number, marker=gg.sticky_marker("a"), body="A")
    gg.upsert_sticky_comment(client, pr_number=pr.number, marker=gg.sticky_marker("b"), body="B")
    gg.upsert_sticky_comment(client, pr_number=pr.number, marker=gg.sticky_marker("a"), body="A2")
    assert sorted(c.body.split("\n")[1] for c in fake.comments) == ["A2", "B"]


def test_sticky_comment_with_a_personal_access_token_uses_get_user(fake):
    pr = fake.add_pull_request("feature")
    bot = fake.add_comment(pr.number, "github-actions[bot]", f"{MARKER}\nfrom the bot")
    client = connect_fake(fake, PAT_TOKEN)
    assert gg.identity(client) == "alice"
    gg.upsert_sticky_comment(client, pr_number=pr.number, marker=MARKER, body="from alice")
    gg.upsert_sticky_comment(client, pr_number=pr.number, marker=MARKER, body="from alice 2")
    assert bot.edits == 0
    assert [c.body for c in fake.comments if c.login == "alice"] == [f"{MARKER}\nfrom alice 2"]
    assert len(fake.calls("users/get-authenticated")) == 1  # cached


def test_sticky_comment_author_can_be_configured(fake):
    pr = fake.add_pull_request("feature")
    fake.add_token("ghs_myapp", "asr-bot[bot]")
    mine = fake.add_comment(pr.number, "asr-bot[bot]", f"{MARKER}\nold")
    client = connect_fake(fake, "ghs_myapp", comment_author="asr-bot[bot]")
    gg.upsert_sticky_comment(client, pr_number=pr.number, marker=MARKER, body="new")
    assert mine.edits == 1 and len(fake.comments) == 1


def test_sticky_comment_is_truncated_deliberately(fake):
    pr = fake.add_pull_request("feature")
    client = connect_fake(fake)
    body = "<details><summary>attacks</summary>\n\n" + "\n".join(f"| a{i} | 4.0% | ✅ |" for i in range(10_000))
    gg.upsert_sticky_comment(client, pr_number=pr.number, marker=MARKER, body=body)
    (comment,) = fake.comments
    assert len(comment.body) <= gg.COMMENT_BODY_LIMIT
    assert comment.body.startswith(MARKER)
    assert "… truncated" in comment.body and "</details>" in comment.body


def test_sticky_comment_request_shapes_against_prism(prism, gh_prism):
    mark = prism.mark()
    url = gg.upsert_sticky_comment(gh_prism, pr_number=1347, marker=MARKER, body="x" * 70_000)
    assert url.startswith("https://github.com/")
    assert [m for m, _ in prism.requests_since(mark)] == ["GET", "POST"]


def test_identity_of_a_personal_access_token_against_prism(prism):
    client = gg.connect(PAT_TOKEN, prism.url, REPO, write_throttle=False, retries=0)
    assert gg.identity(client) == "octocat"


# ------------------------------------------------------------------------------------------------
# errors: fork pull requests, bad tokens, no network


@pytest.mark.parametrize("action", ["check run", "comment", "baseline pr"])
def test_read_only_fork_token_gives_a_clear_notice(fake, action):
    pr = fake.add_pull_request("feature")
    client = connect_fake(fake, FORK_TOKEN)
    with pytest.raises(gg.PublishError) as info:
        if action == "check run":
            gg.publish_check_run(client, name="asr-gate", head_sha=fake.refs["heads/main"], conclusion="success",
                                 title="t", summary="s")
        elif action == "comment":
            gg.upsert_sticky_comment(client, pr_number=pr.number, marker=MARKER, body="b")
        else:
            gg.open_or_update_pull_request(client, branch="asr-gate/baseline", base="main",
                                           path="baselines/default.json", content="{}", message="m", title="t",
                                           body="b")
    err = info.value
    assert err.read_only and err.status == 403
    assert "fork PR?" in str(err) and "workflow_run" in str(err)
    assert "\n" not in err.one_line() and FORK_TOKEN not in str(err)
    assert err.exit_code == 3
    assert err.__cause__ is None and err.__suppress_context__  # no chained traceback


def test_personal_access_token_cannot_write_check_runs(fake):
    client = connect_fake(fake, PAT_TOKEN)
    with pytest.raises(gg.PublishError) as info:
        gg.publish_check_run(client, name="asr-gate", head_sha=fake.refs["heads/main"], conclusion="success",
                             title="t", summary="s")
    assert info.value.read_only and "GitHub App" in str(info.value)


def test_bad_credentials(fake):
    client = connect_fake(fake, "ghp_revoked0000000000000000000000000000")
    with pytest.raises(gg.PublishError) as info:
        gg.upsert_sticky_comment(client, pr_number=1, marker=MARKER, body="b")
    assert info.value.status == 401 and "ghp_revoked" not in str(info.value)


def test_github_unreachable():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = gg.connect(ACTIONS_TOKEN, f"http://127.0.0.1:{port}", REPO, write_throttle=False, retries=0, timeout=2)
    with pytest.raises(gg.PublishError) as info:
        gg.upsert_sticky_comment(client, pr_number=1, marker=MARKER, body="b")
    assert info.value.status is None and "unreachable" in str(info.value)


def test_connect_validates_its_arguments():
    with pytest.raises(gg.PublishError):
        gg.connect("", "https://api.github.com", REPO)
    with pytest.raises(gg.PublishError):
        gg.connect(ACTIONS_TOKEN, "https://api.github.com", "not a repo")
    with pytest.raises(gg.PublishError):
        gg.connect(ACTIONS_TOKEN, "ftp://example.com", REPO)
    assert ACTIONS_TOKEN not in repr(gg.connect(ACTIONS_TOKEN, "https://api.github.com", REPO))


# ------------------------------------------------------------------------------------------------
# baseline pull request

BRANCH = "asr-gate/baseline/default"
PATH = "baselines/default.json"


def open_pr(client, content: str, title: str = "Update ASR baseline", body: str = "New baseline") -> str:
    return gg.open_or_update_pull_request(client, branch=BRANCH, base="main", path=PATH, content=content,
                                          message=f"asr-gate: update {PATH}", title=title, body=body)


def test_baseline_pr_created_then_updated(fake):
    client = connect_fake(fake)
    url1 = open_pr(client, '{"asr": 0.04}\n')
    assert fake.files(BRANCH)[PATH] == b'{"asr": 0.04}\n'
    assert PATH not in fake.files("main")
    (pr,) = fake.open_pulls(BRANCH)
    assert (pr.base, pr.title) == ("main", "Update ASR baseline")

    url2 = open_pr(client, '{"asr": 0.05}\n', body="Newer baseline")
    assert url1 == url2 and fake.open_pulls(BRANCH) == [pr]
    assert fake.files(BRANCH)[PATH] == b'{"asr": 0.05}\n'
    assert pr.body == "Newer baseline" and pr.edits == 1

    writes_before = len([r for r in fake.requests if r.method != "GET"])
    assert open_pr(client, '{"asr": 0.05}\n', body="Newer baseline") == url1  # nothing changed: no writes
    assert len([r for r in fake.requests if r.method != "GET"]) == writes_before

    assert [r.operation_id for r in fake.requests if r.method != "GET"] == [
        "git/create-ref", "repos/create-or-update-file-contents", "pulls/create",
        "repos/create-or-update-file-contents", "pulls/update"]


def test_baseline_pr_with_several_files(fake):
    client = connect_fake(fake)
    history = "baselines/default.history.jsonl"
    kwargs = dict(branch=BRANCH, base="main", message="asr-gate: update baseline", title="t", body="b")
    url = gg.open_or_update_pull_request(client, files={PATH: "{}\n", history: "1\n"}, **kwargs)
    assert url and {PATH: b"{}\n", history: b"1\n"}.items() <= fake.files(BRANCH).items()
    gg.open_or_update_pull_request(client, files={PATH: "{}\n", history: "1\n2\n"}, **kwargs)
    assert fake.files(BRANCH)[history] == b"1\n2\n" and len(fake.open_pulls(BRANCH)) == 1
    puts = fake.calls("repos/create-or-update-file-contents")
    assert [r.path.rsplit("/", 1)[-1] for r in puts] == ["default.json", "default.history.jsonl",
                                                         "default.history.jsonl"]
    with pytest.raises(ValueError):
        gg.open_or_update_pull_request(client, **kwargs)
    with pytest.raises(ValueError):
        gg.open_or_update_pull_request(client, files={"../x": "1"}, **kwargs)


def test_baseline_pr_resets_a_stale_branch_from_a_merged_pr(fake):
    fake.add_branch(BRANCH, {PATH: b"old\n", "unrelated.txt": b"left over\n"})
    fake.add_pull_request(BRANCH, state="closed", title="old baseline")
    client = connect_fake(fake)
    open_pr(client, "new\n")
    assert fake.files(BRANCH) == {**fake.files("main"), PATH: b"new\n"}
    assert len(fake.open_pulls(BRANCH)) == 1
    assert fake.calls("git/update-ref")[0].body == {"sha": fake.refs["heads/main"], "force": True}


def test_baseline_pr_not_needed_when_base_already_has_the_content(fake):
    fake.commit_files("main", {PATH: b"same\n"})
    client = connect_fake(fake)
    assert open_pr(client, "same\n") is None
    assert [r for r in fake.requests if r.method != "GET"] == []
    assert f"heads/{BRANCH}" not in fake.refs


def test_baseline_pr_request_shapes_against_prism(prism, gh_prism):
    # Prism's examples: the branch exists, no open PR for it, the file exists with other content
    mark = prism.mark()
    url = open_pr(gh_prism, '{"asr": 0.04}\n')
    assert url.startswith("https://github.com/")
    calls = prism.requests_since(mark)
    assert [(m, p.split("?")[0].split(f"/repos/{REPO}")[-1]) for m, p in calls] == [
        ("GET", "/git/ref/heads/main"),
        ("GET", "/pulls"),
        ("GET", f"/git/ref/heads/{BRANCH}"),
        ("GET", f"/contents/{PATH}"),
        ("PUT", f"/contents/{PATH}"),
        ("POST", "/pulls"),
    ]


def test_baseline_pr_new_branch_and_file_shapes_against_prism(prism, gh_prism, monkeypatch):
    """Prism cannot answer 404, so force the create-branch / create-file paths to check their shapes."""
    from github import UnknownObjectException

    real = gg._get_ref
    monkeypatch.setattr(gg, "_get_ref", lambda client, branch: None if branch == BRANCH else real(client, branch))

    def missing(*args, **kwargs):
        raise UnknownObjectException(404, {"message": "Not Found"}, {})

    monkeypatch.setattr(type(gh_prism.repo), "get_contents", missing)
    mark = prism.mark()
    open_pr(gh_prism, '{"asr": 0.04}\n')
    assert [m for m, _ in prism.requests_since(mark)] == ["GET", "GET", "POST", "PUT", "POST"]


def test_branch_names_are_checked(fake):
    client = connect_fake(fake)
    for bad in ("main", "a..b", "-x", "x.lock", "a b", "refs/heads/x:y"):
        with pytest.raises(ValueError):
            gg.open_or_update_pull_request(client, branch=bad, base="main", path=PATH, content="{}",
                                           message="m", title="t", body="b")
    assert fake.requests == []


def test_publishing_for_a_real_pull_request_event_payload(fake):
    """The PR number and head SHA come from GITHUB_EVENT_PATH: use GitHub's own example payload."""
    event = webhook_example("pull_request", "opened")
    number, head_sha = event["pull_request"]["number"], event["pull_request"]["head"]["sha"]
    fake.add_commit(head_sha)
    while max(fake.pulls, default=0) < number:
        fake.add_pull_request(f"pr-{len(fake.pulls) + 1}")
    client = connect_fake(fake)
    gg.publish_check_run(client, name="asr-gate", head_sha=head_sha, conclusion="success", title="t", summary="s")
    gg.upsert_sticky_comment(client, pr_number=number, marker=MARKER, body="b")
    assert fake.check_runs[0].head_sha == head_sha
    assert [c.issue for c in fake.comments] == [number]


# ------------------------------------------------------------------------------------------------
# helpers


def test_truncate_respects_the_limit_in_bytes_and_says_so():
    assert gg.truncate("short", 10) == "short"
    text = "ü" * 40_000  # 80,000 bytes
    out = gg.truncate(text, gg.CHECK_RUN_TEXT_LIMIT)
    assert len(out.encode()) <= gg.CHECK_RUN_TEXT_LIMIT and "… truncated" in out
    fenced = "```\n" + "code line\n" * 10_000
    out = gg.truncate(fenced, 5_000)
    assert out.count("```") % 2 == 0 and len(out.encode()) <= 5_000
    assert len(gg.truncate("t" * 300, 255, note="…").encode()) == 255


def test_sticky_marker_is_a_safe_html_comment():
    marker = gg.sticky_marker("evil --> <img src=x>")
    assert marker.startswith("<!-- asr-gate:suite=") and marker.endswith(" -->")
    assert "--" not in marker[4:-3] and "<" not in marker[4:] and ">" not in marker[:-1]


def test_importing_gate_github_does_not_import_pygithub():
    code = "import sys, gate.publish.github; assert 'github' not in sys.modules and 'requests' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[2])
