"""Run part of a suite: `--only GLOB` (attack ids), `--category NAME`, `--tag TAG`.

Each option may be given several times: values of one option are alternatives (any of them), different
options must all hold. A selection that names something the suite does not have is a usage error, never
an empty run, and the selection is recorded in results.json so that `compare` can say how much of the
suite was measured and `baseline update` can refuse a partial baseline.
"""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any, Sequence

from ..errors import UsageError
from .model import Attack, Suite


@dataclass(frozen=True)
class Selection:
    only: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.only or self.categories or self.tags)

    def describe(self) -> str:
        """`--only 'inj-*' --category jailbreak`: the options that made it, for messages."""
        parts = [f"--only {g}" for g in self.only] + [f"--category {c}" for c in self.categories]
        return " ".join(parts + [f"--tag {t}" for t in self.tags])

    def matches(self, attack: Attack) -> bool:
        return ((not self.only or any(id_matches(attack.id, g) for g in self.only))
                and (not self.categories or attack.category in self.categories)
                and (not self.tags or any(t in attack.tags for t in self.tags)))

    def record(self, selected: int, of: int) -> dict[str, Any]:
        """What results.json keeps: the options and how many attacks they kept."""
        return {"only": list(self.only), "categories": list(self.categories), "tags": list(self.tags),
                "attacks": selected, "of": of}


def id_matches(attack_id: str, glob: str) -> bool:
    """An exact id always matches itself (ids like `credential[ask=curl]` hold glob brackets), else the glob."""
    return attack_id == glob or fnmatch.fnmatchcase(attack_id, glob)


def selection_from(only: Sequence[str] | None, categories: Sequence[str] | None,
                   tags: Sequence[str] | None) -> Selection:
    return Selection(tuple(only or ()), tuple(categories or ()), tuple(tags or ()))


def select_attacks(suite: Suite, selection: Selection | None) -> tuple[Attack, ...]:
    """The attacks of `suite` that `selection` keeps; UsageError for a value that matches nothing."""
    if not selection:
        return suite.attacks
    where = suite.path or suite.id
    known = {a.category for a in suite.attacks}
    for c in selection.categories:
        if c not in known:
            raise UsageError(f"--category {c}: suite {where} has no such category (it has: {', '.join(sorted(known))})")
    tags = {t for a in suite.attacks for t in a.tags}
    for t in selection.tags:
        if t not in tags:
            shown = ", ".join(sorted(tags)) if tags else "none"
            raise UsageError(f"--tag {t}: no attack of suite {where} has this tag (tags used: {shown})")
    for g in selection.only:
        if not any(id_matches(a.id, g) for a in suite.attacks):
            raise UsageError(f"--only {g}: matches no attack id of suite {where}")
    kept = tuple(a for a in suite.attacks if selection.matches(a))
    if not kept:
        raise UsageError(f"{selection.describe()}: together these select no attack of suite {where}")
    return kept
