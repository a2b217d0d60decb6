"""Go text/template, as Helm uses it: lexer and parser with character offsets on every node.

Actions `{{ }}` with `{{-` / `-}}` trimming and `{{/* comments */}}`; pipelines with `|`;
variables (`$x := ...`, `$x = ...`, `$`); fields and chains (`.a.b`, `$x.a`, `(pipe).a`);
`if / else if / else`, `range` (with `$i, $v :=`), `with / else with`, `define`, `template`,
`block`, `break`, `continue`, `end`. Errors name the template and the exact position.
"""

from __future__ import annotations

import collections
import re
from dataclasses import dataclass, field, replace


class TemplateSyntaxError(Exception):
    def __init__(self, name: str, offset: int, message: str):
        super().__init__(f"{name}: {message}")
        self.name = name
        self.offset = offset
        self.message = message


# ---- AST -----------------------------------------------------------------------------------------


@dataclass
class Node:
    start: int
    end: int


@dataclass
class Text(Node):
    text: str


@dataclass
class Field(Node):
    names: tuple[str, ...]  # `.a.b` -> ("a", "b"); `.` -> ()


@dataclass
class Variable(Node):
    name: str  # "$" or "$x"
    names: tuple[str, ...] = ()


@dataclass
class Identifier(Node):
    name: str


@dataclass
class Literal(Node):
    value: object


@dataclass
class Chain(Node):
    node: Pipeline  # a parenthesised pipeline
    names: tuple[str, ...]


@dataclass
class Command(Node):
    args: list[Node]


@dataclass
class Pipeline(Node):
    commands: list[Command]
    decl: list[str] = field(default_factory=list)  # variables declared or assigned
    assign: bool = False  # `=` rather than `:=`


@dataclass
class Action(Node):
    pipe: Pipeline


@dataclass
class ListNode(Node):
    nodes: list[Node]


@dataclass
class If(Node):
    pipe: Pipeline
    body: ListNode
    else_body: ListNode | None = None


@dataclass
class With(Node):
    pipe: Pipeline
    body: ListNode
    else_body: ListNode | None = None


@dataclass
class Range(Node):
    pipe: Pipeline
    body: ListNode
    else_body: ListNode | None = None


@dataclass
class TemplateCall(Node):
    name: str
    pipe: Pipeline | None


@dataclass
class Break(Node):
    pass


@dataclass
class Continue(Node):
    pass


@dataclass
class Template:
    name: str  # the defined name, or the file's name for a file
    file: str  # the file it was written in (for positions)
    body: ListNode
    text: str  # the whole file's text (offsets index into it)


