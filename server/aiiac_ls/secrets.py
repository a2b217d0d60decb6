"""Recognising credentials, and keeping them out of every output.

The patterns live here, in the engine, not in the rule that reports them: reports, problem
messages and logs mask any credential they would print even when the rule is switched off, the
finding is suppressed, or the text reached a message by accident (an exception quoting a value).
"""

from __future__ import annotations

import logging
import re

# (label, pattern); anchored on vendor prefixes to keep false positives rare
TOKEN_PATTERNS: list[tuple[str, re.Pattern]] = [
    ("Hugging Face token", re.compile(r"(?<![A-Za-z0-9_])hf_[A-Za-z0-9]{30,}")),
    ("Anthropic API key", re.compile(r"(?<![A-Za-z0-9_-])sk-ant-[A-Za-z0-9_-]{20,}")),
    ("OpenAI API key", re.compile(r"(?<![A-Za-z0-9_-])sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}")),
    ("AWS access key ID", re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA)[0-9A-Z]{16}(?![A-Z0-9])")),
    ("GitHub token", re.compile(r"(?<![A-Za-z0-9_])gh[pousr]_[A-Za-z0-9]{36,}")),
    ("Google API key", re.compile(r"(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}")),
    ("Replicate API token", re.compile(r"(?<![A-Za-z0-9_])r8_[A-Za-z0-9]{30,}")),
]
# what every pattern above must contain: one search in C before any of them runs (every finding's
# message and every string of a scan is checked)
_PREFIXES = ("hf_", "sk-", "AKIA", "ASIA", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "AIza", "r8_")
_QUICK = re.compile("|".join(_PREFIXES))
# an AWS secret access key has no prefix: it is recognised by the name it is given
_AWS_SECRET_NAME = re.compile(r"secret_access_key", re.I)
_AWS_SECRET_VALUE = re.compile(r"^[A-Za-z0-9/+=]{40}$")


def mask(secret: str) -> str:
    """Enough of a credential to recognise it, never enough to use it."""
    return secret[:4] + "…" if len(secret) > 8 else "…"


def _is_real(label: str, token: str) -> bool:
    if token.endswith("EXAMPLE") or "xxxx" in token.lower():
        return False  # documentation placeholders
    if label == "OpenAI API key" and not (re.search(r"\d", token) and re.search(r"[A-Z]", token)):
        return False  # `sk-learn-...` style names are not keys
    return True


def find_credential(text: str) -> tuple[str, str] | None:
    """(label, masked value) of the first credential in `text`."""
    if not _QUICK.search(text):
        return None
    for label, pattern in TOKEN_PATTERNS:
        for match in pattern.finditer(text):
            if _is_real(label, match.group(0)):
                return label, mask(match.group(0))
    return None


def credential_in(name: str, value: str) -> tuple[str, str] | None:
    """(label, masked value) of a credential in `value`, a configuration value written under
    `name` (its key, or the name of its environment variable)."""
    found = find_credential(value)
    if found is None and _AWS_SECRET_NAME.search(name) and _AWS_SECRET_VALUE.match(value.strip()):
        found = ("AWS secret access key", mask(value.strip()))
    return found


def could_hold_credential(yaml_text: str) -> bool:
    """Whether any key or value read from `yaml_text` could make `credential_in` find a
    credential. False only when the text has none of the token prefixes, no AWS key name and no
    backslash: YAML writes a value's characters as they are unless escaped, and folding a line
    only ever adds a space or a line break, never joins two pieces into a prefix."""
    if "\\" in yaml_text or any(prefix in yaml_text for prefix in _PREFIXES):  # (faster than `_QUICK` on long texts)
        return True
    if yaml_text.isascii():  # (a tenth of the time of the case-blind regex)
        return "secret_access_key" in yaml_text.lower()
    return _AWS_SECRET_NAME.search(yaml_text) is not None


def redact_text(text: str) -> str:
    """`text` with every recognisable credential masked."""
    if not text or not _QUICK.search(text):
        return text
    for label, pattern in TOKEN_PATTERNS:

        def masked(match: re.Match[str], label: str = label) -> str:
            return mask(match.group(0)) if _is_real(label, match.group(0)) else match.group(0)

        text = pattern.sub(masked, text)
    return text


class _RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact_text(super().format(record))


def configure_logging(level: int) -> None:
    """Log to stderr, every record (message and traceback) passed through `redact_text`: an
    exception in a rule may quote the value it choked on."""
    handler = logging.StreamHandler()
    handler.setFormatter(_RedactingFormatter("aiiac-ls %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("pygls").setLevel(max(level, logging.WARNING))
