"""Terraform modules: the `.tf` files of one folder, evaluated into resources.

A module instance binds variables (module call inputs, then tfvars / `--var-file`, then
defaults), evaluates locals lazily with cycle detection, resolves references to its own resources,
data sources (`aws_iam_policy_document` becomes the policy JSON tree, positions kept) and local
child modules (`source = "./modules/x"`, loaded with their inputs), and expands `count`,
`for_each` and `dynamic` blocks where their collections are known.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field

import tree_sitter

from ..model.nodes import Mapping, Node, Scalar, Sequence, Span, Unknown
from ..model.resources import CallSite, Resource
from .hcl.evaluate import Env, Evaluator, iterate, to_str
from .hcl.functions import builtin_functions
from .hcl.syntax import HclFile
from .providers import computed_attribute, decode_policies, rendered_data_attribute
from .source import FileSystem
from .terraform_modules import ModuleResolver

MAX_INSTANCES = 16
# a module call's `source` written as a local path (the engine also groups folders by it)
_SOURCE_ASSIGNMENT = re.compile(r'source\s*=\s*"(\.{1,2}/[^"]*)"')


def local_module_sources(text: str) -> list[str]:
    """The local paths of `text`'s module calls (`source = "./x"`, `"../x"`). The pattern
    starts with its literal, which the regex engine finds by a fast scan, and the word boundary
    before it (not `data_source =`) is checked here: a leading `\\b` made the scan 40x slower,
    8 ms per 20,000-line file, paid on every keystroke."""
    found = []
    for match in _SOURCE_ASSIGNMENT.finditer(text):
        before = text[match.start() - 1] if match.start() else " "
        if not (before.isalnum() or before == "_"):
            found.append(match.group(1))
    return found


_VARIABLE_REFERENCE = re.compile(rb"(?<![\w.])var\.([A-Za-z_][A-Za-z0-9_-]*)")
_REFERENCE = re.compile(rb"(?<![\w.])([a-z][a-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_-]*)")
MAX_MODULE_DEPTH = 8
_FUNCTIONS = builtin_functions()


@dataclass
class ModuleFiles:
    directory: str  # real path on disk
    display_dir: str
    tf: list[HclFile] = field(default_factory=list)
    tfvars: list[HclFile] = field(default_factory=list)


@dataclass
class ModuleCall:
    name: str
    source: str
    child_dir: str | None  # the module's folder (real path), or None when not found
    span: Span  # the `source` value (the block's header when there is none)
    installed: bool = False  # from `terraform init` or a module folder
    missing: str | None = None  # why child_dir is None
    version: str = ""


def _block_parts(hcl: HclFile, block: tree_sitter.Node):
    """(type, labels, body node or None) of a block, computed once per parse."""
    cache = hcl.memo.setdefault("block_parts", {})
    found = cache.get(block.id)
    if found is None:
        found = cache[block.id] = _read_block_parts(hcl, block)
    return found


def _read_block_parts(hcl: HclFile, block: tree_sitter.Node):
    kind, labels, body_index = _block_shape(hcl, block)
    return kind, labels, block.child(body_index) if body_index is not None else None


def _block_shape(hcl: HclFile, block: tree_sitter.Node) -> tuple[str, list[str], int | None]:
    """(type, labels, index of the body among the block's children): all of it follows from the
    block's text, so it is carried from one parse of a file to the next by text."""
    kind = ""
    labels: list[str] = []
    body_index = None
    for index, child in enumerate(block.children):
        if child.type == "identifier" and not kind:
            kind = hcl.text(child)
        elif child.type == "string_lit":
            labels.append("".join(hcl.text(c) for c in child.children if c.type == "template_literal"))
        elif child.type == "identifier":
            labels.append(hcl.text(child))
        elif child.type == "body":
            body_index = index
    return kind, labels, body_index


def top_level_blocks(hcl: HclFile) -> list[tuple[tree_sitter.Node, str, list[str], tree_sitter.Node | None]]:
    """(block, type, labels, body) of a file's top-level blocks, computed once per parse. A block
    whose text the previous parse of the file had too takes its type and labels from there: a
    keystroke in a 20,000-line file reads the children of one block, not of 2,400."""
    found = hcl.memo.get("top_level_blocks")
    if found is None:
        body = next((c for c in hcl.root.children if c.type == "body"), None)
        blocks = _children(body, "block")
        if hcl.root.has_error:  # mid-edit: only what stands before the first error is read as written
            first = hcl.first_error_byte()
            blocks = [block for block in blocks if block.end_byte <= first and not block.has_error]
        before: dict[bytes, tuple] = hcl.inherited.get("block_shapes", {})
        shapes: dict[bytes, tuple] = {}
        parts = hcl.memo.setdefault("block_parts", {})
        found = []
        data = hcl.data
        for block in blocks:
            text = data[block.start_byte : block.end_byte]
            shape = before.get(text) or shapes.get(text)
            if shape is None:
                shape = _block_shape(hcl, block)
            shapes[text] = shape
            kind, labels, body_index = shape
            parts[block.id] = block_parts = (kind, labels, block.child(body_index) if body_index is not None else None)
            found.append((block, *block_parts))
        hcl.memo["top_level_blocks"] = found
        hcl.memo.setdefault("carry", {})["block_shapes"] = shapes
        hcl.inherited = {}  # read: the previous parse's texts are not kept any longer
    return found


def _header_span(hcl: HclFile, block: tree_sitter.Node) -> Span:
    last = block.children[0]
    for child in block.children:
        if child.type in ("block_start", "body"):
            break
        last = child
    start = hcl.span(block)
    end = hcl.span(last)
    return Span(hcl.path, start.start_line, start.start_col, end.end_line, end.end_col)


def _children(body: tree_sitter.Node | None, kind: str):
    if body is None:
        return []
    return [child for child in body.children if child.type == kind]


def _attributes(hcl: HclFile, body: tree_sitter.Node | None):
    """(name, name node, expression node) of each attribute in a body, computed once per parse."""
    if body is None:
        return ()
    cache = hcl.memo.setdefault("attributes", {})
    found = cache.get(body.id)
    if found is None:
        found = []
        for attribute in _children(body, "attribute"):
            name_node = attribute.children[0]
            expression = next((c for c in attribute.children if c.type == "expression"), None)
            if expression is not None:
                found.append((hcl.text(name_node), name_node, expression))
        cache[body.id] = found = tuple(found)
    return found


@dataclass
class ModuleMemory:
    """What the editor keeps of a root module between analyses (`ParseCache.evaluations`, by
    folder), each part only as the latest analysis used it."""

    blocks: dict = field(default_factory=dict)  # block key (`_block_key`) -> evaluated instances
    names: dict[bytes, list] = field(default_factory=dict)  # block text -> the names it mentions
    files_read: dict[str, str] = field(default_factory=dict)  # path -> the text `file()` read


class ModuleInstance:
    """One instance of a module: a root module, or a child module under `module.<name>.`."""

    def __init__(
        self,
        project: TerraformProject,
        files: ModuleFiles,
        prefix: str = "",
        inputs: dict[str, Node] | None = None,
        depth: int = 0,
        var_files: list[HclFile] | None = None,
        key: str = "",
        root_dir: str | None = None,
        installed: bool = False,
        site: CallSite | None = None,
        lineage: tuple[str, ...] = (),
    ):
        self.project = project
        self.files = files
        self.directory = files.directory
        self.prefix = prefix
        self.depth = depth
        self.inputs = inputs
        self.key = key  # the call path `terraform init` records it under: "", "eks", "eks.node_group"
        self.root_dir = root_dir or files.directory  # the root module's folder (where `.terraform` is)
        self.installed = installed
        self.site = site
        self.lineage = (*lineage, files.directory)  # module folders from the root down: cycles
        self._evaluators = {id(h): Evaluator(h, _FUNCTIONS) for h in files.tf}
        self.variables: dict[str, tuple[HclFile, tree_sitter.Node]] = {}
        self.locals: dict[str, tuple[HclFile, tree_sitter.Node]] = {}
        self.blocks: dict[tuple[str, str, str], tuple[HclFile, tree_sitter.Node]] = {}
        self.module_calls: dict[str, tuple[HclFile, tree_sitter.Node]] = {}
        self.outputs: dict[str, tuple[HclFile, tree_sitter.Node]] = {}
        self.providers: list[tuple[HclFile, tree_sitter.Node]] = []
        self._cache: dict[object, Node] = {}
        self._active: set[object] = set()
        self._children: dict[str, list[ModuleInstance]] = {}
        self._calls: dict[str, ModuleCall] | None = None  # by name, made on first use
        self.var_files = var_files or []
        self._env_key: str | None = None
        # the editor's per-analysis memos of the reference graph (`_deep_digest`), by block
        self._digests: dict[tuple[str, int], bytes] = {}
        self._references: dict[tuple[str, int], list] = {}
        self._names: dict[bytes, list] = {}  # block text -> the names it mentions, this analysis
        self._names_before: dict[bytes, list] | None = None  # ... and in the last analysis (read once)
        self._index()
        self._var_values = self._bind_variables(self.var_files)

    # ---- indexing -----------------------------------------------------------------------------

    def _index(self) -> None:
        for hcl in self.files.tf:
            for block, kind, labels, block_body in top_level_blocks(hcl):
                if kind == "variable" and labels:
                    self.variables[labels[0]] = (hcl, block)
                elif kind == "locals":
                    for name, _, expression in _attributes(hcl, block_body):
                        self.locals[name] = (hcl, expression)
                elif kind in ("resource", "data") and len(labels) >= 2:
                    self.blocks[(kind, labels[0], labels[1])] = (hcl, block)
                elif kind == "module" and labels:
                    self.module_calls[labels[0]] = (hcl, block)
                elif kind == "output" and labels:
                    self.outputs[labels[0]] = (hcl, block)
                elif kind == "provider":
                    self.providers.append((hcl, block))

    def evaluator(self, hcl: HclFile) -> Evaluator:
        found = self._evaluators.get(id(hcl))
        if found is None:
            found = self._evaluators[id(hcl)] = Evaluator(hcl, _FUNCTIONS)
        return found

    def env(self, **bindings: Node) -> Env:
        return Env(self, bindings)

    def _bind_variables(self, var_files: list[HclFile]) -> dict[str, Node]:
        values: dict[str, Node] = {}
        if self.inputs is None:  # a root module reads tfvars
            for hcl in [*self.files.tfvars, *var_files]:
                evaluator = Evaluator(hcl, _FUNCTIONS)
                body = next((c for c in hcl.root.children if c.type == "body"), None)
                for name, _, expression in _attributes(hcl, body):
                    values[name] = evaluator.eval(expression, Env(self))
        else:
            for name, value in self.inputs.items():
                declared = self.variables.get(name)
                if declared is not None:
                    bound = self._typed_input(*declared, value)
                    if bound is not None:
                        values[name] = bound
        return values

    def _typed_input(self, hcl: HclFile, block: tree_sitter.Node, value: Node) -> Node | None:
        """A module input as its variable declares it: `null` for a `nullable = false` variable
        takes the default (None here), `optional(type, default)` attributes of object types
        are filled in, primitive types converted; `validation` is not checked."""
        _, _, body = _block_parts(hcl, block)
        type_expression = None
        for attr, _, expression in _attributes(hcl, body):
            if attr == "nullable" and hcl.text(expression).strip() == "false":
                if isinstance(value, Scalar) and value.value is None:
                    return None
            elif attr == "type":
                type_expression = expression
        if type_expression is None:
            return value
        return self._conform(hcl, type_expression, value, 0)

    def _conform(self, hcl: HclFile, type_node: tree_sitter.Node, value: Node, depth: int) -> Node:
        """`value` as the type says; copies what it changes (the caller's nodes are shared)."""
        call = _type_call(type_node)
        if call is None or depth > 16 or not value.known:
            return _converted(value, hcl.text(type_node).strip()) if call is None else value
        name, arguments = call
        if name == "map" and arguments and isinstance(value, Mapping):
            conformed = _copy_mapping(value)
            for key, item in value.entries.items():
                conformed.set(key, self._conform(hcl, arguments[0], item.value, depth + 1), item.key_span)
            return conformed
        if name in ("list", "set") and arguments and isinstance(value, Sequence):
            items = [self._conform(hcl, arguments[0], item, depth + 1) for item in value.items]
            return Sequence(value.span, items, style=value.style, indent=value.indent)
        if name != "object" or not arguments or not isinstance(value, Mapping):
            return value
        conformed = _copy_mapping(value)
        for key, written in value.entries.items():
            conformed.set(key, written.value, written.key_span)
        for attribute, attribute_type in _object_type(arguments[0]):
            entry = value.entries.get(attribute)
            optional = _type_call(attribute_type)
            if optional is not None and optional[0] == "optional" and optional[1]:
                inner = optional[1][0]
                if entry is None or (isinstance(entry.value, Scalar) and entry.value.value is None):
                    if len(optional[1]) > 1:
                        default = self.evaluator(hcl).eval(optional[1][1], Env(self))
                        conformed.set(attribute, self._conform(hcl, inner, default, depth + 1))
                    continue
                attribute_type = inner
            if entry is not None:
                conformed.set(attribute, self._conform(hcl, attribute_type, entry.value, depth + 1), entry.key_span)
        return conformed

    # ---- names ----------------------------------------------------------------------------------

    def variable(self, name: str, span: Span) -> Node:
        if name in self._var_values:
            return self._var_values[name]
        declared = self.variables.get(name)
        if declared is None:
            return Unknown(span, f"variable {name} is not declared")
        hcl, block = declared
        _, _, body = _block_parts(hcl, block)
        for attr_name, _, expression in _attributes(hcl, body):
            if attr_name == "default":
                key = ("var", name)
                if key not in self._cache:
                    self._cache[key] = self.evaluator(hcl).eval(expression, Env(self))
                return self._cache[key]
        return Unknown(span, f"variable {name} has no value")

    def local(self, name: str, span: Span) -> Node:
        key = ("local", name)
        if key in self._cache:
            return self._cache[key]
        found = self.locals.get(name)
        if found is None:
            return Unknown(span, f"local {name} is not defined")
        if key in self._active:
            return Unknown(span, f"local {name} refers to itself")
        self._active.add(key)
        try:
            hcl, expression = found
            value = self.evaluator(hcl).eval(expression, Env(self))
        finally:
            self._active.discard(key)
        self._cache[key] = value
        return value

    def resolve(self, root: str, names: list[str], span: Span, env: Env) -> tuple[Node, int]:
        """The value a reference `root.names...` denotes, and how many names that consumed."""
        if root == "var" and names:
            return self.variable(names[0], span), 1
        if root == "local" and names:
            return self.local(names[0], span), 1
        if root == "path" and names:
            if names[0] == "module":
                return Scalar(self.files.display_dir, span), 1
            return Unknown(span, f"path.{names[0]} not known"), 1
        if root == "data" and len(names) >= 2:
            address = f"data.{names[0]}.{names[1]}"
            body = self.block_body("data", names[0], names[1], span)
            rendered = rendered_data_attribute(names[0], names[2] if len(names) >= 3 else None, body, span, address)
            if rendered is not None:
                return rendered, 3
            return _with_ref(body, address), 2
        if root == "module" and names:
            return self.module_output(names[0], names[1] if len(names) > 1 else None, span), min(len(names), 2)
        if names and ("resource", root, names[0]) in self.blocks:
            address = f"{self.prefix}{root}.{names[0]}"
            body = self.block_body("resource", root, names[0], span)
            if len(names) >= 2:
                computed = computed_attribute(root, names[1], body, span, address)
                if computed is not None:
                    return computed, 2
            return _with_ref(body, address), 1
        return Unknown(span, f"`{root}` not known", ref=None), len(names)

    def block_body(self, kind: str, type_: str, name: str, span: Span) -> Node:
        key = (kind, type_, name)
        if key in self._cache:
            return self._cache[key]
        found = self.blocks.get(key)
        if found is None:
            return Unknown(span, f"{kind} {type_}.{name} is not defined")
        if key in self._active:
            return Unknown(span, f"{type_}.{name} refers to itself")
        self._active.add(key)
        try:
            hcl, block = found
            unknown = Unknown(span, "instance key")
            value = self.eval_block(
                hcl, block, Env(self, {"count": _count_binding(unknown), "each": _each_binding(unknown, unknown)})
            )
        finally:
            self._active.discard(key)
        self._cache[key] = value
        return value

    def module_output(self, call: str, output: str | None, span: Span) -> Node:
        """`module.<call>.<output>`; for a call with `count`/`for_each`, its first instance stands
        for all (an index written after the call's name is not told apart)."""
        instances = self.children(call)
        if not instances or output is None:
            return Unknown(span, f"module.{call} outputs not known", ref=f"{self.prefix}module.{call}")
        child = instances[0]
        found = child.outputs.get(output)
        if found is None:
            return Unknown(span, f"module.{call} has no output {output}")
        key = ("output", output)
        if key in child._active:
            return Unknown(span, f"output {output} of module.{call} refers to itself")
        hcl, block = found
        _, _, body = _block_parts(hcl, block)
        for name, _, expression in _attributes(hcl, body):
            if name == "value":
                child._active.add(key)
                try:
                    return child.evaluator(hcl).eval(expression, Env(child))
                finally:
                    child._active.discard(key)
        return Unknown(span, f"output {output} has no value")

    # ---- child modules ------------------------------------------------------------------------

    def calls(self) -> list[ModuleCall]:
        """The module calls of this instance, with their sources evaluated and resolved once."""
        if self._calls is None:
            self._calls = {call.name: call for call in self._read_calls()}
        return list(self._calls.values())

    def _read_calls(self) -> list[ModuleCall]:
        found = []
        for name, (hcl, block) in self.module_calls.items():
            _, _, body = _block_parts(hcl, block)
            source = version = ""
            span = _header_span(hcl, block)
            for attr, _, expression in _attributes(hcl, body):
                if attr in ("source", "version"):
                    value = self.evaluator(hcl).eval(expression, Env(self))
                    text = value.value if isinstance(value, Scalar) and isinstance(value.value, str) else ""
                    if attr == "source":
                        source, span = text, hcl.span(expression)
                    else:
                        version = text
            key = f"{self.key}.{name}" if self.key else name
            found_at = self.project.resolver.resolve(source, key, self.directory, self.installed, self.root_dir)
            found.append(
                ModuleCall(name, source, found_at.directory, span, found_at.installed, found_at.missing, version)
            )
        return found

    def child(self, call: str) -> ModuleInstance | None:
        instances = self.children(call)
        return instances[0] if instances else None

    def children(self, call: str) -> list[ModuleInstance]:
        """The instances of a module call: one, or one per `count` index / `for_each` key (an
        unknown collection gives one instance whose `count.index` / `each` are unknown)."""
        if call in self._children:
            return self._children[call]
        self._children[call] = []  # guards against a module calling itself
        if self.depth >= MAX_MODULE_DEPTH or call not in self.module_calls:
            return []
        self.calls()
        target = self._calls.get(call) if self._calls is not None else None
        if target is None or target.child_dir is None:
            return []
        if target.child_dir in self.lineage:
            chain = " -> ".join(self.project.display_dir(d) for d in (*self.lineage, target.child_dir))
            self.project.warn(target.span, f"module `{call}` calls itself through {chain}; not evaluated again")
            return []
        files = self.project.module_files(target.child_dir)
        if files is None or not files.tf:
            return []
        hcl, block = self.module_calls[call]
        _, _, body = _block_parts(hcl, block)
        count_node = for_each_node = None
        for attr, _, expression in _attributes(hcl, body):
            if attr == "count":
                count_node = expression
            elif attr == "for_each":
                for_each_node = expression
        instances = [
            self._instantiate(call, target, files, hcl, block, address, bindings)
            for address, bindings in self._expansions(
                f"{self.prefix}module.{call}", hcl, block, count_node, for_each_node
            )
        ]
        self._children[call] = instances
        return instances

    def _instantiate(
        self,
        call: str,
        target: ModuleCall,
        files: ModuleFiles,
        hcl: HclFile,
        block: tree_sitter.Node,
        address: str,
        bindings: dict[str, Node],
    ) -> ModuleInstance:
        env = Env(self, bindings)
        evaluated = self.eval_block(hcl, block, env)
        inputs = {
            name: entry.value
            for name, entry in evaluated.entries.items()
            if name not in ("source", "version", "count", "for_each", "providers", "depends_on")
        }
        child_key = f"{self.key}.{call}" if self.key else call
        site = CallSite(
            address=address,
            head=_header_span(hcl, block),
            block=evaluated,
            module_dir=os.path.dirname(files.tf[0].path),  # as its files are named in findings
            installed=target.installed,
            defaults={},
            parent=self.site,
        )
        instance = ModuleInstance(
            self.project,
            files,
            prefix=f"{address}.",
            inputs=inputs,
            depth=self.depth + 1,
            key=child_key,
            root_dir=self.root_dir,
            installed=target.installed,
            site=site,
            lineage=self.lineage,
        )
        site.defaults.update(instance.default_spans())
        for name, entry in evaluated.entries.items():
            if name in inputs and name not in instance.variables and entry.key_span is not None:
                self.project.warn(entry.key_span, f"module `{call}` has no variable `{name}`; this input is ignored")
        self.project.check_variables(files)
        return instance

    def default_spans(self) -> dict[Span, str]:
        """The span of each variable's `default` expression -> the variable's name."""
        found: dict[Span, str] = {}
        for name, (hcl, block) in self.variables.items():
            _, _, body = _block_parts(hcl, block)
            for attr, _, expression in _attributes(hcl, body):
                if attr == "default":
                    found[hcl.span(expression)] = name
        return found

    def _expansions(
        self,
        base: str,
        hcl: HclFile,
        block: tree_sitter.Node,
        count_node: tree_sitter.Node | None,
        for_each_node: tree_sitter.Node | None,
    ) -> list[tuple[str, dict[str, Node]]]:
        """(address, count/each bindings) of each instance of a resource or module block."""
        evaluator = self.evaluator(hcl)
        unknown = Unknown(hcl.span(block), "instance key")
        if count_node is not None:
            count = evaluator.eval(count_node, Env(self))
            if (
                isinstance(count, Scalar)
                and isinstance(count.value, (int, float))
                and not isinstance(count.value, bool)
            ):
                return [
                    (f"{base}[{i}]", {"count": _count_binding(Scalar(i, count.span))})
                    for i in range(min(int(count.value), MAX_INSTANCES))
                ]
            return [(base, {"count": _count_binding(unknown)})]
        if for_each_node is not None:
            pairs = iterate(evaluator.eval(for_each_node, Env(self)))
            if pairs is None:
                return [(base, {"each": _each_binding(unknown, unknown)})]
            bindings: list[tuple[str, dict[str, Node]]] = []
            for key, value in pairs[:MAX_INSTANCES]:
                key = _set_key(key, value)
                label = to_str(key.value) if isinstance(key, Scalar) else "?"
                bindings.append((f'{base}["{label}"]', {"each": _each_binding(key, value)}))
            return bindings
        return [(base, {})]

    # ---- blocks -------------------------------------------------------------------------------

    def eval_block(self, hcl: HclFile, block: tree_sitter.Node, env: Env) -> Mapping:
        _, _, body = _block_parts(hcl, block)
        return self.eval_body(hcl, block, body, env)

    def eval_body(self, hcl: HclFile, block: tree_sitter.Node, body: tree_sitter.Node | None, env: Env) -> Mapping:
        span = hcl.span(block)
        mapping = Mapping(span, style="hcl-block", head=_header_span(hcl, block))
        first = body.named_children[0] if body is not None and body.named_children else None
        mapping.indent = hcl.span(first).start_col if first is not None else span.start_col + 2
        evaluator = self.evaluator(hcl)
        if body is None:
            return mapping
        for child in body.children:
            if child.type == "attribute":
                expression = next((c for c in child.children if c.type == "expression"), None)
                if expression is not None:
                    mapping.set(
                        hcl.text(child.children[0]), evaluator.eval(expression, env), hcl.span(child.children[0])
                    )
            elif child.type == "block":
                kind, labels, child_body = _block_parts(hcl, child)
                if kind == "dynamic" and labels:
                    for produced in self._expand_dynamic(hcl, child, labels[0], child_body, env):
                        _append_block(mapping, labels[0], produced, hcl.span(child.children[0]))
                else:
                    _append_block(
                        mapping, kind, self.eval_body(hcl, child, child_body, env), hcl.span(child.children[0])
                    )
        return mapping

    def _expand_dynamic(self, hcl, block, label, body, env) -> list[Mapping]:
        evaluator = self.evaluator(hcl)
        for_each: Node = Unknown(hcl.span(block), "dynamic block without for_each")
        iterator = label
        for name, _, expression in _attributes(hcl, body):
            if name == "for_each":
                for_each = evaluator.eval(expression, env)
            elif name == "iterator":
                iterator = hcl.text(expression).strip()
        content = next((b for b in _children(body, "block") if _block_parts(hcl, b)[0] == "content"), None)
        if content is None:
            return []
        content_body = _block_parts(hcl, content)[2]
        pairs = iterate(for_each)
        if pairs is None:  # unknown collection: one block whose iterator values are unknown
            unknown = Unknown(hcl.span(block), "dynamic block iterator", ref=for_each.ref)
            pairs = [(unknown, unknown)]
        produced = []
        for key, value in pairs[: MAX_INSTANCES * 4]:
            local = env.bind(**{iterator: _each_binding(key, value)})
            produced.append(self.eval_body(hcl, content, content_body, local))
        return produced

    # ---- resources ----------------------------------------------------------------------------

    def resources(self) -> list[Resource]:
        found: list[Resource] = []
        # a root module's block evaluations, kept for the next run: only this run's survive, so
        # the cache holds one version of the module, however long the editing session
        previous = self._memory().blocks if self.prefix == "" and self.inputs is None else None
        current: dict = {}
        for (kind, type_, name), (hcl, block) in self.blocks.items():
            if previous is None:
                found.extend(self._instances(kind, type_, name, hcl, block))
                continue
            key = self._block_key(hcl, block)
            instances = previous.get(key)
            if instances is None:
                instances = current.get(key)
            if instances is None:
                instances = self._instances(kind, type_, name, hcl, block)
            current[key] = instances
            found.extend(instances)
        if previous is not None:
            # files_read is filled as evaluation goes on (child modules too)
            self.project.evaluations[self.directory] = ModuleMemory(current, self._names, self.project.files_read)
        for hcl, block in self.providers:
            _, labels, _ = _block_parts(hcl, block)
            body = self.eval_block(hcl, block, Env(self))
            label = labels[0] if labels else "unknown"
            found.append(
                Resource(
                    source="terraform",
                    kind=f"provider.{label}",
                    name=label,
                    address=f"{self.prefix}provider.{label}",
                    file=hcl.path,
                    body=body,
                    span=hcl.span(block),
                    head=_header_span(hcl, block),
                    block_type="provider",
                    module=self.prefix,
                    site=self.site,
                )
            )
        return found

    # ---- evaluation cache (editor keystrokes re-evaluate only the blocks they touch) -------------

    def _environment_key(self) -> str:
        """Everything a block's value may depend on besides other resources: variables, locals,
        data sources, module calls, tfvars and var files, with their positions, and the files of
        the local modules it calls (their outputs), to any depth."""
        if getattr(self, "_env_key", None) is None:
            digest = hashlib.sha1()
            for hcl in self.files.tf:
                for block, kind, _, _ in top_level_blocks(hcl):
                    if kind != "resource":
                        digest.update(f"{hcl.path}:{block.start_point[0]}:".encode())
                        digest.update(hcl.data[block.start_byte : block.end_byte])
            for hcl in [*self.files.tfvars, *self.var_files]:
                digest.update(hcl.path.encode() + b"\0" + hcl.data)
            for hcl in self._called_module_files():
                digest.update(hcl.path.encode() + b"\0" + hcl.data)
            # the files `file()` read last time (as they are now): a policy JSON edited beside
            # the module re-evaluates the blocks, whichever read it
            for path in sorted(self._memory().files_read):
                try:
                    digest.update(path.encode() + b"\0" + self.project.filesystem.read_bytes(path))
                except OSError:
                    digest.update(path.encode() + b"\0(missing)")
            self._env_key = digest.hexdigest()
        return self._env_key  # type: ignore[return-value]

    def _called_module_files(self) -> list[HclFile]:
        """The files of every local module this one calls, directly or through others."""
        found: list[HclFile] = []
        seen = {self.directory}
        pending = [call.child_dir for call in self.calls() if call.child_dir]
        while pending:
            directory = pending.pop()
            if os.path.realpath(directory) in seen or len(seen) > 256:
                continue
            seen.add(os.path.realpath(directory))
            files = self.project.module_files(directory)
            if files is None:
                continue
            found += [*files.tf, *files.tfvars]
            for hcl in files.tf:
                for block, kind, _, _ in top_level_blocks(hcl):
                    if kind == "module":
                        sources = local_module_sources(hcl.text(block))
                        if sources:
                            pending.append(os.path.normpath(os.path.join(directory, sources[0])))
        return found

    def _block_key(self, hcl: HclFile, block: tree_sitter.Node) -> tuple:
        """A block's evaluation may be reused while this key is the same: its own text and
        position, the environment, and the text of every resource block it reads, transitively
        (editing the end of a chain `a -> b -> c` must re-evaluate `a`)."""
        return (self._deep_digest(hcl, block), self._env_key or self._environment_key())

    def _memory(self) -> ModuleMemory:
        """What the last analysis of this root module left for this one (the editor's)."""
        return self.project.evaluations.get(self.directory) or ModuleMemory()

    def _deep_digest(self, hcl: HclFile, block: tree_sitter.Node) -> bytes:
        """A digest of the block's position and text and of the deep digests of the resource
        blocks it references; a block met again on the current path (a cycle, mid-edit) adds
        only its own. A block that references none (most) is its own position and text, with no
        hashing. Iterative (chains can be thousands of blocks long), memoised for the analysis."""
        memo = self._digests
        wanted = (hcl.path, block.start_byte)
        found = memo.get(wanted)
        if found is not None:
            return found
        if not self._referenced(wanted, hcl, block):
            found = memo[wanted] = _own_text(hcl, block)
            return found
        on_path: set[tuple[str, int]] = set()
        stack = [(hcl, block, False)]
        while stack:
            current_hcl, current, finishing = stack.pop()
            key = (current_hcl.path, current.start_byte)
            if key in memo:
                continue
            if finishing:
                others = self._referenced(key, current_hcl, current)
                if not others:
                    memo[key] = _own_text(current_hcl, current)
                else:
                    digest = hashlib.sha1(_own_text(current_hcl, current))
                    for other_hcl, other in others:
                        other_key = (other_hcl.path, other.start_byte)
                        digest.update(memo[other_key] if other_key in memo else _own_text(other_hcl, other))
                    memo[key] = digest.digest()
                on_path.discard(key)
                continue
            if key in on_path:
                continue
            on_path.add(key)
            stack.append((current_hcl, current, True))
            for other_hcl, other in self._referenced(key, current_hcl, current):
                other_key = (other_hcl.path, other.start_byte)
                if other_key not in memo and other_key not in on_path:
                    stack.append((other_hcl, other, False))
        return memo[wanted]

    def _referenced(self, key: tuple[str, int], hcl: HclFile, block: tree_sitter.Node) -> list:
        """The resource blocks of this module that `block` names (memoised for the analysis;
        the names a text mentions are kept for the next analysis too)."""
        found = self._references.get(key)
        if found is None:
            text = hcl.data[block.start_byte : block.end_byte]
            names = self._names.get(text)
            if names is None:
                if self._names_before is None:
                    self._names_before = self._memory().names
                names = self._names_before.get(text)
            if names is None:
                names = sorted(set(_REFERENCE.findall(text)))
            self._names[text] = names
            found = self._references[key] = (
                [
                    pair
                    for pair in (self.blocks.get(("resource", root.decode(), name.decode())) for root, name in names)
                    if pair is not None
                ]
                if names
                else []
            )
        return found

    def _instances(self, kind, type_, name, hcl, block) -> list[Resource]:
        _, _, body = _block_parts(hcl, block)
        count_node = for_each_node = None
        for attr, _, expression in _attributes(hcl, body):
            if attr == "count":
                count_node = expression
            elif attr == "for_each":
                for_each_node = expression
        base = f"{self.prefix}{'data.' if kind == 'data' else ''}{type_}.{name}"
        bindings = self._expansions(base, hcl, block, count_node, for_each_node)
        decider = count_node or for_each_node
        if not bindings and self.site is not None and kind == "resource" and decider is not None:
            decided_by = self.evaluator(hcl).eval(decider, Env(self))
            self.site.skipped.setdefault(type_, decided_by)
        resources = []
        for address, names in bindings:
            resource_body = self.eval_block(hcl, block, Env(self, names))
            resources.append(
                decode_policies(
                    Resource(
                        source="terraform",
                        kind=type_,
                        name=name,
                        address=address,
                        file=hcl.path,
                        body=resource_body,
                        span=hcl.span(block),
                        head=_header_span(hcl, block),
                        block_type=kind,
                        module=self.prefix,
                        site=self.site,
                    )
                )
            )
        return resources


def _own_text(hcl: HclFile, block: tree_sitter.Node) -> bytes:
    """A block's file, line and text: what its evaluation depends on of itself."""
    return f"{hcl.path}:{block.start_point[0]}:".encode() + hcl.data[block.start_byte : block.end_byte]


def _set_key(key: Node, value: Node) -> Node:
    # for_each over a set: each.key is the element itself
    return value if isinstance(key, Scalar) and isinstance(key.value, int) else key


def _append_block(mapping: Mapping, kind: str, block: Mapping, key_span: Span) -> None:
    existing = mapping.get(kind)
    if isinstance(existing, Sequence) and existing.style == "hcl-blocks":
        existing.items.append(block)
    else:
        mapping.set(kind, Sequence(block.span, [block], style="hcl-blocks", indent=block.indent), key_span)


def _count_binding(index: Node) -> Mapping:
    binding = Mapping(index.span, style="hcl-object")
    binding.set("index", index)
    return binding


def _each_binding(key: Node, value: Node) -> Mapping:
    binding = Mapping(value.span, style="hcl-object")
    binding.set("key", key)
    binding.set("value", value)
    return binding


def _with_ref(value: Node, address: str) -> Node:
    if isinstance(value, Unknown):
        return Unknown(value.span, value.reason, ref=address)
    value.ref = address
    return value


def _type_call(type_node: tree_sitter.Node) -> tuple[str, list[tree_sitter.Node]] | None:
    """`object({...})`, `optional(bool, true)`: the type constructor's name and arguments."""
    node = type_node
    while node.type == "expression" and node.named_child_count == 1:
        node = node.named_children[0]
    if node.type != "function_call" or not node.children:
        return None
    arguments = next((c for c in node.children if c.type == "function_arguments"), None)
    name = node.children[0].text.decode() if node.children[0].text else ""
    return name, [c for c in arguments.children if c.type == "expression"] if arguments is not None else []


def _object_type(argument: tree_sitter.Node) -> list[tuple[str, tree_sitter.Node]]:
    """The attributes of an object type's `{ name = type, ... }`."""
    node = argument
    while node.type in ("expression", "collection_value") and node.named_child_count == 1:
        node = node.named_children[0]
    found = []
    for elem in node.children if node.type == "object" else ():
        key, value = elem.child_by_field_name("key"), elem.child_by_field_name("val")
        if elem.type == "object_elem" and key is not None and value is not None and key.text:
            found.append((key.text.decode().strip().strip('"'), value))
    return found


def _copy_mapping(value: Mapping) -> Mapping:
    copy = Mapping(value.span, style=value.style, indent=value.indent, head=value.head, ref=value.ref)
    copy.origin = value.origin
    return copy


def _converted(value: Node, primitive: str) -> Node:
    """A string given for a `bool` or `number` variable, as Terraform converts it."""
    if not isinstance(value, Scalar) or not isinstance(value.value, str):
        return value
    text = value.value
    if primitive == "bool" and text in ("true", "false"):
        converted = Scalar(text == "true", value.span, ref=value.ref)
    elif primitive == "number" and re.fullmatch(r"-?\d+(\.\d+)?", text):
        converted = Scalar(float(text) if "." in text else int(text), value.span, ref=value.ref)
    else:
        return value
    converted.origin = value.origin
    return converted


# ---- the project: parsed files and module folders, shared by all instances ---------------------


class TerraformProject:
    """Parsed `.tf`/`.tfvars` files by folder; each file is parsed once however often it is used."""

    def __init__(
        self,
        display=lambda path: path,
        load=None,
        evaluations: dict[str, ModuleMemory] | None = None,
        filesystem: FileSystem | None = None,
        module_dirs: tuple[str, ...] = (),
    ):
        self._display = display
        self._load = load
        self.filesystem = filesystem or FileSystem()  # what `file()` reads: the disk, or the editor's buffers
        self.resolver = ModuleResolver(module_dirs, self.filesystem)
        # what the user should know but is not a finding: (span, message), each once
        self.warnings: list[tuple[Span, str]] = []
        self._checked_variables: set[str] = set()
        self.files_read: dict[str, str] = {}  # path -> text of every file `file()` read in this analysis
        # block evaluations of root modules, kept across runs by a long-lived caller (the editor)
        self.evaluations: dict[str, ModuleMemory] = evaluations if evaluations is not None else {}
        self._modules: dict[str, ModuleFiles | None] = {}
        self.parsed: dict[str, HclFile] = {}
        self.problems: list[tuple[str, Exception]] = []

    def add_file(self, hcl: HclFile, real_path: str) -> None:
        self.parsed[os.path.realpath(real_path)] = hcl

    def display_dir(self, directory: str) -> str:
        return self._display(directory)

    def warn(self, span: Span, message: str) -> None:
        if (span, message) not in self.warnings:
            self.warnings.append((span, message))

    def check_variables(self, files: ModuleFiles) -> None:
        """A called module that reads a variable it does not declare (Terraform refuses it):
        warned once per module, at the first reference."""
        if files.directory in self._checked_variables:
            return
        self._checked_variables.add(files.directory)
        declared = {
            labels[0]
            for hcl in files.tf
            for _, kind, labels, _ in top_level_blocks(hcl)
            if kind == "variable" and labels
        }
        for hcl in files.tf:
            for match in _VARIABLE_REFERENCE.finditer(hcl.data):
                name = match.group(1).decode()
                if name not in declared:
                    line = hcl.data.count(b"\n", 0, match.start())
                    column = match.start() - (hcl.data.rfind(b"\n", 0, match.start()) + 1)
                    text = hcl.data[match.start() - column : match.start()].decode("utf-8", "replace")
                    if "#" in text or "//" in text:
                        continue  # a comment
                    declared.add(name)  # warned once
                    span = Span(hcl.path, line, len(text), line, len(text) + len(match.group(0)))
                    self.warn(span, f"`var.{name}` is not declared in this module; its value is unknown")

    def module_files(self, directory: str) -> ModuleFiles | None:
        """The module in `directory`, reading files not yet parsed (child modules outside the scan)."""
        key = os.path.realpath(directory)
        if key in self._modules:
            return self._modules[key]
        if not os.path.isdir(key):
            self._modules[key] = None
            return None
        from .source import SourceError, read_source

        files = ModuleFiles(key, self._display(directory))
        for entry in sorted(os.listdir(key)):
            path = os.path.join(key, entry)
            is_tf = entry.endswith(".tf")
            is_vars = entry == "terraform.tfvars" or entry.endswith(".auto.tfvars")
            if not (is_tf or is_vars) or not os.path.isfile(path):
                continue
            hcl = self.parsed.get(path)
            if hcl is None:
                try:
                    hcl = self._load(path) if self._load else HclFile(read_source(path, self._display(path)))
                except SourceError as exc:
                    self.problems.append((path, exc))
                    continue
                self.parsed[path] = hcl
            (files.tf if is_tf else files.tfvars).append(hcl)
        self._modules[key] = files
        return files
