"""Suppression hygiene (AIS0xx). The engine reports these while it reads suppression comments;
they are registered as rules so they can be explained, selected, ignored and re-scored."""

from __future__ import annotations

from aiiac_ls.rules import rule


@rule(id="AIS001", title="Suppression without a reason", severity="low", applies_to=(), source=None)
def suppression_without_reason(resource, ctx):
    """## What it does
    Flags `# aiiac:ignore AIS101` comments that give no reason, and `checkov:skip`,
    `tfsec:ignore` and `trivy:ignore` comments without one that silence one of our findings. Another
    scanner's comment that silences nothing of ours is that scanner's business and is left alone.

    ## Why is this bad?
    A suppression is a decision that a risk is acceptable, such as a privileged GPU driver
    DaemonSet. Without the reason, the next reviewer cannot tell an accepted risk from a
    silenced model-theft path, and suppressions outlive the situation that justified them.

    ## Example
    ```yaml
    privileged: true  # aiiac:ignore AIS103
    ```

    Use instead:
    ```yaml
    privileged: true  # aiiac:ignore AIS103 -- NVIDIA driver installer needs host access
    ```

    ## Fix
    Write the reason after the rule IDs, separated by `--`.
    """
    return ()


@rule(id="AIS002", title="Suppression names an unknown rule", severity="low", applies_to=(), source=None)
def suppression_unknown_rule(resource, ctx):
    """## What it does
    Flags `# aiiac:ignore` comments naming a rule ID that does not exist.

    ## Why is this bad?
    A typo in the ID (`AIS10` for `AIS101`) suppresses nothing: the author believes a finding is
    handled while it is still reported, or, worse, believes a guard is in place for a different one.

    ## Example
    ```yaml
    runAsUser: 0  # aiiac:ignore AIS12 -- init container
    ```

    ## Fix
    Use an ID from `aiiac-ls --list-rules`.
    """
    return ()


SUPPRESSION_RULES = ("AIS001", "AIS002")
