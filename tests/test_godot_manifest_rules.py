"""The addon's manifest reading rules (locale fallback, res:// paths) agree with charvoice's.

One table of cases, game/test/data/manifest_rules_cases.json, is checked three ways: here against
the Python reference in tests/addon_rules.py, here against the GDScript functions of
runtime/charvoice_manifest.gd run by a small evaluator for the subset of GDScript they use
(parsed with gdtoolkit), and in Godot by the GUT test game/test/test_charvoice_manifest.gd.
The evaluator implements the Godot String/Array/Dictionary methods those functions call with
Godot's semantics; a construct it does not know fails the test instead of being guessed.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import addon_rules as godot
import pytest
from gdtoolkit.parser import parser
from lark import Token, Tree

REPO = Path(__file__).resolve().parent.parent
CASES = json.loads((REPO / "game/test/data/manifest_rules_cases.json").read_text(encoding="utf-8"))
MANIFEST_GD = REPO / "plugin_godot/addons/charvoice/runtime/charvoice_manifest.gd"


def _cases(kind: str):
    return [pytest.param(case, id=json.dumps(case, ensure_ascii=False)) for case in CASES[kind]]


# --- the Python reference ---------------------------------------------------------------------


@pytest.mark.parametrize("case", _cases("resolve_locale"))
def test_python_resolve_locale(case):
    assert godot.resolve_locale(case["requested"], case["available"], case["default"]) == case["expected"]


@pytest.mark.parametrize("case", _cases("pick_line_locale"))
def test_python_pick_line_locale(case):
    assert (
        godot.pick_line_locale(case["requested"], case["audio"], case["borrowed"], case["default"]) == case["expected"]
    )


@pytest.mark.parametrize("case", _cases("resolve_path"))
def test_python_resolve_path(case):
    assert godot.resolve_audio_path(case["manifest"], case["path"]) == case["expected"]


# --- the GDScript, evaluated ------------------------------------------------------------------


class _Return(Exception):
    def __init__(self, value):
        self.value = value


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


def _strip_edges(text: str) -> str:  # Godot strips every character <= U+0020
    start, end = 0, len(text)
    while start < end and ord(text[start]) <= 32:
        start += 1
    while end > start and ord(text[end - 1]) <= 32:
        end -= 1
    return text[start:end]


def _substr(text: str, start: int, length: int = -1) -> str:
    return text[start:] if length < 0 else text[start : start + length]


STRING_METHODS = {
    "strip_edges": _strip_edges,
    "replace": lambda s, what, forwhat: s.replace(what, forwhat),
    "find": lambda s, what, start=0: s.find(what, start),
    "rfind": lambda s, what: s.rfind(what),
    "substr": _substr,
    "to_lower": str.lower,
    "is_empty": lambda s: s == "",
    "length": len,
    "begins_with": str.startswith,
    "ends_with": str.endswith,
    "trim_prefix": lambda s, prefix: s[len(prefix) :] if prefix and s.startswith(prefix) else s,
    "is_absolute_path": godot._is_absolute_path,
    "get_base_dir": godot._get_base_dir,
    "path_join": godot._path_join,
}
ARRAY_METHODS = {
    "has": lambda items, value: value in items,
    "append": lambda items, value: items.append(value),
    "size": len,
    "is_empty": lambda items: not items,
}
DICTIONARY_METHODS = {
    "has": lambda mapping, key: key in mapping,
    "keys": lambda mapping: list(mapping),
    "get": lambda mapping, key, default=None: mapping.get(key, default),
    "size": len,
    "is_empty": lambda mapping: not mapping,
}
TYPES = {
    "String": str,
    "Dictionary": dict,
    "Array": list,
    "PackedStringArray": list,
    "int": int,
    "float": float,
    "bool": bool,
}
CONSTRUCTORS = {"PackedStringArray": lambda items=(): list(items), "Array": lambda items=(): list(items), "str": str}
COMPARISONS = {"==": "__eq__", "!=": "__ne__", "<": "__lt__", ">": "__gt__", "<=": "__le__", ">=": "__ge__"}


class GDScriptSubset:
    """Runs the static functions of one GDScript file on Python values (str, int, list, dict)."""

    def __init__(self, source: str) -> None:
        self.functions: dict[str, tuple[list[str], list]] = {}
        for node in parser.parse(source).children:
            if isinstance(node, Tree) and node.data == "static_func_def":
                header, *body = node.children[0].children
                name = str(header.children[0])
                arguments = next(
                    (child for child in header.children if isinstance(child, Tree) and child.data == "func_args"), None
                )
                params = [str(argument.children[0]) for argument in arguments.children] if arguments else []
                self.functions[name] = (params, body)

    def call(self, name: str, *args):
        params, body = self.functions[name]
        assert len(args) <= len(params), f"{name} takes {len(params)} arguments"
        scope = dict(zip(params, args, strict=False))  # parameters with defaults may be left out
        try:
            self._block(body, scope)
        except _Return as result:
            return result.value
        return None

    def _block(self, statements, scope) -> None:
        for statement in statements:
            self._statement(statement, scope)

    def _statement(self, node: Tree, scope: dict) -> None:
        kind = node.data
        if kind == "func_var_stmt":
            declaration = node.children[0]
            scope[str(declaration.children[0])] = self._eval(declaration.children[-1], scope)
        elif kind == "expr_stmt":
            self._eval(node.children[0], scope)
        elif kind == "return_stmt":
            raise _Return(self._eval(node.children[0], scope) if node.children else None)
        elif kind == "if_stmt":
            for branch in node.children:
                if branch.data == "else_branch" or self._truthy(self._eval(branch.children[0], scope)):
                    self._block(branch.children[0 if branch.data == "else_branch" else 1 :], scope)
                    break
        elif kind == "for_stmt":
            name, iterable, *body = node.children
            for value in list(self._eval(iterable, scope)):
                scope[str(name)] = value
                try:
                    self._block(body, scope)
                except _Continue:
                    continue
                except _Break:
                    break
        elif kind == "while_stmt":
            condition, *body = node.children
            while self._truthy(self._eval(condition, scope)):
                try:
                    self._block(body, scope)
                except _Continue:
                    continue
                except _Break:
                    break
        elif kind == "break_stmt":
            raise _Break
        elif kind == "continue_stmt":
            raise _Continue
        elif kind != "pass_stmt":
            raise NotImplementedError(f"statement {kind!r}: teach GDScriptSubset or simplify the GDScript")

    @staticmethod
    def _truthy(value) -> bool:
        return bool(value)

    def _eval(self, node, scope):
        if isinstance(node, Token):
            if node.type == "NAME":
                if str(node) in ("true", "false", "null"):
                    return {"true": True, "false": False, "null": None}[str(node)]
                return scope[str(node)]
            if node.type == "NUMBER":
                return ast.literal_eval(str(node))
            raise NotImplementedError(f"token {node.type} {node!r}")
        kind = node.data
        children = node.children
        if kind == "expr":
            return self._eval(children[0], scope)
        if kind == "string":
            return ast.literal_eval(str(children[0]))
        if kind == "array":
            return [self._eval(child, scope) for child in children]
        if kind in ("comparison", "asless_comparison"):
            left, operator, right = children
            return getattr(self._eval(left, scope), COMPARISONS[str(operator)])(self._eval(right, scope))
        if kind in ("not_test", "asless_actual_not_test"):
            return not self._truthy(self._eval(children[-1], scope))
        if kind in ("and_test", "asless_and_test"):
            return all(self._truthy(self._eval(child, scope)) for child in children[::2])
        if kind in ("or_test", "asless_or_test"):
            return any(self._truthy(self._eval(child, scope)) for child in children[::2])
        if kind in ("test_expr", "asless_test_expr"):
            value, _if, condition, _else, other = children
            return self._eval(value if self._truthy(self._eval(condition, scope)) else other, scope)
        if kind in ("type_test", "asless_type_test"):
            return isinstance(self._eval(children[0], scope), TYPES[str(children[2])])
        if kind == "arith_expr":
            result = self._eval(children[0], scope)
            for operator, operand in zip(children[1::2], children[2::2], strict=True):
                value = self._eval(operand, scope)
                result = result + value if str(operator) == "+" else result - value
            return result
        if kind == "subscr_expr":
            return self._eval(children[0], scope)[self._eval(children[1], scope)]
        if kind == "assnmnt_expr":
            target, operator, value = children
            assert isinstance(target, Token) and str(operator) == "=", "only `name = value` assignments"
            scope[str(target)] = self._eval(value, scope)
            return None
        if kind == "standalone_call":
            name, *args = children
            values = [self._eval(arg, scope) for arg in args]
            if str(name) in self.functions:
                return self.call(str(name), *values)
            return CONSTRUCTORS[str(name)](*values)
        if kind == "getattr_call":
            target_node, *args = children
            receiver = self._eval(target_node.children[0], scope)
            method = str(target_node.children[-1])
            table = (
                STRING_METHODS
                if isinstance(receiver, str)
                else ARRAY_METHODS
                if isinstance(receiver, list)
                else DICTIONARY_METHODS
            )
            if method not in table:
                raise NotImplementedError(f"{type(receiver).__name__}.{method}(): add it with Godot's semantics")
            return table[method](receiver, *[self._eval(arg, scope) for arg in args])
        raise NotImplementedError(f"expression {kind!r}: teach GDScriptSubset or simplify the GDScript")


@pytest.fixture(scope="module")
def gdscript() -> GDScriptSubset:
    return GDScriptSubset(MANIFEST_GD.read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", _cases("resolve_locale"))
def test_gdscript_resolve_locale(gdscript, case):
    assert (
        gdscript.call("resolve_locale", case["requested"], list(case["available"]), case["default"]) == case["expected"]
    )


@pytest.mark.parametrize("case", _cases("pick_line_locale"))
def test_gdscript_pick_line_locale(gdscript, case):
    result = gdscript.call(
        "pick_line_locale", case["requested"], list(case["audio"]), dict(case["borrowed"]), case["default"]
    )
    assert result == case["expected"]


@pytest.mark.parametrize("case", _cases("resolve_path"))
def test_gdscript_resolve_path(gdscript, case):
    assert gdscript.call("resolve_path", case["manifest"], case["path"]) == case["expected"]


def test_the_table_covers_the_documented_fallback(gdscript):
    """fr_CA -> fr -> the manifest's default locale, as the issue and the README state it."""
    assert gdscript.call("locale_candidates", "fr_CA", "en") == ["fr_ca", "fr", "en"]
    assert godot.locale_candidates("fr_CA", "en") == ["fr_ca", "fr", "en"]
    kinds = {
        (tuple(case["available"]), case["expected"]) for case in CASES["resolve_locale"] if case["requested"] == "fr_CA"
    }
    assert {(("en", "fr", "fr_CA"), "fr_CA"), (("en", "fr"), "fr"), (("en",), "en")} <= kinds


def test_the_evaluator_refuses_what_it_does_not_know():
    unknown = GDScriptSubset("static func f(x: String) -> String:\n\treturn x.sha256_text()\n")
    with pytest.raises(NotImplementedError):
        unknown.call("f", "a")


@pytest.mark.parametrize(
    ("locale", "chosen", "ships"),
    [
        ("fr", [], True),  # nothing chosen: every locale ships
        ("fr_CA", ["fr"], True),  # a variant ships with its language
        ("fr", ["fr_CA"], False),  # but not the other way round
        ("fr-CA.UTF-8", ["FR"], True),  # compared as the fallback rule compares locales
        ("de", ["en", "fr"], False),
        ("en", ["en", "fr"], True),
    ],
)
def test_the_export_ships_only_the_chosen_locales(gdscript, locale, chosen, ships):
    assert gdscript.call("export_includes", locale, chosen) is ships
