"""Executing Helm templates, recording where every output character came from.

The output is a list of segments: literal template text (mapped 1:1 to the template file) or the
output of one action, with the values path its value was read from when there is one
(`{{ .Values.service.type }}`, `{{ toYaml .Values.securityContext | nindent 12 }}`). The chart
layer maps rendered YAML nodes back through these segments to templates and values files.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from ...limits import DEFAULT_LIMITS, MIB, Limits
from .builtins import Files
from .functions import FUNCTIONS, TRANSPARENT, HelmFail
from .gotypes import go_string, truthy
from .template import (
    Action,
    Break,
    Chain,
    Command,
    Continue,
    Field,
    Identifier,
    If,
    ListNode,
    Literal,
    Pipeline,
    Range,
    Template,
    TemplateCall,
    TemplateSyntaxError,
    Text,
    Variable,
    With,
    parse_template,
)


class RenderError(Exception):
    def __init__(self, template: str, offset: int | None, message: str):
        super().__init__(f"{template}: {message}")
        self.template = template
        self.offset = offset
        self.message = message


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


@dataclass
class Segment:
    out_start: int
    out_end: int
    file: str
    start: int  # offset in the template file
    end: int
    literal: bool  # True: text copied verbatim (offsets map 1:1)
    values_path: tuple | None = None  # the values path the action's value came from
    as_yaml: bool = False  # the value went through toYaml (a subtree, not a scalar)


class Output:
    def __init__(self, limit: int = int(DEFAULT_LIMITS.template_max_output_mb * MIB)) -> None:
        self.limit = limit
        self.parts: list[str] = []
        self.length = 0
        self.segments: list[Segment] = []

    def write(self, text: str, segment: Segment) -> None:
        if not text:
            return
        segment.out_start, segment.out_end = self.length, self.length + len(text)
        self.parts.append(text)
        self.length += len(text)
        if self.length > self.limit:
            raise RenderError(
                segment.file,
                segment.start,
                f"output larger than {self.limit / MIB:g} MiB (limit `template-max-output-mb`)",
            )
        self.segments.append(segment)

    def text(self) -> str:
        return "".join(self.parts)


class Scope:
    __slots__ = ("variables", "parent")

    def __init__(self, parent: Scope | None = None, **variables):
        self.variables = dict(variables)
        self.parent = parent

    def get(self, name: str):
        scope: Scope | None = self
        while scope is not None:
            if name in scope.variables:
                return scope.variables[name]
            scope = scope.parent
        raise KeyError(name)

    def assign(self, name: str, value) -> None:
        scope: Scope | None = self
        while scope is not None:
            if name in scope.variables:
                scope.variables[name] = value
                return
            scope = scope.parent
        raise KeyError(name)


class Renderer:
    """Executes templates of one chart (and its subcharts) sharing one set of named templates."""

    def __init__(self, templates: dict[str, Template], value_paths: dict[int, tuple], limits: Limits = DEFAULT_LIMITS):
        self.templates = templates
        self.value_paths = value_paths  # id(values container) -> its path under .Values
        self.limits = limits
        self.output_limit = int(limits.template_max_output_mb * MIB)
        self.depth = 0
        self.iterations = 0
        self.deadline = time.monotonic() + limits.template_timeout_seconds
        self.current: Template | None = None  # the template being executed

    # ---- entry ----------------------------------------------------------------------------------

    @property
    def file(self) -> str:
        """The file of the template being executed (errors and segments name it)."""
        assert self.current is not None, "only while executing a template"
        return self.current.file

    @property
    def _template_name(self) -> str:
        assert self.current is not None, "only while executing a template"
        return self.current.name

    def render(self, template: Template, data) -> Output:
        output = Output(self.output_limit)
        self._execute(template, data, output)
        return output

    def _execute(self, template: Template, data, output: Output) -> None:
        self.depth += 1
        if self.depth > self.limits.template_max_depth:
            self.depth -= 1
            raise RenderError(
                template.file,
                None,
                f"templates nested deeper than {self.limits.template_max_depth} "
                f"(recursive include of {template.name!r}?; limit "
                "`template-max-depth`)",
            )
        previous, self.current = self.current, template
        try:
            self._list(template.body, data, Scope(None, **{"$": (data, None)}), output)
        finally:
            self.current = previous
            self.depth -= 1

    # ---- statements -------------------------------------------------------------------------------

    def _list(self, body: ListNode, dot, scope: Scope, output: Output) -> None:
        for node in body.nodes:
            if time.monotonic() > self.deadline:
                raise RenderError(
                    self.file,
                    node.start,
                    f"rendering took longer than "
                    f"{self.limits.template_timeout_seconds:g} s (limit `template-timeout-seconds`)",
                )
            if isinstance(node, Text):
                output.write(node.text, Segment(0, 0, self.file, node.start, node.end, True))
            elif isinstance(node, Action):
                value, origin = self._pipeline(node.pipe, dot, scope)
                if node.pipe.decl:
                    continue
                path, as_yaml = origin if origin else (None, False)
                output.write(go_string(value), Segment(0, 0, self.file, node.start, node.end, False, path, as_yaml))
            elif isinstance(node, If):
                value, _ = self._pipeline(node.pipe, dot, scope)
                branch = node.body if truthy(value) else node.else_body
                if branch is not None:
                    self._list(branch, dot, Scope(scope), output)
            elif isinstance(node, With):
                value, _ = self._pipeline(node.pipe, dot, Scope(scope))
                if truthy(value):
                    inner = Scope(scope)
                    if node.pipe.decl:
                        inner.variables[node.pipe.decl[0]] = (value, None)
                    self._list(node.body, value, inner, output)
                elif node.else_body is not None:
                    self._list(node.else_body, dot, Scope(scope), output)
            elif isinstance(node, Range):
                self._range(node, dot, scope, output)
            elif isinstance(node, TemplateCall):
                data = self._pipeline(node.pipe, dot, scope)[0] if node.pipe else None
                self._execute(self._find(node.name, node.start), data, output)
            elif isinstance(node, Break):
                raise _Break()
            elif isinstance(node, Continue):
                raise _Continue()

    def _range(self, node: Range, dot, scope: Scope, output: Output) -> None:
        value, _ = self._pipeline(node.pipe, dot, Scope(scope))
        base = self.value_paths.get(id(value))
        if isinstance(value, dict):
            items = [(key, value[key]) for key in sorted(value)]
        elif isinstance(value, Files):  # `range $path, $bytes := .Files.Glob "..."`: a map of paths
            items = value.items()
        elif isinstance(value, (list, tuple)):
            items = list(enumerate(value))
        elif isinstance(value, int) and not isinstance(value, bool):
            items = [(i, i) for i in range(value)]
        elif value is None:
            items = []
        else:
            raise RenderError(self.file, node.start, f"range can't iterate over {go_string(value)}")
        if not items:
            if node.else_body is not None:
                self._list(node.else_body, dot, Scope(scope), output)
            return
        for key, element in items:
            self.iterations += 1
            if self.iterations > self.limits.template_max_iterations:
                raise RenderError(
                    self.file,
                    node.start,
                    f"more than {self.limits.template_max_iterations} "
                    "range iterations (limit `template-max-iterations`)",
                )
            inner = Scope(scope)
            element_origin = (base + (key,), False) if base is not None else None
            if len(node.pipe.decl) == 1:
                inner.variables[node.pipe.decl[0]] = (element, element_origin)
            elif len(node.pipe.decl) == 2:
                inner.variables[node.pipe.decl[0]] = (key, None)
                inner.variables[node.pipe.decl[1]] = (element, element_origin)
            try:
                self._list(node.body, element, inner, output)
            except _Break:
                break
            except _Continue:
                continue

    def _find(self, name: str, offset: int) -> Template:
        template = self.templates.get(name)
        if template is None:
            raise RenderError(self.file, offset, f"template {name!r} not defined")
        return template

    # ---- pipelines --------------------------------------------------------------------------------

    def _pipeline(self, pipe: Pipeline, dot, scope: Scope):
        value, origin = None, None
        for index, command in enumerate(pipe.commands):
            value, origin = self._command(command, dot, scope, (value, origin) if index else None)
        if pipe.decl:
            if pipe.assign:
                try:
                    scope.assign(pipe.decl[0], (value, origin))
                except KeyError:
                    raise RenderError(self.file, pipe.start, f"undefined variable {pipe.decl[0]}") from None
            else:
                scope.variables[pipe.decl[0]] = (value, origin)
        return value, origin

    def _command(self, command: Command, dot, scope: Scope, piped):
        first = command.args[0]
        if isinstance(first, Identifier):
            return self._call(first, command.args[1:], dot, scope, piped)
        if isinstance(first, (Field, Variable, Chain)) and (len(command.args) > 1 or piped is not None):
            return self._method(first, command.args[1:], dot, scope, piped)
        if len(command.args) > 1 or piped is not None:
            raise RenderError(self.file, command.start, "can't give argument to non-function")
        return self._operand(first, dot, scope)

    def _operand(self, node, dot, scope: Scope):
        if isinstance(node, Literal):
            return node.value, None
        if isinstance(node, Field):
            return self._fields(dot, node.names, self._origin_of(dot))
        if isinstance(node, Variable):
            try:
                value, origin = scope.get(node.name)
            except KeyError:
                raise RenderError(self.file, node.start, f"undefined variable {node.name}") from None
            return self._fields(value, node.names, origin if not node.names else self._origin_of(value, origin))
        if isinstance(node, Chain):
            value, origin = self._pipeline(node.node, dot, scope)
            return self._fields(value, node.names, self._origin_of(value, origin))
        if isinstance(node, Pipeline):
            return self._pipeline(node, dot, Scope(scope))
        if isinstance(node, Identifier):  # a function used as an argument: called without arguments
            return self._call(node, [], dot, scope, None)
        raise RenderError(self.file, node.start, f"unexpected {type(node).__name__}")

    def _origin_of(self, value, origin=None):
        path = self.value_paths.get(id(value))
        if path is not None:
            return (path, False)
        return origin

    def _fields(self, value, names: tuple[str, ...], origin):
        path = origin[0] if origin else None
        for name in names:
            if isinstance(value, dict):
                value = value.get(name)
            elif value is None:
                value = None
            else:
                attribute = getattr(value, name, None)
                value = attribute() if callable(attribute) else attribute
            path = path + (name,) if path is not None else None
            known = self.value_paths.get(id(value))
            if known is not None:
                path = known
        return value, ((path, False) if path is not None else None)

    def _method(self, node, args, dot, scope: Scope, piped):
        """`.Files.Get "x"`, `.Capabilities.APIVersions.Has "v1"`: the last field is a method."""
        if isinstance(node, Field):
            receiver, _ = self._fields(dot, node.names[:-1], None)
            name = node.names[-1] if node.names else None
        elif isinstance(node, Variable):
            receiver, _ = self._fields(scope.get(node.name)[0], node.names[:-1], None)
            name = node.names[-1] if node.names else None
        else:
            value, _ = self._pipeline(node.node, dot, scope)
            receiver, _ = self._fields(value, node.names[:-1], None)
            name = node.names[-1] if node.names else None
        method = getattr(receiver, name, None) if name and not isinstance(receiver, dict) else None
        if not callable(method):
            raise RenderError(self.file, node.start, f"{name} is not a method")
        values = [self._operand(arg, dot, scope)[0] for arg in args]
        if piped is not None:
            values.append(piped[0])
        arity = _arity(method)
        if arity is not None and not arity[0] <= len(values) <= arity[1]:
            raise RenderError(
                self.file, node.start, f"wrong number of args for {name}: want {arity[0]} got {len(values)}"
            )
        return method(*values), None

    def _call(self, identifier: Identifier, args, dot, scope: Scope, piped):
        name = identifier.name
        if name in ("and", "or"):
            value = None
            for arg in args:
                value = self._operand(arg, dot, scope)[0]
                if truthy(value) == (name == "or"):
                    return value, None
            if piped is not None:
                value = piped[0]
            return value, None
        evaluated = [self._operand(arg, dot, scope) for arg in args]
        if piped is not None:
            evaluated.append(piped)
        values = [value for value, _ in evaluated]
        if name == "include":
            if not values:
                raise RenderError(self.file, identifier.start, "include needs a template name")
            output = Output(self.output_limit)
            self._execute(self._find(str(values[0]), identifier.start), values[1] if len(values) > 1 else None, output)
            return output.text(), None
        if name == "tpl":
            if len(values) < 2:
                raise RenderError(self.file, identifier.start, "tpl needs a template and a context")
            return self.tpl(str(values[0] or ""), values[1], identifier.start), None
        if name == "default":
            # `default D X`: X (and where it came from) when X is set
            if len(evaluated) >= 2 and truthy(values[-1]):
                return values[-1], evaluated[-1][1]
            return (values[0] if values else None), (evaluated[0][1] if evaluated else None)
        function = FUNCTIONS.get(name)
        if function is None:
            raise RenderError(self.file, identifier.start, f"function {name!r} not defined")
        try:
            result = function(*values)
        except HelmFail as exc:
            raise RenderError(self.file, identifier.start, str(exc)) from None
        except re.error as exc:  # regexMatch, regexReplaceAll... with a pattern Go would refuse too
            raise RenderError(
                self.file, identifier.start, f"error calling {name}: error parsing regexp: {exc}"
            ) from None
        except (TypeError, ValueError, KeyError, IndexError, AttributeError, ZeroDivisionError, OverflowError) as exc:
            raise RenderError(self.file, identifier.start, f"error calling {name}: {exc}") from None
        origin = None
        if name in TRANSPARENT and evaluated and evaluated[-1][1] is not None:
            path, as_yaml = evaluated[-1][1]
            origin = (path, as_yaml or name in ("toYaml", "toYamlPretty"))
        return result, origin

    def tpl(self, text: str, data, offset: int | None = None) -> str:
        try:
            name = self._template_name if self._template_name.endswith(" (tpl)") else f"{self._template_name} (tpl)"
            template, defines = parse_template(name, text)
        except TemplateSyntaxError as exc:
            raise RenderError(self.file, offset, f"tpl: {exc.message}") from None
        # templates defined inside tpl text become available to it (as in Helm)
        saved = dict(self.templates)
        self.templates.update(defines)
        template.file = self.file
        output = Output(self.output_limit)
        try:
            self._execute_detached(template, data, output)
        finally:
            self.templates = saved
        return output.text()

    def _execute_detached(self, template: Template, data, output: Output) -> None:
        """Run a tpl template; its offsets are not the file's, so segments are not kept."""
        self._execute(template, data, output)
        output.segments = []


def _arity(method) -> tuple[int, int] | None:
    """(fewest, most) arguments a bound Python method takes, checked before calling as Go does."""
    import inspect

    try:
        parameters = list(inspect.signature(method).parameters.values())
    except (TypeError, ValueError):
        return None
    if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in parameters):
        return None
    return sum(1 for p in parameters if p.default is p.empty), len(parameters)
