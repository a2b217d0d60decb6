"""Where a finding is reported: a rule hits a node, an entry or a span; the report needs a span
in the file the user edits. And which fixes can be written into a translated resource."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from ..model.findings import AddBlockAfter, AppendItem, Fix, Hit, RemoveKey, ReplaceValue, SetPath
from ..model.nodes import Entry, Mapping, Node, Scalar, Sequence, Span, decided_at
from ..model.resources import CallSite, Resource


def writable_fix(fix: Fix | None) -> Fix | None:
    """For a translated resource: the fix (or its fallback) if it only replaces values or removes
    keys, edits made on the nodes' own spans; None when it would have to spell a new key."""
    while fix is not None and not all(isinstance(edit, (ReplaceValue, RemoveKey)) for edit in fix.edits):
        fix = fix.fallback
    return fix


def locate(target) -> Span | None:
    """The span a finding is reported at: a key with its value when on one line, a block's header."""
    if isinstance(target, Span):
        return target
    if isinstance(target, Entry):
        key, value = target.key_span, target.value.span
        if key is not None and value is not None and key.file != value.file:
            return value  # a chart value written in values.yaml: report where the user changes it
        if (
            key is not None
            and value is not None
            and key.start_line == value.end_line
            and not isinstance(target.value, (Mapping, Sequence))
        ):
            return Span(key.file, key.start_line, key.start_col, value.end_line, value.end_col)
        return key or value
    if isinstance(target, Mapping):
        return target.head or target.span
    if isinstance(target, Sequence) and target.style == "hcl-blocks" and target.items:
        first = target.items[0]
        return getattr(first, "head", None) or first.span
    if isinstance(target, Node):
        return target.span
    return None


# ---- findings inside Terraform module instances -------------------------------------------------

_HCL_LITERAL = re.compile(r'(true|false|null|-?\d+(\.\d+)?|"[^"$%\\]*")')


@dataclass
class Placed:
    """A finding inside a module instance, moved to where the user changes it."""

    span: Span
    message: str
    related: tuple[tuple[Span, str], ...]
    fix: Fix | None


def in_caller(
    resource: Resource,
    hit: Hit,
    span: Span,
    fix: Fix | None,
    text_at: Callable[[Span], str | None],
) -> Placed:
    """Where a finding on `hit.at` (located at `span`) in a resource of a module instance goes.

    The value that decided it is followed out of the module: to the caller's input it was
    copied or computed from, or, when a module's variable default or (installed) code decided
    it, to that call's block, naming the input. Code of a local module the user wrote stays
    where it is written. The module's own location becomes related information; a fix is kept
    only when it can be written where the finding lands (the caller's literal, or a new input)."""
    site = resource.site
    assert site is not None
    node = hit.at.value if isinstance(hit.at, Entry) else hit.at
    candidates = decided_at(node) if isinstance(node, Node) else ()
    if not candidates:  # a missing companion: what decided the module would not create it
        for kind in hit.missing:
            if kind in site.skipped:
                candidates = decided_at(site.skipped[kind])
                break
    sites = site.chain()
    current = span
    written = [at for at in candidates if not any(step.contains(at.file) for step in sites)]
    if written:
        current = written[0]  # the caller's (or its tfvars') value
    elif candidates and (site.installed or _defaults_named(site, candidates)):
        current = candidates[0]
    related: list[tuple[Span, str]] = []
    message = hit.message
    names: list[str] = []
    landed_on: CallSite | None = None
    for step in sites:
        if not step.contains(current.file):
            continue  # decided by a caller further out: it answers below, or it is the user's file
        names = _defaults_named(step, [current, *candidates]) if step is site else _defaults_named(step, [current])
        if not names and not step.installed:
            break  # the user's own module code: reported where it is written
        if names:
            for name in names:
                default = next(at for at, named in step.defaults.items() if named == name)
                related.append((default, f"default of input `{name}` of {step.address}"))
        elif current != span:
            related.append((current, f"decided inside {step.address} (installed module code)"))
        current = step.head
        landed_on = step
    where = span if site.contains(span.file) else resource.head
    if current == span:
        inside = () if span.file == resource.file else ((where, f"{resource.address}, in {site.module_dir}"),)
        return Placed(span, message, inside, _writable(fix, site))
    related.insert(0, (where, f"{resource.address}, in {site.module_dir}"))
    if names and landed_on is not None and current == landed_on.head:
        inputs = ", ".join(f"`{name}`" for name in names[:3]) + (", ..." if len(names) > 3 else "")
        message = f"{message} (decided by the default of input {inputs}: set it in this call)"
    translated = _translated(fix, current, names, landed_on if names else None, text_at)
    return Placed(current, message, tuple(dict.fromkeys(related)), translated)


def _defaults_named(site: CallSite, spans) -> list[str]:
    """The variables whose `default` holds one of `spans`, in order, each once."""
    names: list[str] = []
    for at in spans:
        name = _default_of(site, at)
        if name is not None and name not in names:
            names.append(name)
    return names


def _default_of(site: CallSite, span: Span) -> str | None:
    """The variable whose `default` expression holds `span`."""
    for default, name in site.defaults.items():
        if default.file == span.file and (default.start_line, default.start_col) <= (span.start_line, span.start_col):
            if (span.end_line, span.end_col) <= (default.end_line, default.end_col):
                return name
    return None


