"""Building a kustomization in-process, as `kubectl kustomize` does, on the positioned tree.

The order is kustomize's: `resources` (files, and folders built as kustomizations of their own),
`components` (each applied to what is accumulated so far), generators, then the transformers:
`patchesStrategicMerge`, `patches`, `namespace`, `namePrefix`, `nameSuffix`, labels, annotations,
`patchesJson6902`, `replicas`, `images`, `replacements`. At the top, generated names get their
content hash and every reference to a renamed object is updated; objects come out in kustomize's
legacy order. Nothing is fetched: a remote resource is reported, not read.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from ...limits import DEFAULT_LIMITS, Limits
from ...model.nodes import Mapping, Node, Scalar, Sequence, Span, from_plain
from ..source import FileSystem, SourceError, SourceFile
from ..yaml import parse_yaml
from . import KUSTOMIZATION_FILES
from .merge import PatchError, json_patch, strategic_merge
from .replacements import ReplacementError, apply_replacements
from .transform import (
    TEMPLATE_LABELS,
    Config,
    Renamed,
    add_labels,
    content_hash,
    fix_references,
    kind_of,
    legacy_order,
    metadata,
    name_of,
    namespace_of,
    set_images,
    set_namespace,
    set_replicas,
    spec,
)
from .tree import copy, ensure_mapping, shifted, text

MAX_DEPTH = 32  # nested kustomizations
MAX_OBJECTS = 20_000
_REMOTE = re.compile(r"^(https?://|git@|ssh://|git::|github\.com/|gitlab\.com/|bitbucket\.org/)|\?ref=|\.git(//|$)")


def kustomization_file(directory: str, filesystem: FileSystem) -> str | None:
    for name in KUSTOMIZATION_FILES:
        path = os.path.join(directory, name)
        if filesystem.is_file(path):
            return path
    return None


@dataclass
class Built:
    """A build: its objects (in output order) and what the user should know."""

    objects: list[Mapping] = field(default_factory=list)
    # (span or file, message): a build error at the offending line; the build goes on without it
    problems: list[tuple[str, Span | None, str]] = field(default_factory=list)
    remote: list[tuple[Span, str]] = field(default_factory=list)  # remote resources, never fetched
    files: set[str] = field(default_factory=set)  # every file read (absolute): bases, patches, ...
    sources: dict[str, SourceFile] = field(default_factory=dict)  # by display path
    declared_in: dict[int, str] = field(default_factory=dict)  # id(object) -> file that declares it
    syntax_errors: bool = False  # a file it read did not parse (an editor keeps the last good build)


@dataclass
class _Item:
    obj: Mapping
    names: set[str]  # every name it had (name references follow renames)
    namespaces: set[str | None]
    generated: bool = False  # a generator made it: its name gets the content hash
    hashed: bool = True
    behavior: str = "create"
    declared: str = ""  # the file that declares it (display path)


class Builder:
    """Builds kustomizations, reading every file through `filesystem` (the editor's buffers)."""

    def __init__(
        self,
        filesystem: FileSystem | None = None,
        display=lambda path: path,
        limits: Limits = DEFAULT_LIMITS,
        schemas: bool = False,
    ):
        self.filesystem = filesystem or FileSystem()
        self.schemas = schemas  # CustomResourceDefinitions too (printing a build), not only what rules read
        self.display = display
        self.limits = limits
        self._parsed: dict[str, tuple[list[Node], list[SourceError]]] = {}

    def build(self, directory: str) -> Built:
        built = Built()
        self._references = Config()  # every level's nameReference configurations, for the final fix-up
        items = self._accumulate(os.path.abspath(directory), built, [], Config())
        if items is None:
            return built
        for item in items:
            if item.generated and item.hashed:
                meta = ensure_mapping(item.obj, "metadata", item.obj.span)
                node = meta.get("name")
                suffixed = f"{name_of(item.obj)}-{content_hash(item.obj)}"
                meta.set("name", Scalar(suffixed, node.span if node else item.obj.span), meta.entries["name"].key_span)
        renamed = [
            Renamed(kind_of(i.obj), i.names, i.namespaces, i.obj)
            for i in items
            if i.names != {name_of(i.obj)} or i.namespaces != {namespace_of(i.obj)}
        ]
        objects = [item.obj for item in items]
        built.declared_in = {id(item.obj): item.declared for item in items}
        if renamed:
            fix_references(objects, renamed, self._references)
        built.objects = sorted(objects, key=legacy_order)
        return built

    # ---- reading ------------------------------------------------------------------------------

    def _documents(self, path: str, built: Built, where: Span | None) -> list[Node] | None:
        try:
            source = self.filesystem.read(path, self.display(path))
        except SourceError as exc:
            built.problems.append(
                (
                    self.display(path) if where is None else where.file,
                    where,
                    f"cannot read {self.display(path)}: {exc.message}",
                )
            )
            return None
        built.files.add(os.path.abspath(path))
        built.sources[source.path] = source
        key = source.path + "\0" + source.text
        if key not in self._parsed:
            documents, errors = parse_yaml(source, self.limits, schemas=self.schemas)
            self._parsed[key] = ([d.root for d in documents if d.root is not None], errors)
        roots, errors = self._parsed[key]
        for error in errors:  # every build that reads the file says so
            built.problems.append((source.path, error.span, error.message))
            built.syntax_errors = True
        return roots

    def _objects(self, path: str, built: Built, where: Span | None) -> list[Mapping]:
        found: list[Mapping] = []
        for root in self._documents(path, built, where) or []:
            listed = root.get("items") if isinstance(root, Mapping) and kind_of(root).endswith("List") else None
            if isinstance(listed, Sequence):
                found += [_copied(item) for item in listed.items if isinstance(item, Mapping)]
            elif isinstance(root, Mapping) and root.entries:
                found.append(_copied(root))
        return found

    # ---- one kustomization --------------------------------------------------------------------

    def _accumulate(
        self,
        directory: str,
        built: Built,
        stack: list[str],
        config: Config,
        items: list[_Item] | None = None,
    ) -> list[_Item] | None:
        """The items of the kustomization in `directory`, transformed; for a component, `items`
        are those accumulated so far, which it adds to and transforms."""
        path = kustomization_file(directory, self.filesystem)
        shown = self.display(directory)
        if path is None:
            built.problems.append((shown, None, f"no kustomization.yaml in {shown}"))
            return None
        real = os.path.realpath(directory)
        if real in stack:
            chain = " -> ".join(self.display(d) for d in [*stack[stack.index(real) :], real])
            built.problems.append((self.display(path), None, f"kustomizations include each other: {chain}"))
            return None
        if len(stack) >= MAX_DEPTH:
            built.problems.append((self.display(path), None, f"kustomizations nested deeper than {MAX_DEPTH}"))
            return None
        documents = self._documents(path, built, None)
        kustomization = documents[0] if documents else None
        if not isinstance(kustomization, Mapping):
            built.problems.append((self.display(path), None, "the kustomization is empty or not a mapping"))
            return None
        stack = [*stack, real]
        for entry in _strings(kustomization.get("configurations")):
            for document in self._documents(os.path.join(directory, entry.value), built, entry.span) or []:
                if isinstance(document, Mapping):
                    config.extend(document)
        for kind, specs in config.name_references.items():
            known = self._references.name_references.setdefault(kind, [])
            known.extend(s for s in specs if s not in known)
        mine: list[_Item] = list(items or [])
        for entry in _strings(kustomization.get("resources")) + _strings(kustomization.get("bases")):
            self._resource(directory, entry, built, stack, config, mine)
        for entry in _strings(kustomization.get("components")):
            target = os.path.join(directory, entry.value)
            if _REMOTE.search(entry.value):
                built.remote.append((entry.span, entry.value))  # type: ignore[arg-type]
            elif self.filesystem.is_file(target) or not os.path.isdir(target):
                built.problems.append((entry.span.file, entry.span, f"component `{entry.value}` is not a folder"))  # type: ignore[union-attr]
            else:
                result = self._accumulate(target, built, stack, config, mine)
                if result is not None:
                    mine = result
        self._generate(directory, kustomization, built, mine)
        self._transform(directory, kustomization, built, mine, config)
        if len(mine) > MAX_OBJECTS:
            built.problems.append((self.display(path), None, f"more than {MAX_OBJECTS} objects; the rest are left out"))
            del mine[MAX_OBJECTS:]
        return mine

    def _resource(self, directory: str, entry: Scalar, built: Built, stack: list[str], config, items: list[_Item]):
        value = str(entry.value)
        if _REMOTE.search(value):
            built.remote.append((entry.span, value))  # type: ignore[arg-type]
            return
        target = os.path.normpath(os.path.join(directory, value))
        if os.path.isdir(target):
            own = Config()
            result = self._accumulate(target, built, stack, own)
            if result is not None:
                items.extend(result)
                config.merge(own)  # its configurations serve this level's transformers too
            return
        if not self.filesystem.is_file(target):
            built.problems.append((entry.span.file, entry.span, f"resource `{value}` not found"))  # type: ignore[union-attr]
            return
        for obj in self._objects(target, built, entry.span):
            items.append(_Item(obj, {name_of(obj)}, {namespace_of(obj)}, declared=self.display(target)))

    # ---- generators ---------------------------------------------------------------------------

    def _generate(self, directory: str, kustomization: Mapping, built: Built, items: list[_Item]) -> None:
        options = kustomization.get("generatorOptions")
        for kind, key in (("ConfigMap", "configMapGenerator"), ("Secret", "secretGenerator")):
            generators = kustomization.get(key)
            for generator in generators.items if isinstance(generators, Sequence) else []:
                if isinstance(generator, Mapping):
                    self._generated(directory, kind, generator, options, built, items)
        charts = kustomization.get("helmCharts")
        for chart in charts.items if isinstance(charts, Sequence) else []:
            if isinstance(chart, Mapping):
                self._helm_chart(directory, kustomization, chart, built, items)

    def _generated(self, directory, kind, generator: Mapping, global_options, built: Built, items: list[_Item]):
        name = text(generator.get("name"))
        span = generator.head or generator.span
        if not name:
            built.problems.append((span.file, span, f"a {kind} generator needs a `name`"))  # type: ignore[union-attr]
            return
        data = Mapping(generator.span, style="block", head=span)
        for literal in _strings(generator.get("literals")):
            key, _, value = str(literal.value).partition("=")
            data.set(key.strip(), Scalar(_unquote(value), literal.span), literal.span)
        for env in _strings(generator.get("envs")) + _strings(generator.get("env")):
            source = self._text(os.path.join(directory, env.value), built, env.span)
            for line in (source or "").splitlines():
                line = line.strip()
                if line and not line.startswith("#") and "=" in line:
                    key, _, value = line.partition("=")
                    data.set(key.strip(), Scalar(value, env.span), env.span)
        for file_entry in _strings(generator.get("files")):
            key, _, relative = str(file_entry.value).rpartition("=")
            relative = relative.strip()
            content = self._text(os.path.join(directory, relative), built, file_entry.span)
            if content is not None:
                data.set(key.strip() or os.path.basename(relative), Scalar(content, file_entry.span), file_entry.span)
        if kind == "Secret":
            import base64

            for key, entry in data.entries.items():
                encoded = base64.b64encode(str(entry.value.plain()).encode()).decode()
                data.set(key, Scalar(encoded, entry.value.span), entry.key_span)
        behavior = text(generator.get("behavior")) or "create"
        namespace = text(generator.get("namespace"))
        merged_options = _options(global_options, generator.get("options"))
        obj = from_plain({"apiVersion": "v1", "kind": kind, "metadata": {"name": name}}, span, yaml=True)
        assert isinstance(obj, Mapping)
        meta = metadata(obj)
        assert meta is not None
        if namespace:
            meta.set("namespace", Scalar(namespace, span), span)
        for meta_key in ("labels", "annotations"):
            pairs = merged_options.get(meta_key) or {}
            if pairs:
                meta.set(meta_key, from_plain(pairs, span, yaml=True), span)
        if data.entries:
            obj.set("data", data, span)
        if kind == "Secret":
            obj.set("type", Scalar(text(generator.get("type")) or "Opaque", span), span)
        hashed = not merged_options.get("disableNameSuffixHash", False)
        if behavior in ("merge", "replace"):
            existing = next(
                (
                    i
                    for i in items
                    if kind_of(i.obj) == kind
                    and name_of(i.obj) == name
                    and (not namespace or namespace_of(i.obj) == namespace)
                ),
                None,
            )
            if existing is None:
                built.problems.append((span.file, span, f"{kind} `{name}` to {behavior} is not defined"))  # type: ignore[union-attr]
                return
            if behavior == "replace":
                existing.obj.set("data", data, span)
            else:
                base = existing.obj.get("data")
                merged = base if isinstance(base, Mapping) else ensure_mapping(existing.obj, "data", span)
                for key, entry in data.entries.items():
                    merged.set(key, entry.value, entry.key_span)
            existing.hashed = existing.hashed and hashed
            return
        declared = span.file  # type: ignore[union-attr]
        items.append(
            _Item(obj, {name}, {namespace}, generated=True, hashed=hashed, behavior=behavior, declared=declared)
        )

    def _helm_chart(self, directory: str, kustomization: Mapping, chart: Mapping, built: Built, items: list[_Item]):
        name = text(chart.get("name"))
        span = chart.head or chart.span
        globals_ = kustomization.get("helmGlobals")
        home = text(globals_.get("chartHome")) if isinstance(globals_, Mapping) else None
        root = os.path.join(directory, home or "charts", name or "")
        if not name or not self.filesystem.is_file(os.path.join(root, "Chart.yaml")):
            built.remote.append((span, f"helm chart {name or '?'} (not in {self.display(root)})"))  # type: ignore[arg-type]
            return
        values = [os.path.join(directory, v.value) for v in _strings(chart.get("valuesFile"))]
        inline = chart.get("valuesInline")
        from ..helm.chart import RenderOptions, render_chart

        options = RenderOptions(
            release_name=text(chart.get("releaseName")) or "release-name",
            namespace=text(chart.get("namespace")) or "default",
            values_files=tuple(v for v in values if self.filesystem.is_file(v)),
            value_overrides=(inline,) if isinstance(inline, Mapping) else (),
            limits=self.limits,
        )
        render = render_chart(root, options, display=self.display, filesystem=self.filesystem)
        built.files.add(os.path.abspath(os.path.join(root, "Chart.yaml")))
        for source in render.sources.values():
            built.sources.setdefault(source.path, source)
            built.files.add(os.path.abspath(source.path))
        for problem in render.problems:
            built.problems.append((problem.path, problem.span, problem.message))
        objects = [resource.body for resource in render.resources]
        for obj in objects:
            declared = obj.span.file if obj.span else self.display(root)
            items.append(_Item(obj, {name_of(obj)}, {namespace_of(obj)}, declared=declared))

    def _text(self, path: str, built: Built, where: Span | None) -> str | None:
        try:
            source = self.filesystem.read(path, self.display(path))
        except SourceError as exc:
            built.problems.append(
                (where.file if where else self.display(path), where, f"cannot read {self.display(path)}: {exc.message}")
            )
            return None
        built.files.add(os.path.abspath(path))
        built.sources[source.path] = source
        return source.text

    # ---- transformers -------------------------------------------------------------------------

    def _transform(self, directory: str, kustomization: Mapping, built: Built, items: list[_Item], config: Config):
        for entry in _entries(kustomization.get("patchesStrategicMerge")):
            self._patch(directory, entry, None, built, items, strategic=True)
        patches = kustomization.get("patches")
        for patch in patches.items if isinstance(patches, Sequence) else []:
            if isinstance(patch, Mapping):
                target = patch.get("target")
                self._patch(
                    directory, patch, target if isinstance(target, Mapping) else None, built, items, strategic=None
                )
        objects = [item.obj for item in items]
        namespace = kustomization.get("namespace")
        if isinstance(namespace, Scalar) and namespace.value:
            set_namespace(objects, str(namespace.value), namespace.span, config)
        for key in ("namePrefix", "nameSuffix"):
            affix = kustomization.get(key)
            if isinstance(affix, Scalar) and affix.value:
                self._affix(items, str(affix.value), affix.span, key == "namePrefix")
        common = kustomization.get("commonLabels")
        if isinstance(common, Mapping) and common.entries:
            add_labels(objects, _pairs(common), config.common_labels)
        labels = kustomization.get("labels")
        for entry in labels.items if isinstance(labels, Sequence) else []:
            if isinstance(entry, Mapping) and isinstance(entry.get("pairs"), Mapping):
                selectors = entry.get("includeSelectors")
                templates = entry.get("includeTemplates")
                if isinstance(selectors, Scalar) and selectors.value is True:
                    specs = config.common_labels
                else:
                    specs = [spec("metadata/labels", create=True)]
                    if isinstance(templates, Scalar) and templates.value is True:
                        specs += TEMPLATE_LABELS
                add_labels(objects, _pairs(entry.get("pairs")), specs)  # type: ignore[arg-type]
        annotations = kustomization.get("commonAnnotations")
        if isinstance(annotations, Mapping) and annotations.entries:
            add_labels(objects, _pairs(annotations), config.common_annotations)
        legacy = kustomization.get("patchesJson6902")
        for patch in legacy.items if isinstance(legacy, Sequence) else []:
            if isinstance(patch, Mapping):
                target = patch.get("target")
                self._patch(
                    directory, patch, target if isinstance(target, Mapping) else None, built, items, strategic=False
                )
        replicas = kustomization.get("replicas")
        if isinstance(replicas, Sequence):
            set_replicas(
                [(item.obj, item.names) for item in items], [r for r in replicas.items if isinstance(r, Mapping)]
            )
        images = kustomization.get("images")
        if isinstance(images, Sequence):
            set_images([item.obj for item in items], [i for i in images.items if isinstance(i, Mapping)])
        replacement_list = self._replacements(directory, kustomization.get("replacements"), built)
        if replacement_list:
            try:
                apply_replacements([item.obj for item in items], replacement_list, {id(i.obj): i.names for i in items})
            except ReplacementError as exc:
                where = kustomization.get("replacements")
                span = where.span if where is not None else None
                built.problems.append((span.file if span else "", span, str(exc)))

    def _replacements(self, directory: str, node: Node | None, built: Built) -> list[Mapping]:
        found: list[Mapping] = []
        for entry in node.items if isinstance(node, Sequence) else []:
            path_node = entry.get("path") if isinstance(entry, Mapping) else None
            if isinstance(path_node, Scalar):
                for document in (
                    self._documents(os.path.join(directory, str(path_node.value)), built, path_node.span) or []
                ):
                    if isinstance(document, Mapping):
                        found.append(document)
                    elif isinstance(document, Sequence):
                        found += [d for d in document.items if isinstance(d, Mapping)]
            elif isinstance(entry, Mapping):
                found.append(entry)
        return found

    def _affix(self, items: list[_Item], affix: str, span: Span | None, prefix: bool) -> None:
        for item in items:
            kind = kind_of(item.obj)
            if kind in ("CustomResourceDefinition", "Namespace", "APIService"):
                continue
            meta = metadata(item.obj)
            node = meta.get("name") if meta else None
            if meta is None or not isinstance(node, Scalar):
                continue
            name = str(node.value)
            new = f"{affix}{name}" if prefix else f"{name}{affix}"
            item.names.add(name)
            meta.set("name", Scalar(new, node.span, style=node.style), meta.entries["name"].key_span)

    def _patch(self, directory: str, patch: Node, target: Mapping | None, built: Built, items: list[_Item], strategic):
        """One entry of `patches` (strategic merge or JSON 6902, decided by its content when
        `strategic` is None), `patchesStrategicMerge` or `patchesJson6902`."""
        documents = self._patch_documents(directory, patch, built)
        if documents is None:
            return
        where = (patch.head or patch.span) if isinstance(patch, Mapping) else patch.span
        assert where is not None
        for document in documents:
            is_json = isinstance(document, Sequence) if strategic is None else not strategic
            if is_json:
                if not isinstance(document, Sequence):
                    built.problems.append((where.file, where, "a JSON 6902 patch must be a list of operations"))
                    continue
                chosen = [item for item in items if target is not None and _matches(item.obj, target, item.names)]
                if target is None:
                    built.problems.append((where.file, where, "a JSON 6902 patch needs a `target`"))
                for item in chosen:
                    try:
                        item.obj = json_patch(item.obj, document)
                    except PatchError as exc:
                        span = document.span or where
                        built.problems.append((span.file, span, f"JSON patch on {_describe(item.obj)}: {exc}"))
                continue
            if not isinstance(document, Mapping):
                continue
            chosen = (
                [item for item in items if _matches(item.obj, target)]
                if target is not None
                else _same_object(items, document)
            )
            if not chosen and target is None:
                span = document.head or document.span or where
                built.problems.append(
                    (span.file, span, f"patch target {_describe(document)} is not among the resources")
                )
            for item in chosen:
                try:
                    merged = strategic_merge(item.obj, _retargeted(document), kind_of(item.obj))
                except PatchError as exc:
                    span = document.span or where
                    built.problems.append((span.file, span, f"patch on {_describe(item.obj)}: {exc}"))
                    continue
                if merged is None:
                    items.remove(item)
                else:
                    item.obj = merged

    def _patch_documents(self, directory: str, patch: Node, built: Built) -> list[Node] | None:
        if isinstance(patch, Scalar) and isinstance(patch.value, str):  # a path, or an inline patch (legacy list)
            if "\n" in patch.value or patch.value.lstrip().startswith(("{", "[", "apiVersion", "-")):
                return self._inline(patch, built)
            return self._documents(os.path.join(directory, patch.value), built, patch.span)
        if not isinstance(patch, Mapping):
            return None
        path = patch.get("path")
        if isinstance(path, Scalar) and isinstance(path.value, str):
            documents = self._documents(os.path.join(directory, path.value), built, path.span)
            return documents
        inline = patch.get("patch")
        if isinstance(inline, Scalar) and isinstance(inline.value, str):
            return self._inline(inline, built)
        span = patch.head or patch.span
        built.problems.append((span.file, span, "a patch needs `path` or `patch`"))  # type: ignore[union-attr]
        return None

    def _inline(self, node: Scalar, built: Built) -> list[Node]:
        """A patch written inside kustomization.yaml (`patch: |-`), positioned where it is written."""
        assert node.span is not None
        source = SourceFile(node.span.file, str(node.value))
        documents, errors = parse_yaml(source, self.limits)
        block = node.style in ("|", ">") or (node.span.end_line > node.span.start_line and node.style not in ('"', "'"))
        line = node.span.start_line + (1 if block else 0)
        column = _block_indent(built.sources.get(node.span.file), line) if block else node.span.start_col
        for error in errors:
            built.syntax_errors = True
            span = error.span
            moved = (
                Span(
                    node.span.file,
                    span.start_line + line,
                    span.start_col + column,
                    span.end_line + line,
                    span.end_col + column,
                )
                if span
                else node.span
            )
            built.problems.append((node.span.file, moved, f"inline patch: {error.message}"))
        return [shifted(d.root, node.span.file, line, column) for d in documents if d.root is not None]


# ---- helpers ----------------------------------------------------------------------------------------


def _copied(obj: Mapping) -> Mapping:
    result = copy(obj)
    assert isinstance(result, Mapping)
    return result


def _strings(node: Node | None) -> list[Scalar]:
    return (
        [i for i in node.items if isinstance(i, Scalar) and isinstance(i.value, str)]
        if isinstance(node, Sequence)
        else []
    )


def _entries(node: Node | None) -> list[Node]:
    return list(node.items) if isinstance(node, Sequence) else []


def _pairs(node: Mapping) -> dict[str, tuple[str, Span | None]]:
    return {
        key: ("" if entry.value.plain() is None else _string(entry.value.plain()), entry.value.span)
        for key, entry in node.entries.items()
    }


def _string(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def _options(global_options: Node | None, own: Node | None) -> dict:
    merged: dict = {"labels": {}, "annotations": {}, "disableNameSuffixHash": False}
    for options in (global_options, own):
        if not isinstance(options, Mapping):
            continue
        for key in ("labels", "annotations"):
            value = options.get(key)
            if isinstance(value, Mapping):
                merged[key].update({k: _string(v.plain()) for k, v in value.items()})
        flag = options.get("disableNameSuffixHash")
        if isinstance(flag, Scalar) and isinstance(flag.value, bool):
            merged["disableNameSuffixHash"] = flag.value
    return merged


def _block_indent(source: SourceFile | None, line: int) -> int:
    if source is None:
        return 0
    text_line = source.line(line)
    return len(text_line) - len(text_line.lstrip(" "))


def _describe(obj: Mapping) -> str:
    return f"{kind_of(obj) or '?'}/{name_of(obj) or '?'}"


def _same_object(items: list[_Item], patch: Mapping) -> list[_Item]:
    """The object a strategic-merge patch without a target names: same kind and name (and
    namespace, when the patch gives one); names it had before a prefix count."""
    kind, name, namespace = kind_of(patch), name_of(patch), namespace_of(patch)
    return [
        item
        for item in items
        if kind_of(item.obj) == kind
        and (name == name_of(item.obj) or name in item.names)
        and (namespace is None or namespace == namespace_of(item.obj) or namespace in item.namespaces)
    ][:1]


def _retargeted(patch: Mapping) -> Mapping:
    """The patch without what identifies its target: the object keeps its own (current) name,
    namespace and kind, whether the patch named it as it was before a prefix or by `target`."""
    result = Mapping(patch.span, style=patch.style, indent=patch.indent, head=patch.head)
    for key, entry in patch.entries.items():
        if key in ("apiVersion", "kind"):
            continue
        if key == "metadata" and isinstance(entry.value, Mapping):
            meta = Mapping(entry.value.span, style=entry.value.style, indent=entry.value.indent, head=entry.value.head)
            for meta_key, meta_entry in entry.value.entries.items():
                if meta_key not in ("name", "namespace"):
                    meta.set(meta_key, meta_entry.value, meta_entry.key_span)
            result.set(key, meta, entry.key_span)
        else:
            result.set(key, entry.value, entry.key_span)
    return result


def _matches(obj: Mapping, target: Mapping, names: set[str] = frozenset()) -> bool:  # type: ignore[assignment]
    """A patch `target`: kind, name (a regular expression), namespace, group, version,
    labelSelector and annotationSelector (`a=b,c!=d,e`)."""
    api = text(obj.get("apiVersion")) or ""
    group, _, version = api.rpartition("/")
    checks = {"kind": kind_of(obj), "namespace": namespace_of(obj) or "", "group": group, "version": version}
    for key, actual in checks.items():
        wanted = text(target.get(key))
        if wanted is not None and not _regex_match(wanted, actual):
            return False
    wanted_name = text(target.get("name"))
    if wanted_name is not None and not any(_regex_match(wanted_name, n) for n in {name_of(obj), *names}):
        return False
    meta = metadata(obj)
    for key, field_name in (("labelSelector", "labels"), ("annotationSelector", "annotations")):
        selector = text(target.get(key))
        if selector is None:
            continue
        values = meta.get(field_name) if meta else None
        present = {k: _string(v.plain()) for k, v in values.items()} if isinstance(values, Mapping) else {}
        if not _selector_matches(selector, present):
            return False
    return True


def _regex_match(pattern: str, value: str) -> bool:
    try:
        return re.fullmatch(pattern, value) is not None
    except re.error:
        return pattern == value


def _selector_matches(selector: str, present: dict[str, str]) -> bool:
    for term in (t.strip() for t in selector.split(",") if t.strip()):
        if "!=" in term:
            key, value = (part.strip() for part in term.split("!=", 1))
            if present.get(key) == value:
                return False
        elif "=" in term:
            key, value = (part.strip() for part in term.replace("==", "=").split("=", 1))
            if present.get(key) != value:
                return False
        elif term.startswith("!"):
            if term[1:] in present:
                return False
        elif term not in present:
            return False
    return True
