"""Template functions: Go's built-ins, the sprig functions real charts use, and Helm's own.

Nothing here touches the network, the clock or randomness in a way that changes between runs:
`now` is a fixed instant, random strings are seeded from their arguments, and certificate
generators return placeholders. `lookup` always returns an empty map (there is no cluster).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import random
import re
import string
import urllib.parse
import uuid
from datetime import datetime, timezone

from .gotypes import format_float, from_plain_numbers, go_string, kind_of, to_json, to_yaml, truthy, type_of

FIXED_NOW = datetime(2024, 1, 1, 0, 0, 0, tzinfo=timezone.utc)


class HelmFail(Exception):
    pass


def _num(value):
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)):
        return value
    if value is None:
        return 0
    text = str(value).strip()
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return 0


def _to_int(value) -> int:
    number = _num(value)
    return int(number)


MAX_GENERATED = 1_000_000  # items or characters one function call may produce


def _size(value, unit: int = 1) -> int:
    """A count that a function turns into that many items or characters (`until`, `repeat`,
    `indent`, printf widths, ...), bounded: `until 1000000000` must be an error, not 8 GB."""
    number = _to_int(value)
    if number * max(unit, 1) > MAX_GENERATED:
        raise ValueError(f"would produce {number * max(unit, 1):,} items or characters; the bound is {MAX_GENERATED:,}")
    return number


def _to_float(value) -> float:
    return float(_num(value))


def _arith(op):
    def function(*args):
        numbers = [_num(a) for a in args]
        result = numbers[0]
        for number in numbers[1:]:
            result = op(result, number)
        if all(isinstance(n, int) and not isinstance(n, bool) for n in numbers):
            return int(result)
        return result

    return function


def _div(a, b):
    a, b = _num(a), _num(b)
    if isinstance(a, int) and isinstance(b, int):
        if b == 0:
            raise ZeroDivisionError("integer divide by zero")
        quotient = abs(a) // abs(b)
        return quotient if (a >= 0) == (b >= 0) else -quotient
    return a / b


def _mod(a, b):
    a, b = _to_int(a), _to_int(b)
    return a - b * int(a / b)


def _eq(first, *others):
    def same(a, b):
        if isinstance(a, bool) or isinstance(b, bool):
            return type(a) is type(b) and a == b
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            return a == b
        if a is None or b is None:
            return a is None and b is None
        return type(a) is type(b) and a == b

    return any(same(first, other) for other in others)


def _compare(op):
    def function(a, b):
        if isinstance(a, str) and isinstance(b, str):
            return op(a, b)
        return op(_num(a), _num(b))

    return function


def _default(default, *values):
    value = values[-1] if values else None
    return value if truthy(value) else default


def _empty(value) -> bool:
    return not truthy(value)


def _coalesce(*values):
    for value in values:
        if truthy(value):
            return value
    return None


def _ternary(true_value, false_value, condition):
    return true_value if truthy(condition) else false_value


def _required(message, value=None):
    if value is None or value == "":
        raise HelmFail(message)
    return value


def _fail(message):
    raise HelmFail(message)


def _quote(*values):
    """sprig: each non-nil argument quoted, nil ones skipped."""
    return " ".join(json.dumps(go_string(v), ensure_ascii=False) for v in values if v is not None)


def _squote(*values):
    return " ".join(f"'{go_string(v)}'" for v in values)


def _indent(spaces, text):
    text = str(text if text is not None else "")
    pad = " " * _size(spaces, text.count("\n") + 1)
    return pad + text.replace("\n", "\n" + pad)


def _nindent(spaces, text):
    return "\n" + _indent(spaces, text)


def _trunc(length, text):
    length = _to_int(length)
    text = go_string(text)
    return text[:length] if length >= 0 else text[length:]


def _dict(*pairs):
    result = {}
    for index in range(0, len(pairs) - 1, 2):
        result[go_string(pairs[index])] = pairs[index + 1]
    if len(pairs) % 2:
        result[go_string(pairs[-1])] = ""
    return result


def _set(mapping, key, value):
    mapping[key] = value
    return mapping


def _unset(mapping, key):
    mapping.pop(key, None)
    return mapping


def _merge(destination, *sources, overwrite=False):
    """sprig merge (mergo): fill keys the destination lacks (or has as nil), recursing into maps;
    with `overwrite`, non-empty source values replace the destination's. Maps are shared, as in Go."""
    if not isinstance(destination, dict):
        return destination
    for source in sources:
        if not isinstance(source, dict):
            continue
        for key, value in source.items():
            current = destination.get(key)
            if isinstance(current, dict) and isinstance(value, dict):
                _merge(current, value, overwrite=overwrite)
            elif key not in destination or current is None or (overwrite and truthy(value)):
                destination[key] = value
    return destination


