"""Custom rules as `Rule` objects, so reports, hovers and suppressions treat them like our own."""

from __future__ import annotations

import re

from ..rules import EQUIVALENT_TOOLS, RULE_ID_PATTERN, Rule, register_custom

_RULE_ID = re.compile(rf"^{RULE_ID_PATTERN}$")


def valid_rule_id(rule_id: str) -> bool:
    """Letters, digits and single separators, at most 64 characters; `AIS` ids are ours."""
    return len(rule_id) <= 64 and bool(_RULE_ID.match(rule_id)) and not rule_id.upper().startswith("AIS")


def custom_rule(
    rule_id: str,
    title: str,
    severity: str,
    origin: str,
    meta: dict | None = None,
    check=None,
    applies_to=None,
    source: str | None = None,
) -> Rule:
    meta = meta or {}
    description = str(meta.get("description") or title)
    docs = (
        f"## What it does\n{description}\n\nCustom rule from `{origin}`.\n\n"
        f"## Why is this bad?\n{meta.get('rationale') or meta.get('description') or title}\n\n"
        f"## Fix\n{meta.get('remediation') or 'See the policy that defines this rule.'}\n"
    )
    rule = Rule(
        id=rule_id.upper(),
        title=title,
        severity=severity,
        applies_to=frozenset(applies_to) if applies_to else None,
        source=source,
        check=check or (lambda resource, context: ()),
        docs=docs,
        equivalents={tool: [] for tool in EQUIVALENT_TOOLS},
        name=rule_id,
        origin=origin,
    )
    register_custom(rule)
    return rule