# ---- lexer ----------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<string>"(?:[^"\\\n]|\\.)*")
  | (?P<raw>`[^`]*`)
  | (?P<char>'(?:[^'\\]|\\.)+')
  | (?P<number>[-+]?(?:0[xX][0-9a-fA-F_]+|0[oO]?[0-7_]+|0[bB][01_]+|(?:\d[\d_]*)?\.?\d[\d_]*(?:[eE][-+]?\d+)?)(?![\w.]))
  | (?P<declare>:=)
  | (?P<assign>=)
  | (?P<variable>\$[\w]*)
  | (?P<field>(?:\.[A-Za-z_][\w]*)+|\.)
  | (?P<ident>[A-Za-z_][\w]*)
  | (?P<punct>[|(),])
""",
    re.X,
)

_ESCAPES = {
    "n": "\n",
    "t": "\t",
    "r": "\r",
    "\\": "\\",
    '"': '"',
    "'": "'",
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "v": "\v",
    "0": "\0",
}


def _unquote(text: str) -> str:
    body = text[1:-1]
    if "\\" not in body:
        return body

    def replace(match: re.Match) -> str:
        code = match.group(1)
        if code[0] in "xuU":
            return chr(int(code[1:], 16))
        return _ESCAPES.get(code, code)

    return re.sub(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)", replace, body)


@dataclass
class Token:
    kind: str
    text: str
    start: int
    end: int


def _tokens(name: str, text: str, start: int, end: int) -> list[Token]:
    tokens: list[Token] = []
    position = start
    while position < end:
        match = _TOKEN.match(text, position, end)
        if not match:
            raise TemplateSyntaxError(name, position, f"unexpected {text[position]!r} in action")
        kind = match.lastgroup or ""
        if kind != "space":
            value = match.group(0)
            if (
                kind == "field"
                and tokens
                and tokens[-1].kind in ("punct",)
                and tokens[-1].text == ")"
                and tokens[-1].end == match.start()
            ):
                kind = "chainfield"
            elif kind == "field" and tokens and tokens[-1].kind == "variable" and tokens[-1].end == match.start():
                kind = "varfield"
            tokens.append(Token(kind, value, match.start(), match.end()))
        position = match.end()
    return tokens


# ---- parser ---------------------------------------------------------------------------------------

_KEYWORDS = {"if", "else", "end", "range", "with", "define", "template", "block", "break", "continue"}
_COMMENT = re.compile(r"/\*.*?\*/", re.S)


class Parser:
    def __init__(self, name: str, text: str):
        self.name = name
        self.text = text
        self.defines: dict[str, Template] = {}

    # -- splitting text and actions --

    def _items(self):
        """(kind, start, end, inner_start, inner_end) for text runs and actions, with trimming applied."""
        text = self.text
        items = []
        position = 0
        trim_next = False
        while True:
            open_at = text.find("{{", position)
            if open_at < 0:
                items.append(["text", position, len(text), trim_next, False])
                break
            inner_start = open_at + 2
            left_trim = (
                text.startswith("{{- ", open_at)
                or text.startswith("{{-\t", open_at)
                or text.startswith("{{-\n", open_at)
                or text.startswith("{{-\r", open_at)
            )
            if left_trim:
                inner_start += 1
            close_at = _action_end(text, inner_start)
            if close_at < 0:
                raise TemplateSyntaxError(self.name, open_at, "unclosed action")
            inner_end = close_at
            right_trim = (
                close_at - 1 >= inner_start
                and text[close_at - 1] == "-"
                and close_at - 2 >= inner_start
                and text[close_at - 2] in " \t\r\n"
            )
            if right_trim:
                inner_end = close_at - 1
            items.append(["text", position, open_at, trim_next, left_trim])
            items.append(["action", open_at, close_at + 2, inner_start, inner_end])
            trim_next = right_trim
            position = close_at + 2
        return items

    def parse(self) -> Template:
        items = self._items()
        self._stream: list[tuple] = []  # ("text", start, end) and ("action", start, end, tokens)
        for item in items:
            if item[0] == "text":
                _, start, end, trim_left, trim_right = item
                if trim_left:
                    while start < end and self.text[start] in " \t\r\n":
                        start += 1
                if trim_right:
                    while end > start and self.text[end - 1] in " \t\r\n":
                        end -= 1
                if end > start:
                    self._stream.append(("text", start, end))
            else:
                _, start, end, inner_start, inner_end = item
                inner = self.text[inner_start:inner_end]
                if inner.strip().startswith("/*"):
                    if not _COMMENT.fullmatch(inner.strip()):
                        raise TemplateSyntaxError(self.name, start, "comment must be the whole action")
                    continue
                self._stream.append(("action", start, end, _tokens(self.name, self.text, inner_start, inner_end)))
        self._position = 0
        body, _ = self._list(top=True)
        return Template(self.name, self.name, body, self.text)

    # -- structure --

    def _peek(self):
        return self._stream[self._position] if self._position < len(self._stream) else None

    def _list(self, top: bool = False) -> tuple[ListNode, tuple | None]:
        nodes: list[Node] = []
        start = self._stream[self._position][1] if self._peek() else len(self.text)
        while True:
            item = self._peek()
            if item is None:
                if not top:
                    raise TemplateSyntaxError(self.name, len(self.text), "unexpected end of template: missing {{end}}")
                return ListNode(start, len(self.text), nodes), None
            self._position += 1
            if item[0] == "text":
                nodes.append(Text(item[1], item[2], self.text[item[1] : item[2]]))
                continue
            _, a_start, a_end, tokens = item
            if not tokens:
                raise TemplateSyntaxError(self.name, a_start, "missing value for command")
            keyword = tokens[0].text if tokens[0].kind == "ident" and tokens[0].text in _KEYWORDS else None
            if keyword in ("end", "else"):
                if top:
                    raise TemplateSyntaxError(self.name, a_start, f"unexpected {{{{{keyword}}}}}")
                return ListNode(start, a_start, nodes), (keyword, a_start, a_end, tokens)
            if keyword is None:
                nodes.append(Action(a_start, a_end, self._pipeline(tokens, a_start, allow_decl=True)))
            elif keyword in ("if", "with", "range"):
                nodes.append(self._control(keyword, a_start, tokens))
            elif keyword in ("define", "block"):
                name, rest = self._template_name(tokens, a_start)
                body, stop = self._list()
                if stop is None or stop[0] != "end":
                    raise TemplateSyntaxError(self.name, a_start, f"{{{{{keyword}}}}} without {{{{end}}}}")
                self.defines[name] = Template(name, self.name, body, self.text)
                if keyword == "block":
                    pipe = self._pipeline(rest, a_start) if rest else None
                    nodes.append(TemplateCall(a_start, stop[2], name, pipe))
            elif keyword == "template":
                name, rest = self._template_name(tokens, a_start)
                nodes.append(TemplateCall(a_start, a_end, name, self._pipeline(rest, a_start) if rest else None))
            elif keyword == "break":
                nodes.append(Break(a_start, a_end))
            elif keyword == "continue":
                nodes.append(Continue(a_start, a_end))

    def _template_name(self, tokens: list[Token], at: int) -> tuple[str, list[Token]]:
        if len(tokens) < 2 or tokens[1].kind not in ("string", "raw"):
            raise TemplateSyntaxError(self.name, at, f"{tokens[0].text} needs a quoted template name")
        return _unquote(tokens[1].text), tokens[2:]

    def _control(self, keyword: str, start: int, tokens: list[Token]) -> Node:
        pipe = self._pipeline(tokens[1:], start, allow_decl=True, allow_range_decl=keyword == "range")
        body, stop = self._list()
        if stop is None:
            raise TemplateSyntaxError(self.name, start, f"{{{{{keyword}}}}} without {{{{end}}}}")
        else_body = None
        kind, s_start, s_end, s_tokens = stop
        if kind == "else":
            if len(s_tokens) > 1 and s_tokens[1].kind == "ident" and s_tokens[1].text in ("if", "with"):
                # `else if` / `else with`: a nested control whose {{end}} closes both
                nested = self._control(s_tokens[1].text, s_start, s_tokens[1:])
                else_body = ListNode(s_start, nested.end, [nested])
                end = nested.end
            else:
                else_body, stop = self._list()
                if stop is None or stop[0] != "end":
                    raise TemplateSyntaxError(self.name, s_start, "{{else}} without {{end}}")
                end = stop[2]
        else:
            end = s_end
        cls = {"if": If, "with": With, "range": Range}[keyword]
        return cls(start, end, pipe, body, else_body)

    def _pipeline(
        self, tokens: list[Token], at: int, allow_decl: bool = False, allow_range_decl: bool = False
    ) -> Pipeline:
        decl: list[str] = []
        assign = False
        index = 0
        if allow_decl and tokens and tokens[0].kind == "variable":
            names = [tokens[0].text]
            cursor = 1
            if allow_range_decl and len(tokens) > 2 and tokens[1].text == "," and tokens[2].kind == "variable":
                names.append(tokens[2].text)
                cursor = 3
            if cursor < len(tokens) and tokens[cursor].kind in ("declare", "assign"):
                decl = names
                assign = tokens[cursor].kind == "assign"
                index = cursor + 1
        commands: list[Command] = []
        current: list[Node] = []
        end = tokens[-1].end if tokens else at
        while index < len(tokens):
            token = tokens[index]
            if token.kind == "punct" and token.text == "|":
                if not current:
                    raise TemplateSyntaxError(self.name, token.start, "missing command before |")
                commands.append(Command(current[0].start, current[-1].end, current))
                current = []
                index += 1
                continue
            node, index = self._operand(tokens, index)
            current.append(node)
        if current:
            commands.append(Command(current[0].start, current[-1].end, current))
        elif commands:
            raise TemplateSyntaxError(self.name, tokens[-1].start, "missing command after |")
        if not commands:
            raise TemplateSyntaxError(self.name, at, "missing value for command")
        return Pipeline(commands[0].start, end, commands, decl, assign)

    def _operand(self, tokens: list[Token], index: int) -> tuple[Node, int]:
        token = tokens[index]
        kind = token.kind
        if kind == "punct" and token.text == "(":
            depth, cursor = 1, index + 1
            while cursor < len(tokens) and depth:
                if tokens[cursor].kind == "punct":
                    depth += {"(": 1, ")": -1}.get(tokens[cursor].text, 0)
                cursor += 1
            if depth:
                raise TemplateSyntaxError(self.name, token.start, "unclosed left paren")
            inner = self._pipeline(tokens[index + 1 : cursor - 1], token.start, allow_decl=True)
            node: Node = inner
            if cursor < len(tokens) and tokens[cursor].kind == "chainfield":
                chained = tuple(tokens[cursor].text.split(".")[1:])
                node = Chain(token.start, tokens[cursor].end, inner, chained)
                cursor += 1
            return node, cursor
        if kind == "punct":
            raise TemplateSyntaxError(self.name, token.start, f"unexpected {token.text!r}")
        names: tuple[str, ...]
        if kind == "field":
            names = tuple(token.text.split(".")[1:]) if token.text != "." else ()
            return Field(token.start, token.end, names), index + 1
        if kind == "variable":
            names = ()
            end = token.end
            if index + 1 < len(tokens) and tokens[index + 1].kind == "varfield":
                names = tuple(tokens[index + 1].text.split(".")[1:])
                end = tokens[index + 1].end
                index += 1
            return Variable(token.start, end, token.text, names), index + 1
        if kind in ("string", "raw"):
            try:
                value = _unquote(token.text) if kind == "string" else token.text[1:-1]
            except ValueError:  # `"\U0011ffff"`: beyond Unicode
                raise TemplateSyntaxError(self.name, token.start, f"invalid string escape in {token.text}") from None
            return Literal(token.start, token.end, value), index + 1
        if kind == "char":
            try:
                character = _unquote(token.text)
            except ValueError:
                character = ""
            if len(character) != 1:  # Go: `'00'` is "malformed character constant"
                raise TemplateSyntaxError(self.name, token.start, f"malformed character constant: {token.text}")
            return Literal(token.start, token.end, ord(character)), index + 1
        if kind == "number":
            return Literal(token.start, token.end, _number(token.text)), index + 1
        if kind == "ident":
            if token.text in ("true", "false"):
                return Literal(token.start, token.end, token.text == "true"), index + 1
            if token.text == "nil":
                return Literal(token.start, token.end, None), index + 1
            return Identifier(token.start, token.end, token.text), index + 1
        raise TemplateSyntaxError(self.name, token.start, f"unexpected {token.text!r}")


def _action_end(text: str, start: int) -> int:
    """Where the action starting at `start` closes: the first `}}` outside quotes and comments."""
    position = start
    length = len(text)
    while position < length:
        char = text[position]
        if char == "}" and text.startswith("}}", position):
            return position
        if char in "\"'`":
            end = position + 1
            while end < length and text[end] != char:
                if char != "`" and text[end] == "\\":
                    end += 1
                elif char != "`" and text[end] == "\n":
                    break
                end += 1
            position = end + 1
            continue
        if char == "/" and text.startswith("/*", position):
            end = text.find("*/", position + 2)
            if end < 0:
                return -1
            position = end + 2
            continue
        position += 1
    return -1


