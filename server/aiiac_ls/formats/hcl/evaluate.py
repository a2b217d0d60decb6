"""Static evaluation of HCL expressions into positioned nodes.

What can be known is computed (literals, templates, operators, conditionals, for expressions,
splats, common functions, `var.*`, `local.*`, `each.*`, `count.index`, references to resources
and data sources of the module); everything else becomes `Unknown`, never a guess. Literal values
keep the span where they are written, so a finding on a value in a `jsonencode({...})` policy
lands on that line. A scalar reached through a reference is re-anchored at the reference, which
is the text the user edits in the resource.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import tree_sitter

from ...model.nodes import Decided, Mapping, Node, Scalar, Sequence, Span, Unknown, decided_at
from .syntax import HclFile, unescape


class References(Protocol):
    """What expressions refer to (variables, locals, resources, modules...): a Terraform module
    instance (formats/terraform.py) answers; the evaluator knows nothing else of it."""

    def resolve(self, root: str, names: list[str], span: Span, env: Env) -> tuple[Node, int]:
        """The value of `root.names...` and how many of `names` it used."""
        ...


MAX_DEPTH = 120
MAX_COLLECTION = 10_000


class TextBlock(Scalar):
    """A heredoc string with no interpolation: remembers where its content starts, so JSON
    inside it (an IAM policy) can be parsed with exact positions."""

    __slots__ = ("content_line", "indent")

    def __init__(self, value: str, span: Span, content_line: int, indent: int = 0):
        super().__init__(value, span, style="heredoc")
        self.content_line = content_line
        self.indent = indent


class Env:
    """Names visible to an expression: the module plus local bindings (each, count, for vars)."""

    __slots__ = ("module", "bindings", "depth")

    def __init__(self, module: References, bindings: dict[str, Node] | None = None, depth: int = 0):
        self.module = module
        self.bindings = bindings or {}
        self.depth = depth

    def bind(self, **names: Node) -> Env:
        return Env(self.module, {**self.bindings, **names}, self.depth)


def _named(node: tree_sitter.Node) -> list[tree_sitter.Node]:
    return [child for child in node.children if child.is_named and child.type != "comment"]


def reanchor(value: Node, span: Span, ref: str | None = None) -> Node:
    """A scalar read through a reference is reported at the reference, and remembers where it
    was written (a module input, a tfvars entry, a variable default)."""
    if isinstance(value, Scalar) and not isinstance(value, TextBlock):
        moved: Node = Scalar(value.value, span, ref=ref or value.ref)
    elif isinstance(value, Unknown):
        moved = Unknown(span, value.reason, ref=ref or value.ref)
    else:
        return value
    moved.origin = value.origin or (value.span if value.span != span else None)
    return moved


def derived(result: Node, span: Span, *inputs: Node) -> Node:
    """`result`, made at `span` from `inputs`, remembers the values references brought in:
    `var.versioning["enabled"] ? "Enabled" : "Suspended"` was decided by the caller's `enabled`."""
    if result.origin is None and result.span == span:
        spans: list[Span] = []
        for value in inputs:
            found = decided_at(value)
            if not found and isinstance(value, (Mapping, Sequence)) and value.span is not None:
                found = (value.span,)  # collections are not re-anchored: written where their span is
            spans += [at for at in found if at not in spans]
        if spans:
            result.origin = Decided(tuple(spans[:16]))
    return result


