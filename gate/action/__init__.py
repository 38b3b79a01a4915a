"""The GitHub Action: a thin layer over the command line (docs/architecture.md).

``python -m gate.action`` (the Docker ENTRYPOINT, `__main__`) dispatches on the ``mode`` input: ``gate``
(``asr-gate gate``, the default), ``publish`` (``asr-gate publish``, for the ``workflow_run`` pattern) and
``baseline`` (run the suite, then open or update the baseline pull request). The modules:

* `inputs`: every ``INPUT_*`` read (names, parsing, which option each input fills);
* `event`: the event payload (``GITHUB_EVENT_PATH``): pull request, head commit, fork or not;
* `workflow`: what the runner reads back: workflow commands, outputs, the job summary, masks.

Importing this package imports none of them.
"""