def _number(text: str):
    cleaned = text.replace("_", "")
    lowered = cleaned.lower().lstrip("+-")
    sign = -1 if cleaned.startswith("-") else 1
    if lowered.startswith("0x"):
        return sign * int(lowered[2:], 16)
    if lowered.startswith("0b"):
        return sign * int(lowered[2:], 2)
    if lowered.startswith("0o"):
        return sign * int(lowered[2:], 8)
    if re.fullmatch(r"0[0-7]+", lowered):
        return sign * int(lowered, 8)
    if re.fullmatch(r"\d+", lowered):
        return sign * int(lowered)
    return float(cleaned)


def parse_template(name: str, text: str) -> tuple[Template, dict[str, Template]]:
    """The file's own template and the templates it defines. Parses are memoised by (name, text):
    library charts repeat in every subchart, and `tpl` parses the same strings over and over."""
    key = (name, text)
    found = _PARSED.get(key)
    if found is None:
        found = _parse(name, text)
        _PARSED[key] = found
        global _PARSED_CHARS
        _PARSED_CHARS += len(text)
        while _PARSED_CHARS > MEMO_CHARS and len(_PARSED) > 1:  # oldest first
            (_, old_text), _ = _PARSED.popitem(last=False)
            _PARSED_CHARS -= len(old_text)
    else:
        _PARSED.move_to_end(key)
    template, defines = found
    return replace(template), defines


# Parses by (name, text), least recently used dropped first, bounded by the text they hold: every
# keystroke in an editor makes a new text, and a count bound kept 4,096 versions of a 30 kB
# template (and their trees) alive.
MEMO_CHARS = 2 * 1024 * 1024
_PARSED: collections.OrderedDict[tuple[str, str], tuple[Template, dict[str, Template]]] = collections.OrderedDict()
_PARSED_CHARS = 0


def _parse(name: str, text: str) -> tuple[Template, dict[str, Template]]:
    parser = Parser(name, text)
    try:
        template = parser.parse()
    except RecursionError:  # thousands of nested `if`s or parentheses: recursive descent gives up
        raise TemplateSyntaxError(name, 0, "template nested too deeply to parse") from None
    return template, parser.defines