def _merge_overwrite(destination, *sources):
    return _merge(destination, *sources, overwrite=True)


def _get(mapping, key):
    return mapping.get(key, "") if isinstance(mapping, dict) else ""


def _has_key(mapping, key):
    return isinstance(mapping, dict) and key in mapping


def _pluck(key, *mappings):
    return [m[key] for m in mappings if isinstance(m, dict) and key in m]


def _omit(mapping, *keys):
    return {k: v for k, v in (mapping or {}).items() if k not in keys}


def _pick(mapping, *keys):
    return {k: v for k, v in (mapping or {}).items() if k in keys}


def _dig(*args):
    *keys, default, mapping = args
    value = mapping
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            return default
        value = value[key]
    return value


def _list(*items):
    return list(items)


def _append(items, value):
    return [*(items or []), value]


def _prepend(items, value):
    return [value, *(items or [])]


def _concat(*lists):
    return [item for items in lists for item in (items or [])]


def _uniq(items):
    result = []
    for item in items or []:
        if item not in result:
            result.append(item)
    return result


def _without(items, *remove):
    return [item for item in items or [] if item not in remove]


def _has(needle, haystack):
    return needle in (haystack or [])


def _first(items):
    return items[0] if items else None


def _last(items):
    return items[-1] if items else None


def _index(collection, *keys):
    value = collection
    for key in keys:
        if value is None:
            return None
        if isinstance(value, dict):
            value = value.get(key)
        else:
            value = value[_to_int(key)]
    return value


def _len(value):
    return 0 if value is None else len(value)


def _slice(collection, *indexes):
    if not indexes:
        return collection
    start = _to_int(indexes[0])
    end = _to_int(indexes[1]) if len(indexes) > 1 else len(collection)
    return collection[start:end]


def _print(*values):
    out = []
    for index, value in enumerate(values):
        if index and not isinstance(value, str) and not isinstance(values[index - 1], str):
            out.append(" ")
        out.append(go_string_print(value))
    return "".join(out)


def go_string_print(value) -> str:
    return "<nil>" if value is None else go_string(value)


_VERB = re.compile(r"%([-+# 0]*)(\d+|\*)?(?:\.(\d+))?([vdsqtfgexXobcTUp%])")


def _printf(fmt, *args):
    values = iter(args)

    def replace(match: re.Match) -> str:
        flags, width, precision, verb = match.groups()
        if verb == "%":
            return "%"
        try:
            value = next(values)
        except StopIteration:
            return f"%!{verb}(MISSING)"
        if verb in "sv":
            text = go_string_print(value) if value is not None or verb == "v" else "%!s(<nil>)"
        elif verb == "q":
            text = json.dumps(go_string(value), ensure_ascii=False)
        elif verb == "d":
            text = str(_to_int(value))
        elif verb == "t":
            text = "true" if value is True else "false" if value is False else go_string(value)
        elif verb in "fF":
            text = f"%.{precision or 6}f" % _to_float(value)
        elif verb in "eg":
            text = (
                format_float(_to_float(value))
                if verb == "g" and precision is None
                else ("%" + ("." + precision if precision else "") + verb) % _to_float(value)
            )
        elif verb in "xX":
            text = format(_to_int(value), verb) if not isinstance(value, str) else value.encode().hex()
        elif verb == "o":
            text = format(_to_int(value), "o")
        elif verb == "T":
            text = type_of(value)
        else:
            text = go_string(value)
        if width and width != "*":
            padded = _size(width)
            text = text.ljust(padded) if "-" in flags else text.rjust(padded, "0" if "0" in flags else " ")
        return text

    result = _VERB.sub(replace, str(fmt))
    extra = list(values)
    if extra:
        result += "%!(EXTRA " + ", ".join(f"{type_of(v)}={go_string(v)}" for v in extra) + ")"
    return result


