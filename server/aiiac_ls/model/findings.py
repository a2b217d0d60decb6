"""Findings, and fixes expressed as semantic edits.

A rule says *what* to change ("set securityContext.runAsNonRoot to true under this container");
the format layer (`aiiac_ls.fixes`) turns that into minimal text edits for YAML or HCL. Rules
therefore never see text, and one fix serves manifests and Terraform alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

from ..secrets import redact_text
from .nodes import Entry, Mapping, Node, Sequence, Span

SEVERITIES = ("low", "medium", "high", "critical")
SEVERITY_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}


# ---- semantic edits --------------------------------------------------------------------------


@dataclass(frozen=True)
class SetPath:
    """Ensure `path` (keys below `mapping`) exists with `value`, creating missing parents."""

    mapping: Mapping
    path: tuple[str, ...]
    value: Any


@dataclass(frozen=True)
class ReplaceValue:
    """Replace the text of an existing value with `value` (keeps the key and its comments)."""

    node: Node
    value: Any


@dataclass(frozen=True)
class RemoveKey:
    """Delete one key (and its value) from a mapping."""

    mapping: Mapping
    key: str


@dataclass(frozen=True)
class AppendItem:
    """YAML: append `value` as the last item of an existing sequence."""

    sequence: Sequence
    value: Any


@dataclass(frozen=True)
class AddBlockAfter:
    """Terraform: insert a new top-level block after the block spanning `after`."""

    after: Span
    text: str


Edit = SetPath | ReplaceValue | RemoveKey | AppendItem | AddBlockAfter


@dataclass(frozen=True)
class Fix:
    """`fallback` is the simpler fix offered when this one cannot be written in the source (a part
    of it is produced by a Helm template action, say)."""

    title: str
    edits: tuple[Edit, ...]
    fallback: Fix | None = None
    unsafe: bool = False  # it can stop a working system: applied only when asked (`--unsafe-fixes`)


def marked_unsafe(fix: Fix | None) -> Fix | None:
    """`fix` and its fallbacks, marked unsafe."""
    if fix is None or fix.unsafe:
        return fix
    return Fix(fix.title, fix.edits, marked_unsafe(fix.fallback), unsafe=True)


# ---- what a rule yields, and what the engine reports ------------------------------------------

Target = Node | Entry | Span


@dataclass
class Hit:
    """A rule's raw result: where (a node, a key entry, or a span), what, and how to fix."""

    at: Target
    message: str
    fix: Fix | None = None
    severity: str | None = None  # overrides the rule's default for this finding
    related: tuple[tuple[Span, str], ...] = ()
    redact: bool = False  # the span holds a secret: never print its text
    # the companion resource types whose absence this finding reports (a bucket without an
    # `aws_s3_bucket_policy`): inside a module, the finding goes where their creation was decided
    missing: tuple[str, ...] = ()
    # the characters of the target value the finding is about (an image's tag): in a string a
    # chart built from several values, the finding goes to the value that wrote that part
    part: tuple[int, int] | None = None
    # the other tools' IDs for what this finding found, when narrower than the rule's (a rule on
    # host namespaces: hostNetwork is CKV_K8S_19 only); suppressions match on these
    equivalents: dict[str, list[str]] | None = None


@dataclass(slots=True)
class Finding:
    """Slotted: a large module has 100,000 of them (a quarter less memory than with a dict each)."""

    rule: str
    severity: str
    title: str
    message: str
    span: Span
    resource: str
    fix: Fix | None = None
    related: tuple[tuple[Span, str], ...] = ()
    equivalents: dict[str, list[str]] = field(default_factory=dict)
    redact: bool = False
    fingerprint: str = ""  # set by report.fingerprints
    # where a suppression comment for it can go: its own line, or the resource's first line when
    # the finding is inside a multi-line string (a heredoc, a YAML block scalar)
    comment_line: int | None = None

    def __post_init__(self) -> None:
        self.message = redact_text(self.message)  # a rule that quotes a value must not leak a token

    @property
    def file(self) -> str:
        return self.span.file

    def with_equivalents(self, equivalents: dict[str, list[str]]) -> Finding:
        """A copy with other equivalents, made without `dataclasses.replace` (a large scan folds
        tens of thousands; its message is redacted already)."""
        copy = object.__new__(Finding)
        for name in Finding.__slots__:
            setattr(copy, name, getattr(self, name))
        copy.equivalents = equivalents
        return copy

    def sort_key(self) -> tuple:
        return SORT_KEY(self)


# findings' order (file, line, column, rule), read in C: the editor sorts the same 7,000
# findings of a 20,000-line module on every keystroke
SORT_KEY = attrgetter("span.file", "span.start_line", "span.start_col", "rule")


@dataclass
class Problem:
    """A file that could not be analysed (fully): syntax error, binary file, too large..."""

    file: str
    message: str
    span: Span | None = None
    kind: str = "error"  # error | syntax | internal | warning | skipped (not read, with the reason)

    def __post_init__(self) -> None:
        self.message = redact_text(self.message)  # parser and exception messages may quote the text

    @property
    def key(self) -> tuple:
        """What makes two problems the same report."""
        return (self.file, self.message, self.span, self.kind)
