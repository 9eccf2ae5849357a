"""Read a TOML file and check it against a declared schema, reporting every problem at once.

tomllib gives no positions for keys, so `TomlFile.line_of` finds a key's line by scanning the
text for its table header and `key =`. That is enough for the flat files charvoice reads.
"""

from __future__ import annotations

import codecs
import copy
import difflib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from charvoice.errors import UTF16_HINT, Problem, looks_like_utf16

REQUIRED = object()

_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY_PART = re.compile(r"\"[^\"]*\"|'[^']*'|[^.\s]+")  # dotted keys; quoted parts may hold dots
_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")


@dataclass(frozen=True)
class Field:
    """A value's allowed type(s), default and limits."""

    types: type | tuple[type, ...]
    default: Any = REQUIRED
    choices: tuple[Any, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    items: type | None = None  # element type of a list


@dataclass(frozen=True)
class Table:
    """A TOML table with known keys."""

    fields: dict[str, Field | Table | MapOf]
    required: bool = False


@dataclass(frozen=True)
class MapOf:
    """A table whose keys are free (a lexicon, per-locale settings, line ids); values must match `value`."""

    value: Field | Table | MapOf


@dataclass
class TomlFile:
    path: Path
    display: str  # how the path is shown to the user
    text: str
    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path, display: str, problems: list[Problem]) -> TomlFile | None:
        try:
            raw = path.read_bytes()
            if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or looks_like_utf16(raw):
                problems.append(Problem(display, UTF16_HINT, 1, 1))
                return None
            text = raw.decode("utf-8-sig")  # Windows editors may add a byte-order mark
        except FileNotFoundError:
            problems.append(Problem(display, "file not found"))
            return None
        except UnicodeDecodeError as exc:
            problems.append(Problem(display, f"not UTF-8 text ({exc.reason} at byte {exc.start})"))
            return None
        doc = cls(path, display, text)
        try:
            doc.data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            message = str(exc)
            match = _POSITION.search(message)
            line = column = None
            if match:
                line, column = int(match.group(1)), int(match.group(2))
                message = message[: match.start()].strip()
            problems.append(Problem(display, f"invalid TOML: {message}", line, column))
            return None
        return doc

    def line_of(self, table: tuple[str, ...], key: str | None = None) -> int | None:
        """The line where `key` is set inside `[table]`, or its own `[table.key]` header (the
        table's header when key is None or not found)."""
        current: tuple[str, ...] = ()
        header_line = sub_table_line = None
        key_pattern = (
            re.compile(rf"^\s*(\"{re.escape(key)}\"|'{re.escape(key)}'|{re.escape(key)})\s*=") if key else None
        )
        for number, raw in enumerate(self.text.splitlines(), start=1):
            match = _HEADER.match(raw)
            if match:
                current = tuple(part.strip("\"'") for part in _KEY_PART.findall(match.group(1)))
                if current == table:
                    header_line = number
                    if key is None:
                        return number
                elif key is not None and current == (*table, key) and sub_table_line is None:
                    sub_table_line = number  # the key is a table of its own: `[table.key]`
                continue
            if key_pattern and current == table and key_pattern.match(raw):
                return number
        return sub_table_line or header_line

    def problem(self, table: tuple[str, ...], key: str | None, message: str) -> Problem:
        return Problem(self.display, message, self.line_of(table, key))


def _name(table: tuple[str, ...], key: str | None) -> str:
    parts = [*table, key] if key else list(table)
    return ".".join(parts) if parts else "(top level)"


def _type_name(types: type | tuple[type, ...]) -> str:
    names = {
        str: "a string",
        int: "an integer",
        float: "a number",
        bool: "true or false",
        list: "a list",
        dict: "a table",
    }
    if isinstance(types, tuple):
        return " or ".join(names.get(t, t.__name__) for t in types)
    return names.get(types, types.__name__)


