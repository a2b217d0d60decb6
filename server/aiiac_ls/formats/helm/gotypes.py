"""Go value semantics the templates rely on: truthiness, printing (`fmt` %v), type names, YAML.

Helm reads values through JSON, so every number from a values file is a float64: `{{ 3 }}` in a
template is an int, `{{ .Values.replicas }}` a float64 that prints as `3` (and 1000000 as
`1e+06`, as Helm really does).
"""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal


def truthy(value) -> bool:
    if value is None or value is False:
        return False
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value != 0
    if isinstance(value, (str, list, dict, tuple)) or hasattr(value, "__len__"):
        return len(value) > 0
    return True


def format_float(value: float) -> str:
    """strconv.FormatFloat(f, 'g', -1, 64), which `%v` uses: shortest digits, exponent form when
    the decimal exponent is < -4 or >= 6 (so Helm prints 1000000 from values as 1e+06)."""
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    if value == 0:
        return "0"
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    assert isinstance(exponent, int)  # a finite value
    text = "".join(map(str, digits))
    exp = len(digits) - 1 + exponent
    prefix = "-" if sign else ""
    if exp < -4 or exp >= 6:
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{prefix}{mantissa}e{'+' if exp >= 0 else '-'}{abs(exp):02d}"
    if exponent >= 0:
        return prefix + text + "0" * exponent
    point = len(text) + exponent
    if point > 0:
        return prefix + text[:point] + "." + text[point:]
    return prefix + "0." + "0" * (-point) + text


def go_string(value) -> str:
    """fmt.Sprint / %v."""
    if value is None:
        return ""  # Helm replaces "<no value>" with ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float):
        return format_float(value)
    if isinstance(value, (int, str)):
        return str(value)
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{go_string_nested(value[k])}" for k in sorted(value)) + "]"
    if isinstance(value, (list, tuple)):
        return "[" + " ".join(go_string_nested(v) for v in value) + "]"
    if callable(value) and not hasattr(value, "_files"):
        return f"<{kind_of(value)}>"  # never a Python repr in a rendered file or a message
    return str(value)


def go_string_nested(value) -> str:
    return "<nil>" if value is None else go_string(value)


def kind_of(value) -> str:
    if value is None:
        return "invalid"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "map"
    if isinstance(value, (list, tuple)):
        return "slice"
    return "struct"


def type_of(value) -> str:
    if value is None:
        return "<nil>"
    kind = kind_of(value)
    return {"map": "map[string]interface {}", "slice": "[]interface {}"}.get(kind, kind)


# ---- YAML as sigs.k8s.io/yaml writes it (keys sorted, sequences not indented) ------------------

_PLAIN = re.compile(r"^[A-Za-z_/][A-Za-z0-9_./-]*(?: [A-Za-z0-9_./-]+)*$")
_AMBIGUOUS = re.compile(
    r"^(?:[-+]?(?:\d[\d_]*(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|0x[0-9a-fA-F]+|0o?[0-7]+|"
    r"true|false|yes|no|on|off|y|n|null|~|\.inf|-\.inf|\.nan)$",
    re.I,
)


def yaml_scalar(value) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float):
        return format_float(value)
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if text == "":
        return '""'
    if _PLAIN.match(text) and not _AMBIGUOUS.match(text):
        return text
    return json.dumps(text, ensure_ascii=False)


def to_yaml(value, indent: int = 0) -> str:
    """toYaml: mappings with sorted keys, 2-space indent, block sequences at the key's column."""
    lines = _yaml_lines(value, 0)
    return "\n".join(lines)


def _yaml_lines(value, depth: int) -> list[str]:
    pad = "  " * depth
    if isinstance(value, dict):
        if not value:
            return [pad + "{}"]
        lines = []
        for key in sorted(value, key=str):
            item = value[key]
            key_text = yaml_scalar(str(key))
            if isinstance(item, dict) and item:
                lines.append(f"{pad}{key_text}:")
                lines += _yaml_lines(item, depth + 1)
            elif isinstance(item, (list, tuple)) and item:
                lines.append(f"{pad}{key_text}:")
                lines += _yaml_lines(item, depth)
            elif isinstance(item, str) and "\n" in item:
                lines.append(f"{pad}{key_text}: |{'-' if not item.endswith(chr(10)) else ''}")
                lines += [("  " * (depth + 1) + line) if line else "" for line in item.rstrip("\n").split("\n")]
            else:
                lines.append(f"{pad}{key_text}: {_inline(item)}")
        return lines
    if isinstance(value, (list, tuple)):
        if not value:
            return [pad + "[]"]
        lines = []
        for item in value:
            if isinstance(item, dict) and item:
                inner = _yaml_lines(item, depth + 1)
                lines.append(pad + "- " + inner[0][len("  " * (depth + 1)) :])
                lines += inner[1:]
            elif isinstance(item, (list, tuple)) and item:
                inner = _yaml_lines(item, depth + 1)
                lines.append(pad + "- " + inner[0][len("  " * (depth + 1)) :])
                lines += inner[1:]
            elif isinstance(item, str) and "\n" in item:
                lines.append(f"{pad}- |{'-' if not item.endswith(chr(10)) else ''}")
                lines += [("  " * (depth + 1) + line) if line else "" for line in item.rstrip("\n").split("\n")]
            else:
                lines.append(f"{pad}- {_inline(item)}")
        return lines
    if isinstance(value, str) and "\n" in value:
        return [pad + "|" + ("-" if not value.endswith("\n") else "")] + [
            ("  " + line) if line else "" for line in value.rstrip("\n").split("\n")
        ]
    return [pad + _inline(value)]


def _inline(value) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, (list, tuple)):
        return "[]"
    return yaml_scalar(value)


def to_json(value) -> str:
    def convert(item):
        if isinstance(item, float) and item.is_integer() and abs(item) < 1e21:
            return int(item)
        if isinstance(item, dict):
            return {str(k): convert(v) for k, v in sorted(item.items(), key=lambda kv: str(kv[0]))}
        if isinstance(item, (list, tuple)):
            return [convert(v) for v in item]
        return item

    return json.dumps(convert(value), separators=(",", ":"), ensure_ascii=False)


def from_plain_numbers(value):
    """Values as Helm sees them after JSON: every number a float64, keys strings, dates text."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return float(value)
    if isinstance(value, dict):
        return {str(k): from_plain_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_plain_numbers(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