class Evaluator:
    def __init__(self, hcl: HclFile, functions: dict[str, Callable]):
        self.hcl = hcl
        self.functions = functions

    # ---- entry ------------------------------------------------------------------------------

    def eval(self, node: tree_sitter.Node, env: Env) -> Node:
        if env.depth > MAX_DEPTH:
            return Unknown(self.hcl.span(node), "expression nested too deeply")
        env.depth += 1
        try:
            method = getattr(self, "_" + node.type, None)
            if method is None:
                return Unknown(self.hcl.span(node), f"`{node.type}` not evaluated")
            return method(node, env)
        except RecursionError:
            return Unknown(self.hcl.span(node), "expression nested too deeply")
        finally:
            env.depth -= 1

    # ---- expression structure ---------------------------------------------------------------

    def _expression(self, node: tree_sitter.Node, env: Env) -> Node:
        children = [c for c in node.children if c.type != "comment"]
        if children and children[0].type == "(":  # parenthesised
            inner = next((c for c in children if c.type == "expression"), None)
            return self.eval(inner, env) if inner is not None else Unknown(self.hcl.span(node), "empty")
        if not children:
            return Unknown(self.hcl.span(node), "empty expression")
        head = children[0]
        postfix = children[1:]
        if head.type == "variable_expr" and postfix:
            return self._reference(node, head, postfix, env)
        value = self.eval(head, env)
        for op in postfix:
            value = self._apply_postfix(value, op, env, self.hcl.span(node))
        return value

    def _literal_value(self, node, env):
        return self.eval(node.children[0], env)

    def _collection_value(self, node, env):
        return self.eval(node.children[0], env)

    def _template_expr(self, node, env):
        return self.eval(node.children[0], env)

    def _operation(self, node, env):
        return self.eval(node.children[0], env)

    def _for_expr(self, node, env):
        return self.eval(node.children[0], env)

    def _numeric_lit(self, node, env):
        text = self.hcl.text(node)
        try:
            value: int | float = int(text)
        except ValueError:
            try:
                value = float(text)
            except ValueError:
                return Unknown(self.hcl.span(node), f"bad number {text}")
        return Scalar(value, self.hcl.span(node))

    def _bool_lit(self, node, env):
        return Scalar(self.hcl.text(node) == "true", self.hcl.span(node))

    def _null_lit(self, node, env):
        return Scalar(None, self.hcl.span(node))

    def _string_lit(self, node, env):
        literal = "".join(self.hcl.text(c) for c in node.children if c.type == "template_literal")
        return Scalar(unescape(literal), self.hcl.span(node), style='"')

    def _tuple(self, node, env):
        items = [self.eval(child, env) for child in node.children if child.type == "expression"]
        return Sequence(self.hcl.span(node), items[:MAX_COLLECTION], style="hcl")

    def _object(self, node, env):
        span = self.hcl.span(node)
        result = Mapping(span, style="hcl-object", head=span)
        elems = [c for c in node.children if c.type == "object_elem"]
        if elems:
            result.indent = self.hcl.span(elems[0]).start_col
        for elem in elems[:MAX_COLLECTION]:
            key_node = elem.child_by_field_name("key")
            val_node = elem.child_by_field_name("val")
            if key_node is None or val_node is None:
                continue
            key = self._object_key(key_node, env)
            if key is None:  # the value still counts (an IRSA `"${oidc}:sub" = "system:serviceaccount:..."`)
                where = self.hcl.span(key_node)
                result.set(
                    f"<unknown key {where.start_line + 1}:{where.start_col + 1}>", self.eval(val_node, env), where
                )
                continue
            result.set(key, self.eval(val_node, env), self.hcl.span(key_node))
        return result

    def _object_key(self, key_node: tree_sitter.Node, env: Env) -> str | None:
        named = _named(key_node)
        if len(named) == 1 and named[0].type == "variable_expr":
            return self.hcl.text(named[0])  # a bare identifier is a literal key
        value = self.eval(key_node, env)
        if isinstance(value, Scalar) and value.value is not None:
            return _to_str(value.value)
        return None

    # ---- templates ----------------------------------------------------------------------------

    def _quoted_template(self, node, env):
        return self._template_parts(
            node,
            env,
            [c for c in node.children if c.type not in ("quoted_template_start", "quoted_template_end")],
            quoted=True,
        )

    def _heredoc_template(self, node, env):
        span = self.hcl.span(node)
        start = node.children[0]
        strip = self.hcl.text(start).startswith("<<-")
        identifiers = [c for c in node.children if c.type == "heredoc_identifier"]
        if len(identifiers) < 2:
            return Unknown(span, "unterminated heredoc")
        opener, closer = identifiers[0], identifiers[-1]
        body_start = self.hcl.data.find(b"\n", opener.end_byte) + 1
        body_end = closer.start_byte
        # the closing marker may be indented: cut back to the start of its line
        line_start = self.hcl.data.rfind(b"\n", 0, body_end) + 1
        body_end = line_start
        parts = [c for c in node.children if c.type in ("template_interpolation", "template_directive")]
        if parts:
            return self._template_parts(
                node,
                env,
                [
                    c
                    for c in node.children
                    if c.type in ("template_literal", "template_interpolation", "template_directive")
                ],
                quoted=False,
                raw_range=(body_start, body_end),
            )
        text = self.hcl.data[body_start:body_end].decode("utf-8", "replace")
        indent = 0
        if strip:
            text, indent = _strip_indent(text)
        content_line = node.start_point[0] + 1
        return TextBlock(text, span, content_line, indent)

    def _template_parts(self, node, env, parts, quoted: bool, raw_range: tuple[int, int] | None = None):
        span = self.hcl.span(node)
        pieces: list[str] = []
        unknown: Unknown | None = None
        interpolations = [p for p in parts if p.type == "template_interpolation"]
        if quoted and len(parts) == 1 and len(interpolations) == 1:
            inner = next((c for c in parts[0].children if c.type == "expression"), None)
            if inner is not None:  # "${x}" is x itself, whatever its type
                return reanchor(self.eval(inner, env), span)
        if raw_range is not None:
            # heredoc: literal text is everything between interpolations, whitespace included
            cursor = raw_range[0]
            for part in parts:
                if part.type == "template_literal":
                    continue
                pieces.append(self.hcl.data[cursor : part.start_byte].decode("utf-8", "replace"))
                value = self._interpolate(part, env)
                if isinstance(value, Unknown):
                    unknown = unknown or value
                else:
                    pieces.append(value)
                cursor = part.end_byte
            pieces.append(self.hcl.data[cursor : raw_range[1]].decode("utf-8", "replace"))
        else:
            for part in parts:
                if part.type == "template_literal":
                    pieces.append(unescape(self.hcl.text(part)))
                    continue
                value = self._interpolate(part, env)
                if isinstance(value, Unknown):
                    unknown = unknown or value
                else:
                    pieces.append(value)
        if unknown is not None:
            return Unknown(span, "template with unknown parts", ref=unknown.ref)
        return Scalar("".join(pieces), span, style='"')

    def _interpolate(self, part, env) -> str | Unknown:
        if part.type != "template_interpolation":
            return Unknown(self.hcl.span(part), "template directive not evaluated")
        inner = next((c for c in part.children if c.type == "expression"), None)
        if inner is None:
            return Unknown(self.hcl.span(part), "empty interpolation")
        value = self.eval(inner, env)
        if isinstance(value, Scalar) and not isinstance(value.value, (dict, list)):
            return _to_str(value.value)
        if isinstance(value, Unknown):
            return value
        return Unknown(self.hcl.span(part), "collection in template", ref=value.ref)

    # ---- operators ----------------------------------------------------------------------------

    def _operand(self, children: list, node, env) -> Node:
        """One operand. tree-sitter-hcl leaves a traversal operand as sibling nodes (`var.x == 1`
        is variable_expr, get_attr, `==`, literal), not as one expression node."""
        if len(children) == 1:
            return self.eval(children[0], env)
        if not children:
            return Unknown(self.hcl.span(node), "missing operand")
        head, postfix = children[0], children[1:]
        if head.type == "variable_expr":
            return self._reference(node, head, postfix, env)
        value = self.eval(head, env)
        for op in postfix:
            value = self._apply_postfix(value, op, env, self.hcl.span(node))
        return value

    def _unary_operation(self, node, env):
        op = node.children[0].type
        operand = self._operand([c for c in node.children[1:] if c.type != "comment"], node, env)
        span = self.hcl.span(node)
        if not isinstance(operand, Scalar):
            return Unknown(span, "unknown operand")
        if op == "!" and isinstance(operand.value, bool):
            return derived(Scalar(not operand.value, span), span, operand)
        if op == "-" and isinstance(operand.value, (int, float)) and not isinstance(operand.value, bool):
            return derived(Scalar(-operand.value, span), span, operand)
        return Unknown(span, f"cannot apply {op}")

    def _binary_operation(self, node, env):
        children = [c for c in node.children if c.type != "comment"]
        at = next((i for i, c in enumerate(children) if i > 0 and not c.is_named), None)
        if at is None:
            return Unknown(self.hcl.span(node), "incomplete operation")
        span = self.hcl.span(node)
        operands: list[Node] = []
        result = self._binary(children, at, node, env, operands)
        if isinstance(result, Scalar) and children[at].type in ("&&", "||") and isinstance(result.value, bool):
            # `a && b` that is false was decided by its false operands, `a || b` true by its true ones
            deciding = [o for o in operands if isinstance(o, Scalar) and o.value is result.value]
            operands = deciding or operands
        return derived(result, span, *operands)

    def _binary(self, children, at, node, env, operands: list[Node]) -> Node:
        """The operation's value; `operands` receives the operands evaluated."""
        left_nodes, op_node, right_nodes = children[:at], children[at], children[at + 1 :]
        op = op_node.type
        span = self.hcl.span(node)
        left = self._operand(left_nodes, node, env)
        operands.append(left)
        if op in ("&&", "||") and isinstance(left, Scalar) and isinstance(left.value, bool):
            if op == "&&" and left.value is False:
                return Scalar(False, span)
            if op == "||" and left.value is True:
                return Scalar(True, span)
        right = self._operand(right_nodes, node, env)
        operands.append(right)
        if op in ("==", "!="):
            if left.known and right.known:
                equal = left.plain() == right.plain()
                return Scalar(equal if op == "==" else not equal, span)
            return Unknown(span, "comparison of unknown values")
        if not (isinstance(left, Scalar) and isinstance(right, Scalar)):
            return Unknown(span, "unknown operand", ref=left.ref or right.ref)
        a, b = left.value, right.value
        try:
            if op in ("&&", "||"):
                if isinstance(a, bool) and isinstance(b, bool):
                    return Scalar((a and b) if op == "&&" else (a or b), span)
                return Unknown(span, "non-boolean operand")
            a, b = _number(a), _number(b)
            if a is None or b is None:
                return Unknown(span, "non-numeric operand")
            result = {
                "+": lambda: a + b,
                "-": lambda: a - b,
                "*": lambda: a * b,
                "/": lambda: a / b,
                "%": lambda: a % b,
                "<": lambda: a < b,
                "<=": lambda: a <= b,
                ">": lambda: a > b,
                ">=": lambda: a >= b,
            }[op]()
        except (KeyError, ZeroDivisionError, TypeError):
            return Unknown(span, f"cannot evaluate {op}")
        if isinstance(result, float) and result.is_integer() and op != "/":
            result = int(result)
        return Scalar(result, span)

    def _conditional(self, node, env):
        exprs = [c for c in node.children if c.type == "expression"]
        span = self.hcl.span(node)
        if len(exprs) != 3:
            return Unknown(span, "incomplete conditional")
        condition = self.eval(exprs[0], env)
        if isinstance(condition, Scalar) and isinstance(condition.value, bool):
            branch = exprs[1] if condition.value else exprs[2]
            return derived(self.eval(branch, env), self.hcl.span(branch), condition)
        return Unknown(span, "condition not known statically", ref=condition.ref)

    # ---- for expressions ----------------------------------------------------------------------

    def _for_tuple_expr(self, node, env):
        return self._for(node, env, object_result=False)

    def _for_object_expr(self, node, env):
        return self._for(node, env, object_result=True)

    def _for(self, node, env, object_result: bool):
        span = self.hcl.span(node)
        intro = next(c for c in node.children if c.type == "for_intro")
        names = [self.hcl.text(c) for c in intro.children if c.type == "identifier"]
        source_node = next(c for c in intro.children if c.type == "expression")
        source = self.eval(source_node, env)
        exprs = [c for c in node.children if c.type == "expression"]
        cond = next((c for c in node.children if c.type == "for_cond"), None)
        grouping = any(c.type == "ellipsis" for c in node.children)
        pairs = _iterate(source)
        if pairs is None:
            return Unknown(span, "for expression over an unknown collection", ref=source.ref)
        items: list[Node] = []
        result = Mapping(span, style="hcl-object", head=span)
        for key, value in pairs[:MAX_COLLECTION]:
            if len(names) == 2:
                local = env.bind(**{names[0]: key, names[1]: value})
            else:
                local = env.bind(**{names[0]: value})
            if cond is not None:
                keep = self.eval(next(c for c in cond.children if c.type == "expression"), local)
                if not isinstance(keep, Scalar) or not isinstance(keep.value, bool):
                    return Unknown(span, "for condition not known statically")
                if not keep.value:
                    continue
            if object_result:
                if len(exprs) < 2:
                    return Unknown(span, "incomplete for expression")
                key_value = self.eval(exprs[0], local)
                if not isinstance(key_value, Scalar):
                    return Unknown(span, "for key not known statically")
                produced = self.eval(exprs[1], local)
                key_text = _to_str(key_value.value)
                if grouping:
                    group = result.get(key_text)
                    if not isinstance(group, Sequence):
                        group = Sequence(span, style="hcl")
                        result.set(key_text, group)
                    group.items.append(produced)
                else:
                    result.set(key_text, produced)
            else:
                items.append(self.eval(exprs[0], local))
        return result if object_result else Sequence(span, items, style="hcl")

    # ---- functions ----------------------------------------------------------------------------

    def _function_call(self, node, env):
        name = self.hcl.text(node.children[0])
        span = self.hcl.span(node)
        args_node = next((c for c in node.children if c.type == "function_arguments"), None)
        arg_nodes = [c for c in args_node.children if c.type == "expression"] if args_node is not None else []
        expand = args_node is not None and any(c.type == "ellipsis" for c in args_node.children)
        if "::" in name:
            return Unknown(span, f"provider function {name} not evaluated")
        function = self.functions.get(name)
        if function is None:
            return Unknown(span, f"function {name}() not evaluated")
        if name in ("try", "can"):
            return function(span, [lambda n=n: self.eval(n, env) for n in arg_nodes])
        args = [self.eval(n, env) for n in arg_nodes]
        if expand and args:
            last = args.pop()
            if not isinstance(last, Sequence):
                return Unknown(span, "expanded argument not known")
            args.extend(last.items)
        try:
            return derived(function(span, args, env=env), span, *args)
        except (TypeError, ValueError, IndexError, KeyError, AttributeError, OverflowError) as exc:
            return Unknown(span, f"{name}(): {exc}")

    # ---- references ---------------------------------------------------------------------------

    def _variable_expr(self, node, env):
        name = self.hcl.text(node)
        span = self.hcl.span(node)
        if name in env.bindings:
            return reanchor(env.bindings[name], span)
        return Unknown(span, f"`{name}` not known")

    def _reference(self, node, head, postfix, env) -> Node:
        root = self.hcl.text(head)
        span = self.hcl.span(node)
        if root in env.bindings:
            value: Node = env.bindings[root]
            for op in postfix:
                value = self._apply_postfix(value, op, env, span)
            return reanchor(value, span)
        names: list[str] = []
        rest_index = 0
        for index, op in enumerate(postfix):
            if op.type == "get_attr":
                names.append(self.hcl.text(op.children[-1]))
                rest_index = index + 1
            elif (
                op.type in ("index", "splat")
                and root not in ("var", "local")
                and len(names) < (3 if root == "data" else 2)
            ):
                rest_index = index + 1  # aws_x.y[0].id, data.t.n[0].json, module.m[0].out: one stands for all
            else:
                break
        resolved, used = env.module.resolve(root, names, span, env)
        value = resolved
        # names the module did not consume are attribute accesses on the value
        remaining = postfix[rest_index:]
        for attr in names[used:]:
            value = _get_attr(value, attr, span)
        for op in remaining:
            value = self._apply_postfix(value, op, env, span)
        return reanchor(value, span)

    def _apply_postfix(self, value: Node, op: tree_sitter.Node, env: Env, span: Span) -> Node:
        if op.type == "get_attr":
            return _get_attr(value, self.hcl.text(op.children[-1]), span)
        if op.type == "index":
            inner = op.children[0]
            if inner.type == "legacy_index":
                key: Node = Scalar(int(self.hcl.text(inner)[1:]), span)
            else:
                key_expr = next((c for c in inner.children if c.type == "expression"), None)
                key = self.eval(key_expr, env) if key_expr is not None else Unknown(span, "no index")
            return _get_index(value, key, span)
        if op.type == "splat":
            if isinstance(value, Unknown):
                return value
            items = value.items if isinstance(value, Sequence) else [value]
            splat = op.children[0]
            attrs = [self.hcl.text(c.children[-1]) for c in splat.children if c.type == "get_attr"]
            out = []
            for item in items:
                for attr in attrs:
                    item = _get_attr(item, attr, span)
                out.append(item)
            return Sequence(span, out, style="hcl", ref=value.ref)
        return Unknown(span, f"`{op.type}` not evaluated")


