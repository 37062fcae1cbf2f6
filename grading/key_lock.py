"""Keys lock once students sit an exam: from then on a key changes through a dry run only.

The question admin, its choices and the authoring API ask ``key_locked`` before letting the
kind, the policy, its parameters or the key be edited in place, and ``key_proposal_changes``
whether a write would change them; once locked, the one way to change them is
``grading.keys.key_change_apply`` (dry run first, audited, that question rescored).

The interfaces of that change (the admin page, ``grading.api``) share the rest: the digest
that ties an "apply" to the dry run the instructor saw, the messages of a refused key moved
beside the field they are about, and the history of a question's key changes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError

from exams.kinds import KIND_GROUP, KINDS, POLICY_PARAMS, ChoiceData
from exams.models import Question, Sitting
from grading.keys import DryRun, KeyProposal, key_current, key_proposal_clean
from grading.models import KeyChange

NO_KEY = KeyProposal(policy="", policy_params={}, key={})


def key_locked(exam_id: int) -> bool:
    """True once anyone has started a sitting of the exam: its keys then change by dry run only."""
    return Sitting.objects.filter(exam_id=exam_id).exists()


def _normal(question: Question) -> KeyProposal:
    """The question's key as the kind normalises it (a stored policy "" is its default)."""
    if question.kind == KIND_GROUP:
        return NO_KEY
    current = key_current(question)
    try:
        return key_proposal_clean(question, current)
    except ValidationError:
        return current  # an old key the kind no longer accepts: compare it as stored


def key_proposal_changes(question: Question, proposal: KeyProposal, *, kind: str | None = None) -> list[str]:
    """What ``proposal`` (already normalised for ``kind``) changes: names among kind, policy,
    policy_params, key and correct_choices; empty when it is the question's current key."""
    current = _normal(question)
    changed = ["kind"] if kind is not None and kind != question.kind else []
    changed += [
        name for name in ("policy", "policy_params", "key") if getattr(proposal, name) != getattr(current, name)
    ]
    if sorted(proposal.correct_choices) != sorted(current.correct_choices):
        changed.append("correct_choices")
    return changed


def dry_run_digest(dry_run: DryRun) -> str:
    """A fingerprint of a dry run (the proposal and every row): an "apply" that carries it
    is refused when the scores it would change are no longer the ones the instructor saw."""
    rows = [[row.sitting_id, str(row.old_points), str(row.new_points), row.kept_by_grader] for row in dry_run.rows]
    text = json.dumps([dry_run.proposal.as_json(), rows], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def key_errors_by_field(question: Question, proposal: KeyProposal, error: ValidationError) -> dict[str, list[str]]:
    """A refused proposal's messages by the field a person would fix: policy, policy_params,
    key or correct_choices; what belongs to none of them (settings, points) under "" ."""
    if not hasattr(error, "error_dict"):
        return {"": list(error.messages)}
    kind = KINDS.get(question.kind)
    uses_choices = kind is not None and kind.uses_choices
    by_field: dict[str, list[str]] = {}
    for name, messages in error.message_dict.items():
        if name == "policy" and kind is not None and (proposal.policy or kind.default_policy) in kind.policies:
            target = "policy_params"  # the policy is fine, so the message is about its parameters
        elif name == "key" and uses_choices:
            target = "correct_choices"
        elif name == "choices":
            target = "correct_choices" if uses_choices else ""
        elif name in ("policy", "key"):
            target = name
        else:
            target = ""
        by_field.setdefault(target, []).extend(messages)
    return by_field


def key_describe(question: Question, data: dict[str, Any]) -> str:
    """One line for a key as ``KeyChange`` stores it: "negative_marking (wrong -1, blank 0): True"."""
    policy = data.get("policy") or ""
    params = data.get("policy_params") or {}
    names = [p.name for p in POLICY_PARAMS.get(policy, ())]
    shown = ", ".join(f"{name} {params[name]:g}" for name in names if isinstance(params.get(name), int | float))
    rules = f"{policy} ({shown})" if shown else policy
    kind = KINDS.get(question.kind)
    if kind is None:
        return rules
    correct = set(data.get("correct_choices") or ())
    choices = [ChoiceData(c.label, c.text, c.label in correct) for c in question.choices.order_by("position")]
    key = kind.describe_key(question.config, data.get("key") or {}, choices)
    if not key and data.get("key"):
        key = json.dumps(data["key"], ensure_ascii=False)
    return f"{rules}: {key}" if key else rules


@dataclass(frozen=True)
class KeyChangeEntry:
    change: KeyChange
    old: str
    new: str


def key_change_history(question: Question) -> list[KeyChangeEntry]:
    """The question's key changes, newest first, each key described in one line."""
    changes = KeyChange.objects.filter(question=question).select_related("changed_by", "job").order_by("-changed_at")
    return [KeyChangeEntry(c, key_describe(question, c.old), key_describe(question, c.new)) for c in changes]
