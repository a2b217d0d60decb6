"""The Rego side of custom rules, run in a worker process (see `rego.py`).

Everything here speaks plain data (paths, texts, JSON-able documents), so it can live behind a
pipe: a policy that loops for minutes, or native code that crashes, takes the worker down and
not the language server or the scan.
"""

from __future__ import annotations

import json
import os
import re

FINDING_RULES = ("deny", "violation", "warn")
_PACKAGE = re.compile(r"^\s*package\s+([A-Za-z_][\w.]*)", re.M)
_ERROR_AT = re.compile(r"\(error (\d+):")
_ERROR_MESSAGE = re.compile(r"\(errormsg (\d+):")
_METADATA = re.compile(r"^metadata\s*:?=", re.M)


def is_native(package: str) -> bool:
    return package == "aiiac" or package.startswith("aiiac.")


class Runtime:
    """Modules compiled into one bundle per kind of package (native, conftest). A query outside
    a bundle recompiles every module (about 2 ms each time); a bundle query costs well under 1 ms
    and answers for all packages of its kind at once."""

    def __init__(self):
        import regopy

        self._regopy = regopy
        self._runner = regopy.Interpreter()
        self._texts: list[tuple[str, str]] = []
        self._bundles: dict[bool, tuple[object, list[str]]] = {}
        self._alone: dict[str, object] = {}

    def load(self, modules: list[tuple[str, str]]) -> dict:
        """-> {"packages": [(path, package, char offset of the name)], "problems": [(path,
        message, char offset or None, length)], "metadata": {id: {...}}}"""
        packages, problems = [], []
        for path, text in modules:
            match = _PACKAGE.search(text)
            if match is None:
                problems.append((path, "Rego file has no `package` declaration", 0, 0))
                continue
            problem = self._compile_problem(path, text)
            if problem is not None:
                problems.append(problem)
                continue
            self._texts.append((path, text))
            packages.append((path, match.group(1), match.start(1)))
        names = list(dict.fromkeys(package for _, package, _ in packages))
        by_path = {package: path for path, package, _ in packages}
        for native in (True, False):
            chosen = [name for name in names if is_native(name) == native]
            if chosen:
                problems.extend(self._build(chosen, native, by_path))
        return {"packages": packages, "problems": problems, "metadata": self._metadata(packages)}

    def _metadata(self, packages: list[tuple[str, str, int]]) -> dict:
        """The `metadata` objects of native packages (only that rule is evaluated)."""
        metadata: dict = {}
        texts = dict(self._texts)
        interpreter = None
        for path, package, _ in packages:
            if not is_native(package) or not _METADATA.search(texts.get(path, "")):
                continue
            if interpreter is None:
                interpreter = self._regopy.Interpreter()
                for module_path, text in self._texts:
                    interpreter.add_module(module_path, text)
            table = _query(interpreter, f"data.{package}.metadata")
            if isinstance(table, dict):
                metadata.update({str(k): v for k, v in table.items() if isinstance(v, dict)})
        return metadata

    def evaluate(self, batch: list[tuple[dict | None, dict | None]]) -> tuple[list[dict], list[tuple[str, str]]]:
        """For each (native document, conftest input): {package: its rules' values}; and the
        runtime errors as (package, message)."""
        results, errors = [], []
        for native_document, conftest_document in batch:
            answers: dict = {}
            for native, document in ((True, native_document), (False, conftest_document)):
                if native in self._bundles and document is not None:
                    found, failed = self.evaluate_one(native, document)
                    answers.update(found)
                    errors.extend(failed)
            results.append(answers)
        return results, errors

    def evaluate_one(self, native: bool, document) -> tuple[dict, list[tuple[str, str]]]:
        bundle, packages = self._bundles[native]
        ok, values, detail = self._run(bundle, document)
        if ok:
            return dict(zip(packages, values, strict=False)), []
        if len(packages) == 1:
            return {}, [(packages[0], detail)]
        found, errors = {}, []
        for package in packages:  # which package failed is not said: ask each alone
            if package not in self._alone:
                self._alone[package] = self._attempt([package])
            ok, values, detail = self._run(self._alone[package], document)
            if ok and values:
                found[package] = values[0]
            elif not ok:
                errors.append((package, detail))
        return found, errors

    # ---- internals --------------------------------------------------------------------------

    def _attempt(self, packages: list[str]):
        interpreter = self._regopy.Interpreter()
        for path, text in self._texts:
            interpreter.add_module(path, text)
        return interpreter.build("x := [" + ", ".join(f"data.{p}" for p in packages) + "]", [])

    def _build(self, packages: list[str], native: bool, by_path: dict[str, str]) -> list[tuple]:
        """One bundle for the packages; a package that stops the build is reported and left out."""
        try:
            self._bundles[native] = (self._attempt(packages), packages)
            return []
        except self._regopy.RegoError:
            pass
        good, problems = [], []
        for package in packages:
            try:
                self._attempt([package])
                good.append(package)
            except self._regopy.RegoError as exc:
                detail = _length_prefixed(str(exc), _ERROR_MESSAGE) or "does not compile"
                problems.append((by_path[package], f"Rego: {detail}", None, 0))
        if good:
            try:
                self._bundles[native] = (self._attempt(good), good)
            except self._regopy.RegoError:
                pass
        return problems

    def _run(self, bundle, document) -> tuple[bool, list, str]:
        from regopy.rego_shared import rego_bundle_query, rego_free_output, rego_output_ok, rego_output_string

        self._runner.set_input(document)
        output = rego_bundle_query(self._runner._impl, bundle._impl)
        try:
            ok, text = rego_output_ok(output), rego_output_string(output)
        finally:
            rego_free_output(output)
        if not ok or text.startswith("(error"):
            detail = _length_prefixed(text, _ERROR_MESSAGE) if ok else None
            return False, [], detail or "conflicting values or a failing built-in"
        try:
            answer = json.loads(text)
        except ValueError:
            return False, [], "unreadable result"
        values = answer.get("bindings", {}).get("x") if isinstance(answer, dict) else None
        return True, values if isinstance(values, list) else [], ""

    def _compile_problem(self, path: str, text: str) -> tuple | None:
        """Compile the module alone, so one broken file neither hides the others nor loses its line."""
        probe = self._regopy.Interpreter()
        try:
            probe.add_module(path, text)
        except self._regopy.RegoError as exc:
            message = _length_prefixed(str(exc), _ERROR_MESSAGE) or "invalid Rego"
            where = _ERROR_AT.search(str(exc))
            if where is not None:
                rest = str(exc)[where.end() + int(where.group(1)) :]
                location = re.match(r"\|(\d+)\|(\d+)", rest)
                if location is not None:
                    start = _char_offset(text, int(location.group(1)))
                    end = _char_offset(text, int(location.group(1)) + int(location.group(2)))
                    return path, f"Rego: {message}", start, max(end - start, 0)
            return path, f"Rego: {message}", 0, 0
        return None