def _rand_alpha_num(length, *_):
    generator = random.Random(f"aiiac-{length}")
    return "".join(generator.choice(string.ascii_letters + string.digits) for _ in range(_size(length)))


def _rand_alpha(length, *_):
    generator = random.Random(f"aiiac-a-{length}")
    return "".join(generator.choice(string.ascii_letters) for _ in range(_size(length)))


def _from_yaml(text):
    from ruamel.yaml import YAML

    try:
        loaded = YAML(typ="safe", pure=True).load(text or "")
    except Exception as exc:  # Helm puts the error in the result
        return {"Error": str(exc)}
    return from_plain_numbers(loaded if loaded is not None else {})


def _from_yaml_array(text):
    loaded = _from_yaml(text)
    return loaded if isinstance(loaded, list) else []


def _from_json(text):
    try:
        return from_plain_numbers(json.loads(text))
    except (ValueError, TypeError):
        return {}


def _regex_match(pattern, text):
    return re.search(_go_regex(pattern), go_string(text)) is not None


def _regex_find(pattern, text):
    match = re.search(_go_regex(pattern), go_string(text))
    return match.group(0) if match else ""


def _regex_find_all(pattern, text, count):
    found = [m.group(0) for m in re.finditer(_go_regex(pattern), go_string(text))]
    count = _to_int(count)
    return found if count < 0 else found[:count]


def _regex_replace_all(pattern, text, replacement):
    replacement = re.sub(r"\$\{?(\w+)\}?", lambda m: f"\\g<{m.group(1)}>", str(replacement))
    return re.sub(_go_regex(pattern), replacement, go_string(text))


def _regex_split(pattern, text, count):
    parts = re.split(_go_regex(pattern), go_string(text))
    count = _to_int(count)
    return parts if count < 0 else parts[:count]


def _go_regex(pattern: str) -> str:
    return re.sub(r"\(\?P<", "(?P<", str(pattern))