def _check_value(
    doc: TomlFile, table: tuple[str, ...], key: str | None, value: Any, spec: Field, problems: list[Problem]
) -> Any:
    types = spec.types if isinstance(spec.types, tuple) else (spec.types,)
    # TOML integers are fine where a float is wanted; bools are not numbers here.
    if float in types and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if (isinstance(value, bool) and bool not in types) or not isinstance(value, types):
        problems.append(doc.problem(table, key, f"{_name(table, key)} must be {_type_name(spec.types)}, not {value!r}"))
        return REQUIRED
    if spec.items is not None and isinstance(value, list):
        bad = [item for item in value if not isinstance(item, spec.items)]
        if bad:
            problems.append(
                doc.problem(
                    table, key, f"{_name(table, key)} must hold only {_type_name(spec.items)} values, not {bad[0]!r}"
                )
            )
            return REQUIRED
    if spec.choices is not None and value not in spec.choices:
        options = ", ".join(repr(c) for c in spec.choices)
        hint = difflib.get_close_matches(str(value), [str(c) for c in spec.choices], n=1)
        extra = f" (did you mean {hint[0]!r}?)" if hint else ""
        problems.append(doc.problem(table, key, f"{_name(table, key)} must be one of {options}, not {value!r}{extra}"))
        return REQUIRED
    if (spec.minimum is not None and value < spec.minimum) or (spec.maximum is not None and value > spec.maximum):
        problems.append(
            doc.problem(
                table, key, f"{_name(table, key)} must be between {spec.minimum} and {spec.maximum}, not {value!r}"
            )
        )
        return REQUIRED
    return value


def validate(
    doc: TomlFile, schema: Table, problems: list[Problem], data: dict | None = None, table: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Return `data` with defaults filled in; append a Problem for every violation."""
    data = doc.data if data is None else data
    result: dict[str, Any] = {}
    for key in data:
        if key not in schema.fields:
            hint = difflib.get_close_matches(key, list(schema.fields), n=1, cutoff=0.6)
            extra = f" (did you mean {hint[0]!r}?)" if hint else ""
            where = f"[{'.'.join(table)}]" if table else "the top level"
            problems.append(doc.problem(table, key, f"unknown key {key!r} in {where}{extra}"))
    for key, spec in schema.fields.items():
        present = key in data
        value = data.get(key)
        if isinstance(spec, Table):
            if not present:
                if spec.required:
                    problems.append(Problem(doc.display, f"missing table [{_name(table, key)}]"))
                value = {}
            elif not isinstance(value, dict):
                problems.append(doc.problem(table, key, f"{_name(table, key)} must be a table"))
                value = {}
            result[key] = validate(doc, spec, problems, value, (*table, key))
        elif isinstance(spec, MapOf):
            if present and not isinstance(value, dict):
                problems.append(doc.problem(table, key, f"{_name(table, key)} must be a table"))
                value = {}
            result[key] = _validate_map(doc, spec, value or {}, (*table, key), problems)
        elif not present:
            if spec.default is REQUIRED:
                problems.append(doc.problem(table, None, f"missing required key {_name(table, key)}"))
            result[key] = None if spec.default is REQUIRED else copy.deepcopy(spec.default)
        else:
            checked = _check_value(doc, table, key, value, spec, problems)
            if checked is REQUIRED:
                checked = None if spec.default is REQUIRED else copy.deepcopy(spec.default)
            result[key] = checked
    return result


def _validate_map(
    doc: TomlFile, spec: MapOf, data: dict[str, Any], where: tuple[str, ...], problems: list[Problem]
) -> dict[str, Any]:
    checked: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(spec.value, Field):
            value = _check_value(doc, where, key, value, spec.value, problems)
            if value is not REQUIRED:
                checked[key] = value
        elif not isinstance(value, dict):
            problems.append(doc.problem(where, key, f"{_name(where, key)} must be a table"))
        elif isinstance(spec.value, Table):
            checked[key] = validate(doc, spec.value, problems, value, (*where, key))
        else:
            checked[key] = _validate_map(doc, spec.value, value, (*where, key), problems)
    return checked