def _writable(fix: Fix | None, site: CallSite) -> Fix | None:
    """The fix (or its fallback) if it edits no installed module's files."""
    installed = [step for step in site.chain() if step.installed]
    while fix is not None and any(
        step.contains(file) for edit in fix.edits for file in _files(edit) for step in installed
    ):
        fix = fix.fallback
    return fix


def in_piece(resource: Resource, hit: Hit, span: Span, related, fix: Fix | None):
    """A finding about part of a string a chart built from several values (the tag of
    `{{ .Values.image.repository }}:{{ .Values.image.tag }}`): reported on the values node that
    wrote that part, with the rendered string as related information. A value fix is written
    there when the rest of the string stays as it is."""
    node = hit.at.value if isinstance(hit.at, Entry) else hit.at
    pieces = resource.pieces.get(id(node)) if isinstance(node, Node) else None
    assert hit.part is not None
    start, end = hit.part
    piece = next((p for p in pieces or () if p[0] <= start and end <= p[1]), None)
    values = piece[2] if piece is not None else None
    if piece is None or values is None or values.span is None:
        return span, related, fix
    low, high = piece[0], piece[1]
    if fix is not None and len(fix.edits) == 1 and isinstance(fix.edits[0], ReplaceValue) and fix.edits[0].node is node:
        old, new = str(getattr(node, "value", "")), str(fix.edits[0].value)
        tail = len(old) - high
        if new.startswith(old[:low]) and new.endswith(old[high:]) and len(new) >= low + tail:
            fix = Fix(fix.title, (ReplaceValue(values, new[low : len(new) - tail]),))
        else:
            fix = None
    else:
        fix = None
    return values.span, (*related, (span, "the string it is part of")), fix


def literal_replacements(fix: Fix | None, text_at: Callable[[Span], str | None]) -> Fix | None:
    """A Terraform fix whose value replacements all land on literals: a value written through a
    variable is replaced where it is set in a `.tfvars` file; one from a variable default, a local
    or an expression has no fix (never an expression turned into a literal). Falls back down the
    chain; None when nothing is left."""
    while fix is not None:
        edits: list = []
        for edit in fix.edits:
            if not isinstance(edit, ReplaceValue) or edit.node.span is None:
                edits.append(edit)
                continue
            origin = edit.node.origin
            if isinstance(origin, Span) and origin.file.endswith(".tfvars"):
                if _HCL_LITERAL.fullmatch((text_at(origin) or "").strip()):
                    edits.append(ReplaceValue(Scalar(getattr(edit.node, "value", None), origin), edit.value))
                    continue
                break
            text = (text_at(edit.node.span) or "").strip()
            if origin is None and _pure_insertion(text, getattr(edit.node, "value", None), edit.value):
                edits.append(edit)  # `"${aws_s3_bucket.m.arn}/*"` -> `".../models/x/*"`: the reference stays
                continue
            if origin is not None or not _HCL_LITERAL.fullmatch(text):
                break
            edits.append(edit)
        else:
            return Fix(fix.title, tuple(edits), fix.fallback, unsafe=fix.unsafe)
        fix = fix.fallback
    return None


def _pure_insertion(text: str, old, new) -> bool:
    """A template string (`"${...}/*"`) whose new value only inserts characters: written as an
    insertion, the interpolations stay as they are."""
    if not (text.startswith('"') and "${" in text and isinstance(old, str) and isinstance(new, str)):
        return False
    prefix = 0
    while prefix < min(len(old), len(new)) and old[prefix] == new[prefix]:
        prefix += 1
    return len(new) > len(old) and new[len(new) - (len(old) - prefix) :] == old[prefix:]


def in_one_file(fix: Fix | None, file: str) -> Fix | None:
    """The fix (or its fallback) if it edits only `file`: a fix for a kustomize build edits the
    file the finding is in (the patch, the overlay), never a base other overlays share."""
    while fix is not None and any(other != file for edit in fix.edits for other in _files(edit)):
        fix = fix.fallback
    return fix


def _files(edit) -> list[str]:
    if isinstance(edit, ReplaceValue):
        return [edit.node.span.file] if edit.node.span else []
    if isinstance(edit, (SetPath, RemoveKey)):
        return [edit.mapping.span.file] if edit.mapping.span else []
    if isinstance(edit, AppendItem):
        return [edit.sequence.span.file] if edit.sequence.span else []
    if isinstance(edit, AddBlockAfter):
        return [edit.after.file]
    return []


def _translated(fix, landed: Span, names: list[str], site: CallSite | None, text_at) -> Fix | None:
    """The fix rewritten for where the finding landed: the value replaced in the caller's
    literal it was copied from, or the input set on the call when its default decided it.
    Never an expression turned into a literal: anything else has no fix."""
    while fix is not None:
        if len(fix.edits) == 1 and isinstance(fix.edits[0], ReplaceValue):
            edit = fix.edits[0]
            origin = edit.node.origin
            if isinstance(origin, Span):  # copied unchanged from a literal (not Decided)
                if origin == landed and _HCL_LITERAL.fullmatch((text_at(origin) or "").strip()):
                    copy = Scalar(getattr(edit.node, "value", None), origin)
                    return Fix(fix.title, (ReplaceValue(copy, edit.value),))
                if site is not None and names == [site.defaults.get(origin)]:
                    return Fix(
                        f"Set input `{names[0]}` of {site.address}", (SetPath(site.block, (names[0],), edit.value),)
                    )
        fix = fix.fallback
    return None