def _query(interpreter, query: str):
    """The value of a one-expression query, or None. (Through the C API: regopy's `Node`
    objects outlive their `Output` and crash when read after it is collected.)"""
    from regopy.rego_shared import rego_free_output, rego_output_ok, rego_output_string, rego_query

    try:
        output = rego_query(interpreter._impl, query)
    except Exception:
        return None
    try:
        ok, text = rego_output_ok(output), rego_output_string(output)
    finally:
        rego_free_output(output)
    try:
        expressions = json.loads(text).get("expressions") if ok else None
    except (ValueError, AttributeError):
        return None
    return expressions[0] if isinstance(expressions, list) and expressions else None


def _length_prefixed(text: str, pattern: re.Pattern) -> str | None:
    """`(errormsg 24:Invalid boolean operator)` -> the 24 characters after the colon."""
    match = pattern.search(text)
    if match is None:
        return None
    length = int(match.group(1))
    return text[match.end() : match.end() + length]


def _char_offset(text: str, byte_offset: int) -> int:
    """regopy reports UTF-8 byte offsets; spans count characters."""
    return len(text.encode("utf-8")[:byte_offset].decode("utf-8", errors="ignore"))


def serve(connection) -> None:
    """The worker's loop: ("load", modules) and ("evaluate", batch) until the pipe closes."""
    try:
        os.dup2(2, 1)  # regopy prints compile errors on fd 1: never into a report or the LSP stream
    except OSError:
        pass
    runtime = None
    while True:
        try:
            request, payload = connection.recv()
        except (EOFError, OSError):
            return
        try:
            if request == "load":
                runtime = Runtime()
                connection.send(("ok", runtime.load(payload)))
            elif request == "evaluate" and runtime is not None:
                connection.send(("ok", runtime.evaluate(payload)))
            else:
                connection.send(("error", f"unknown request {request}"))
        except Exception as exc:  # report, keep serving
            connection.send(("error", f"{type(exc).__name__}: {exc}"))