# ---- helpers ------------------------------------------------------------------------------------


def _get_attr(value: Node, name: str, span: Span) -> Node:
    if isinstance(value, Mapping):
        found = value.get(name)
        if found is not None:
            return found
        return Unknown(span, f"no attribute {name}", ref=value.ref)
    if isinstance(value, Unknown):
        return Unknown(span, value.reason, ref=value.ref)
    return Unknown(span, f"attribute {name} of a non-object", ref=value.ref)


def _get_index(value: Node, key: Node, span: Span) -> Node:
    if isinstance(value, Unknown) or not isinstance(key, Scalar):
        return Unknown(span, "index not known", ref=value.ref)
    if isinstance(value, Sequence) and isinstance(key.value, (int, float)) and not isinstance(key.value, bool):
        index = int(key.value)
        if 0 <= index < len(value.items):
            return value.items[index]
        return Unknown(span, "index out of range")
    if isinstance(value, Mapping):
        found = value.get(_to_str(key.value))
        return found if found is not None else Unknown(span, "no such key", ref=value.ref)
    return Unknown(span, "cannot index", ref=value.ref)


def _iterate(source: Node) -> list[tuple[Node, Node]] | None:
    if isinstance(source, Sequence):
        return [(Scalar(index, item.span), item) for index, item in enumerate(source.items)]
    if isinstance(source, Mapping):
        return [(Scalar(key, entry.key_span), entry.value) for key, entry in source.entries.items()]
    return None


def _number(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            try:
                return float(value)
            except ValueError:
                return None
    return None


def _to_str(value) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _strip_indent(text: str) -> tuple[str, int]:
    lines = text.split("\n")
    widths = [len(line) - len(line.lstrip(" \t")) for line in lines if line.strip()]
    indent = min(widths) if widths else 0
    return "\n".join(line[indent:] for line in lines), indent


to_str = _to_str
iterate = _iterate