_SEMVER = re.compile(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$")


def _semver_tuple(text):
    match = _SEMVER.match(str(text).strip())
    if not match:
        raise ValueError(f"invalid semantic version {text!r}")
    major, minor, patch, pre = match.groups()
    return int(major), int(minor or 0), int(patch or 0), pre


def _semver_compare(constraint, version):
    """Constraints as Masterminds/semver: comma (AND), `||` (OR), operators = != > < >= <= ~ ^."""
    try:
        target = _semver_tuple(version)
    except ValueError:
        raise HelmFail(f"invalid semantic version {version!r}") from None
    for alternative in str(constraint).split("||"):
        if all(
            _semver_check(part.strip(), target)
            for part in re.split(r"[, ]+(?=[<>=!~^]|\d)", alternative.strip())
            if part.strip()
        ):
            return True
    return False


def _semver_check(part: str, target) -> bool:
    match = re.match(r"^(>=|<=|!=|=|>|<|~|\^)?\s*v?([\dxX*]+(?:\.[\dxX*]+)?(?:\.[\dxX*]+)?(?:-[0-9A-Za-z.-]+)?)$", part)
    if not match:
        return False
    op, text = match.group(1) or "=", match.group(2)
    pre_release = "-" in text
    numbers = re.split(r"[.-]", text)
    wildcard = [n in ("x", "X", "*") for n in numbers[:3]]
    base = tuple(int(n) if n.isdigit() else 0 for n in (numbers + ["0", "0"])[:3])
    version = target[:3]
    if target[3] and not pre_release and op not in ("!=",):
        # pre-releases satisfy only constraints that mention a pre-release (Masterminds behaviour)
        return False
    if any(wildcard) or (len([n for n in numbers[:3] if n]) < 3 and op == "="):
        depth = next((i for i, w in enumerate(wildcard) if w), min(len(numbers), 3))
        return version[:depth] == base[:depth]
    if op == "~":
        return version >= base and version[:2] == base[:2]
    if op == "^":
        return version >= base and version[0] == base[0]
    return {
        "=": version == base,
        "!=": version != base,
        ">": version > base,
        "<": version < base,
        ">=": version >= base,
        "<=": version <= base,
    }[op]


def _semver(text):
    major, minor, patch, pre = _semver_tuple(text)
    return {"Major": major, "Minor": minor, "Patch": patch, "Prerelease": pre or "", "Original": str(text)}


def _placeholder_cert(*_args):
    return {
        "Cert": "-----BEGIN CERTIFICATE-----\nPLACEHOLDER\n-----END CERTIFICATE-----\n",
        "Key": "-----BEGIN RSA PRIVATE KEY-----\nPLACEHOLDER\n-----END RSA PRIVATE KEY-----\n",
    }


def _date(fmt, when=None):
    return FIXED_NOW.strftime("%Y-%m-%d")


def _until(count):
    return list(range(_size(count)))


def _until_step(start, stop, step):
    numbers = range(_to_int(start), _to_int(stop), _to_int(step))
    _size(len(numbers))
    return list(numbers)


def _seq(*args):
    numbers = [_to_int(a) for a in args]
    if len(numbers) == 1:
        sequence = range(1, numbers[0] + 1)
    elif len(numbers) == 2:
        step = 1 if numbers[1] >= numbers[0] else -1
        sequence = range(numbers[0], numbers[1] + step, step)
    else:
        sequence = range(numbers[0], numbers[2] + (1 if numbers[1] > 0 else -1), numbers[1])
    _size(len(sequence))
    return " ".join(str(i) for i in sequence)


def _split(sep, text):
    return {f"_{i}": part for i, part in enumerate(go_string(text).split(sep))}


def _to_strings(items):
    return [go_string(item) for item in items or []]


def _abbrev(width, text):
    width = _to_int(width)
    text = go_string(text)
    return text if len(text) <= width else text[: max(width - 3, 0)] + "..."


def _cat(*values):
    return " ".join(go_string(v) for v in values if v is not None)


def _words(pattern):
    return lambda text: pattern(go_string(text))


def _camel(text):
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[_\-\s]+", text) if part)


def _snake(text):
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", text)
    return re.sub(r"([a-z\d])([A-Z])", r"\1_\2", text).replace("-", "_").lower()


def _kebab(text):
    return _snake(text).replace("_", "-")


def _lookup(*_args):
    return {}


def _deep_copy(value):
    return copy.deepcopy(value)


def _sha1(text):
    return hashlib.sha1(go_string(text).encode()).hexdigest()


def _sha256(text):
    return hashlib.sha256(go_string(text).encode()).hexdigest()


def _adler32(text):
    import zlib

    return str(zlib.adler32(go_string(text).encode()))


def _b64enc(text):
    return base64.b64encode(go_string(text).encode()).decode()


def _b64dec(text):
    try:
        return base64.b64decode(go_string(text)).decode("utf-8", "replace")
    except ValueError:
        return ""


def _to_toml(value):
    lines = []
    for key, item in (value or {}).items():
        if not isinstance(item, dict):
            lines.append(f"{key} = {json.dumps(item)}")
    return "\n".join(lines) + "\n"


def _keys(*mappings):
    return [key for mapping in mappings for key in (mapping or {})]


def _values(mapping):
    return list((mapping or {}).values())


def _sort_alpha(items):
    return sorted(go_string(item) for item in items or [])


def _reverse(items):
    return list(reversed(items or []))


def _compact(items):
    return [item for item in items or [] if truthy(item)]


FUNCTIONS = {
    # Go built-ins
    "eq": _eq,
    "ne": lambda a, b: not _eq(a, b),
    "lt": _compare(lambda a, b: a < b),
    "le": _compare(lambda a, b: a <= b),
    "gt": _compare(lambda a, b: a > b),
    "ge": _compare(lambda a, b: a >= b),
    "not": lambda v: not truthy(v),
    "len": _len,
    "index": _index,
    "slice": _slice,
    "print": _print,
    "println": lambda *v: _print(*v) + "\n",
    "printf": _printf,
    "html": lambda v: (
        go_string(v)
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&#34;")
        .replace("'", "&#39;")
    ),
    "js": lambda v: json.dumps(go_string(v))[1:-1],
    "urlquery": lambda *v: urllib.parse.quote_plus(_print(*v)),
    "call": lambda fn, *args: fn(*args),
    # Helm
    "toYaml": lambda v: to_yaml(v) if v is not None else "null",
    "toYamlPretty": lambda v: to_yaml(v),
    "fromYaml": _from_yaml,
    "fromYamlArray": _from_yaml_array,
    "toJson": to_json,
    "mustToJson": to_json,
    "toPrettyJson": lambda v: json.dumps(json.loads(to_json(v)), indent=2, ensure_ascii=False),
    "toRawJson": to_json,
    "fromJson": _from_json,
    "fromJsonArray": lambda t: _from_json(t) if isinstance(_from_json(t), list) else [],
    "toToml": _to_toml,
    "required": _required,
    "fail": _fail,
    "lookup": _lookup,
    # sprig: defaults and flow
    "default": _default,
    "empty": _empty,
    "coalesce": _coalesce,
    "ternary": _ternary,
    "required_": _required,
    "typeOf": type_of,
    "typeIs": lambda t, v: type_of(v) == t,
    "typeIsLike": lambda t, v: type_of(v) in (t, "*" + t),
    "kindOf": kind_of,
    "kindIs": lambda k, v: kind_of(v) == k,
    "deepEqual": lambda a, b: a == b,
    # strings
    "quote": _quote,
    "squote": _squote,
    "upper": lambda s: go_string(s).upper(),
    "lower": lambda s: go_string(s).lower(),
    "title": lambda s: re.sub(r"\b[a-z]", lambda m: m.group(0).upper(), go_string(s)),
    "untitle": lambda s: re.sub(r"\b[A-Z]", lambda m: m.group(0).lower(), go_string(s)),
    "trim": lambda s: go_string(s).strip(),
    "trimAll": lambda c, s: go_string(s).strip(c),
    "trimPrefix": lambda p, s: go_string(s)[len(p) :] if go_string(s).startswith(p) else go_string(s),
    "trimSuffix": lambda p, s: go_string(s)[: -len(p)] if p and go_string(s).endswith(p) else go_string(s),
    "trunc": _trunc,
    "abbrev": _abbrev,
    "contains": lambda sub, s: sub in go_string(s),
    "hasPrefix": lambda p, s: go_string(s).startswith(p),
    "hasSuffix": lambda p, s: go_string(s).endswith(p),
    "replace": lambda old, new, s: go_string(s).replace(old, new),
    "repeat": lambda n, s: go_string(s) * _size(n, len(go_string(s))),
    "substr": lambda a, b, s: go_string(s)[_to_int(a) : _to_int(b) if _to_int(b) >= 0 else None],
    "nospace": lambda s: re.sub(r"\s", "", go_string(s)),
    "indent": _indent,
    "nindent": _nindent,
    "cat": _cat,
    "split": _split,
    "splitList": lambda sep, s: go_string(s).split(sep),
    "splitn": lambda sep, n, s: {f"_{i}": p for i, p in enumerate(go_string(s).split(sep, _to_int(n) - 1))},
    "join": lambda sep, items: go_string(sep).join(go_string(i) for i in (items or [])),
    "toString": go_string,
    "toStrings": _to_strings,
    "camelcase": _camel,
    "snakecase": _snake,
    "kebabcase": _kebab,
    "wrap": lambda n, s: go_string(s),
    "plural": lambda one, many, n: one if _to_int(n) == 1 else many,
    "regexMatch": _regex_match,
    "mustRegexMatch": _regex_match,
    "regexFind": _regex_find,
    "regexFindAll": _regex_find_all,
    "regexReplaceAll": _regex_replace_all,
    "regexReplaceAllLiteral": lambda p, s, r: re.sub(_go_regex(p), lambda _: r, go_string(s)),
    "regexSplit": _regex_split,
    "randAlphaNum": _rand_alpha_num,
    "randAlpha": _rand_alpha,
    "randNumeric": lambda n: "".join(random.Random(f"n{n}").choice(string.digits) for _ in range(_to_int(n))),
    "randAscii": _rand_alpha_num,
    "uuidv4": lambda: str(uuid.UUID(int=0x12345678123456781234567812345678)),
    "b64enc": _b64enc,
    "b64dec": _b64dec,
    "sha1sum": _sha1,
    "sha256sum": _sha256,
    "adler32sum": _adler32,
    "htpasswd": lambda user, password: f"{user}:$2a$10$PLACEHOLDER",
    "derivePassword": lambda *a: "PLACEHOLDER",
    "genPrivateKey": lambda *a: "-----BEGIN PRIVATE KEY-----\nPLACEHOLDER\n-----END PRIVATE KEY-----\n",
    "genCA": _placeholder_cert,
    "genSelfSignedCert": _placeholder_cert,
    "genSignedCert": _placeholder_cert,
    "genCAWithKey": _placeholder_cert,
    "encryptAES": lambda k, t: "PLACEHOLDER",
    "base": lambda p: go_string(p).rstrip("/").rsplit("/", 1)[-1] or "/",
    "dir": lambda p: (go_string(p).rsplit("/", 1)[0] or "/") if "/" in go_string(p) else ".",
    "ext": lambda p: ("." + go_string(p).rsplit(".", 1)[1]) if "." in go_string(p).rsplit("/", 1)[-1] else "",
    "clean": lambda p: re.sub(r"/+", "/", go_string(p)),
    "isAbs": lambda p: go_string(p).startswith("/"),
    # numbers
    "add": _arith(lambda a, b: a + b),
    "sub": _arith(lambda a, b: a - b),
    "mul": _arith(lambda a, b: a * b),
    "div": _div,
    "divf": lambda a, *b: _to_float(a) / _to_float(b[0]) if b else _to_float(a),
    "mod": _mod,
    "addf": lambda *a: sum(_to_float(v) for v in a),
    "subf": lambda a, *b: _to_float(a) - sum(_to_float(v) for v in b),
    "mulf": lambda *a: __import__("math").prod(_to_float(v) for v in a),
    "add1": lambda a: _num(a) + 1,
    "max": lambda *a: max(_num(v) for v in a),
    "min": lambda *a: min(_num(v) for v in a),
    "floor": lambda a: float(int(_to_float(a) // 1)),
    "ceil": lambda a: float(-(-_to_float(a) // 1)),
    "round": lambda a, p=0: round(_to_float(a), _to_int(p)),
    "int": _to_int,
    "int64": _to_int,
    "float64": _to_float,
    "atoi": _to_int,
    "toDecimal": _to_int,
    "until": _until,
    "untilStep": _until_step,
    "seq": _seq,
    # lists
    "list": _list,
    "tuple": _list,
    "append": _append,
    "mustAppend": _append,
    "prepend": _prepend,
    "concat": _concat,
    "first": _first,
    "mustFirst": _first,
    "last": _last,
    "mustLast": _last,
    "rest": lambda items: (items or [])[1:],
    "initial": lambda items: (items or [])[:-1],
    "uniq": _uniq,
    "without": _without,
    "has": _has,
    "compact": _compact,
    "reverse": _reverse,
    "sortAlpha": _sort_alpha,
    "chunk": lambda n, items: [items[i : i + _to_int(n)] for i in range(0, len(items or []), _to_int(n))],
    # dicts
    "dict": _dict,
    "set": _set,
    "unset": _unset,
    "get": _get,
    "hasKey": _has_key,
    "pluck": _pluck,
    "keys": _keys,
    "values": _values,
    "merge": _merge,
    "mustMerge": _merge,
    "mergeOverwrite": _merge_overwrite,
    "mustMergeOverwrite": _merge_overwrite,
    "omit": _omit,
    "pick": _pick,
    "dig": _dig,
    "deepCopy": _deep_copy,
    "mustDeepCopy": _deep_copy,
    # dates and versions
    "now": lambda: FIXED_NOW,
    "date": _date,
    "dateInZone": lambda f, t, z: _date(f, t),
    "htmlDate": lambda t=None: FIXED_NOW.strftime("%Y-%m-%d"),
    "unixEpoch": lambda t=None: str(int(FIXED_NOW.timestamp())),
    "semverCompare": _semver_compare,
    "semver": _semver,
}

# functions through which a value keeps pointing at the values key it came from
TRANSPARENT = {
    "quote",
    "squote",
    "toString",
    "toYaml",
    "toYamlPretty",
    "nindent",
    "indent",
    "trim",
    "upper",
    "lower",
    "toJson",
    "int",
    "int64",
    "float64",
    "b64enc",
}
