"""Publishing on GitHub: the last step of the pipeline (docs/architecture.md).

* `github`: the REST client (PyGithub, imported lazily): check runs, the sticky comment, pull requests.
* `publisher`: what to publish for a verdict (check run, comment, step outputs) and the baseline pull
  request; a failure to publish becomes a note, never a changed verdict.
* `artifact`: the checks an untrusted results artifact must pass before `asr-gate publish` publishes it (as
  unverified when the pull request's own workflow measured it).

Importing this package imports none of them (nor PyGithub).
"""
