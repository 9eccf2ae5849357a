"""A static reader of the addon's GDScript that lists every engine API it touches, with enough
typing to check each member against the Godot class reference fact sheet
(tests/data/godot_4_3_api.json): classes named in `extends`, annotations, `as`/`is` and
`Class.new()`; members reached from a typed variable, a class, a singleton, `self` or the
result of a typed call (`get_tree().create_timer(1.0).timeout`); bare calls of inherited
methods and global functions; bare constants. An expression whose type cannot be known
statically (an untyped value, a Dictionary entry) is not followed: the check is sound for
what it follows, silent beyond it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

FACTS = Path(__file__).resolve().parent / "data/godot_4_3_api.json"

KEYWORDS = {
    "if", "elif", "else", "for", "while", "match", "break", "continue", "pass", "return", "class",
    "class_name", "extends", "is", "in", "as", "self", "signal", "func", "static", "const", "enum",
    "var", "breakpoint", "preload", "await", "yield", "assert", "void", "true", "false", "null",
    "and", "or", "not", "super", "when", "PI", "TAU", "INF", "NAN",
}  # fmt: skip
# Object methods that take a member's name: the name must exist somewhere (see _by_name).
BY_NAME = {
    "call",
    "call_deferred",
    "set",
    "get",
    "connect",
    "disconnect",
    "is_connected",
    "has_method",
    "has_signal",
    "emit_signal",
}
DECLARING = {"func", "signal", "var", "const", "class_name", "extends", "enum", "class", "for"}
TOKEN = re.compile(r"&\"\w+\"|[A-Za-z_]\w*|\d+(?:\.\d+)?(?:e-?\d+)?|->|:=|==|!=|<=|>=|&&|\|\||\S")


@dataclass
class Tok:
    text: str
    line: int


@dataclass
class Script:
    path: Path
    class_name: str = ""
    extends: str = ""
    funcs: dict[str, str] = field(default_factory=dict)  # name -> return type annotation
    static_funcs: set[str] = field(default_factory=set)
    vars: dict[str, str] = field(default_factory=dict)  # name -> type annotation ("" unknown)
    consts: dict[str, str] = field(default_factory=dict)  # name -> preloaded path or ""
    signals: set[str] = field(default_factory=set)
    enums: set[str] = field(default_factory=set)
    key: str = ""
    outer: Script | None = None
    enum_values: set[str] = field(default_factory=set)
    inner: dict[str, Script] = field(default_factory=dict)
    logical: list[list[Tok]] = field(default_factory=list)
    indents: list[int] = field(default_factory=list)


def strip_source(source: str) -> str:
    """The source with comments removed and every string literal emptied (kept as "")."""
    out: list[str] = []
    i, n = 0, len(source)
    while i < n:
        c = source[i]
        if c == "#":
            while i < n and source[i] != "\n":
                i += 1
            continue
        literal = re.match(r'&"([A-Za-z_]\w*)"', source[i - 1 : i + 80]) if c == '"' and i else None
        if literal:  # a StringName naming a member (call(&"play")): keep it for the check
            out.append(literal.group(0)[1:])
            i += len(literal.group(0)) - 1
            continue
        if c in "\"'":
            quote = source[i : i + 3] if source[i : i + 3] in ('"""', "'''") else c
            i += len(quote)
            while i < n and source[i : i + len(quote)] != quote:
                i += 2 if source[i] == "\\" else 1
            i += len(quote)
            out.append('""')
            continue
        out.append(c)
        i += 1
    return "".join(out)


def tokenize(source: str) -> tuple[list[list[Tok]], list[int]]:
    """Logical lines (newlines inside brackets joined) and their indentation."""
    lines: list[list[Tok]] = []
    indents: list[int] = []
    depth = 0
    current: list[Tok] = []
    for number, raw in enumerate(strip_source(source).split("\n"), start=1):
        if depth == 0 and current and current[-1].text != "\\":
            lines.append(current)
            current = []
        if current and current[-1].text == "\\":
            current.pop()
        if not current and raw.strip():
            indents.append(len(raw) - len(raw.lstrip("\t ")))
        for match in TOKEN.finditer(raw):
            text = match.group()
            depth += 1 if text in "([{" else -1 if text in ")]}" else 0
            current.append(Tok(text, number))
    if current:
        lines.append(current)
    return lines, indents


def _type_after_colon(tokens: list[Tok], at: int) -> str:
    """The annotation starting at tokens[at] (Array[String] -> Array)."""
    return tokens[at].text if at < len(tokens) and re.fullmatch(r"[A-Za-z_]\w*", tokens[at].text) else ""


def read_script(path: Path) -> Script:
    script = Script(path, key="s:" + str(path))
    logical, indents = tokenize(path.read_text(encoding="utf-8"))
    source_lines = path.read_text(encoding="utf-8").splitlines()
    inner: Script | None = None
    for tokens, indent in zip(logical, indents, strict=True):
        if indent == 0:
            inner = None
        words = [t.text for t in tokens]
        if indent == 0 and words[:1] == ["class"]:
            inner = Script(path, extends="RefCounted", key=f"{script.key}::{words[1]}", outer=script)
            script.inner[words[1]] = inner
            continue
        if inner is not None:
            _declare(inner, tokens, source_lines)
            inner.logical.append(tokens)
            inner.indents.append(indent - 1)
            continue
        if indent == 0:
            _declare(script, tokens, source_lines)
        script.logical.append(tokens)
        script.indents.append(indent)
    return script


def _declare(script: Script, tokens: list[Tok], source_lines: list[str]) -> None:
    words = [t.text for t in tokens]
    while words and words[0] == "@":  # annotations such as @export, @onready, @tool, @icon(...)
        words, tokens = words[2:], tokens[2:]
        if words and words[0] == "(":
            depth = 0
            for k, w in enumerate(words):
                depth += 1 if w == "(" else -1 if w == ")" else 0
                if depth == 0:
                    words, tokens = words[k + 1 :], tokens[k + 1 :]
                    break
    if not words:
        return
    static = words[0] == "static"
    if static:
        words, tokens = words[1:], tokens[1:]
    head = words[0]
    if head == "class_name":
        script.class_name = words[1]
    elif head == "extends":
        script.extends = words[1]
    elif head == "func" and len(words) > 1:
        script.funcs[words[1]] = words[words.index("->") + 1] if "->" in words else ""
        if static:
            script.static_funcs.add(words[1])
    elif head == "signal":
        script.signals.add(words[1])
    elif head == "enum":
        if words[1] != "{":
            script.enums.add(words[1])
        script.enum_values.update(w for w in words if re.fullmatch(r"[A-Z][A-Z0-9_]*", w))
    elif head == "const":
        found = re.search(r'preload\("([^"]+)"\)', source_lines[tokens[0].line - 1]) if "preload" in words else None
        script.consts[words[1]] = found.group(1) if found else ""
    elif head == "var" and len(words) > 1:
        declared = _type_after_colon(tokens, 3) if len(words) > 2 and words[2] == ":" else ""
        script.vars[words[1]] = declared or ("?:=" if ":=" in words[:3] else "")


class Checker:
    """Checks scripts against the fact sheet; `problems` lists what the reference lacks."""

    def __init__(self, scripts: list[Path], roots: dict[str, Path], autoloads: dict[str, Path]) -> None:
        facts = json.loads(FACTS.read_text(encoding="utf-8"))
        self.classes: dict[str, dict] = facts["classes"]
        self.global_functions: dict[str, str] = facts["globals"]["functions"]
        self.global_constants: set[str] = set(facts["globals"]["constants"])
        # Names the dialogue addons define (not the engine): name -> where it comes from.
        self.external: dict[str, str] = facts.get("external", {})
        self.roots = roots  # res:// prefix -> folder
        self.scripts: dict[Path, Script] = {p.resolve(): read_script(p.resolve()) for p in scripts}
        self.types: dict[str, Script] = {}
        for script in self.scripts.values():
            self._register(script)
        self.by_class_name = {s.class_name: s for s in self.scripts.values() if s.class_name}
        self.autoloads = {name: self._load(path.resolve()) for name, path in autoloads.items()}
        self.problems: list[str] = []
        self.used: dict[str, set[str]] = {}
        self.collect: set[str] | None = None  # when a set: gather what the fact sheet lacks

    # --- own scripts ---------------------------------------------------------------------
    def _register(self, script: Script) -> None:
        self.types[script.key] = script
        for inner in script.inner.values():
            self._register(inner)

    def _load(self, path: Path) -> Script:
        if path not in self.scripts:
            self.scripts[path] = read_script(path)
            self._register(self.scripts[path])
        return self.scripts[path]

    def _resolve_path(self, script: Script, target: str) -> Path | None:
        for prefix, folder in self.roots.items():
            if target.startswith(prefix):
                return (folder / target[len(prefix) :]).resolve()
        if target.startswith("res://"):
            return None
        return (script.path.parent / target).resolve()

    def type_name(self, script: Script, name: str, where: str) -> str | None:
        """'C' for an engine class, 's:<path>' for an own script; None (+ a problem) if unknown."""
        if name in ("", "Variant") or name in script.enums or (script.outer is not None and name in script.outer.enums):
            return None
        scope: Script | None = script
        while scope is not None:
            if name in scope.inner:
                return scope.inner[name].key
            scope = scope.outer
        if script.outer is not None and name in script.outer.consts:
            script = script.outer
        if name in self.by_class_name:
            return self.by_class_name[name].key
        preload = script.consts.get(name)
        if preload:
            path = self._resolve_path(script, preload)
            if path is not None and path.suffix == ".gd" and path.exists():
                self._load(path)
                return self._load(path).key
            return None
        if name in self.classes:
            self.used.setdefault(name, set())
            return name
        if self.collect is not None and name[:1].isupper():
            self.collect.add(f"class {name}")
            self.classes[name] = {"inherits": ""}
            return name
        self.problems.append(f"{where}: class {name} is not in the Godot 4.3 fact sheet")
        return None

    # --- members -----------------------------------------------------------------------
    def member(self, kind: str, name: str, where: str, static: bool = False) -> str | None:
        """The type of member `name` of `kind` (None: unknown type); records a problem if absent."""
        if kind.startswith("s:"):
            script = self.types[kind]
            if name in script.funcs:
                return (
                    self.type_name(script, script.funcs[name], where)
                    if script.funcs[name] not in ("void", "")
                    else None
                )
            if name in script.vars:
                declared = script.vars[name]
                return self.type_name(script, declared, where) if declared and declared != "?:=" else None
            if name in script.signals:
                return "Signal"
            if name in script.consts:
                return self.type_name(script, name, where) if script.consts[name] else None
            if name in script.enums or name == "new":
                return kind if name == "new" else None
            if not script.extends:
                self.problems.append(f"{where}: {script.path.name} has no member {name}")
                return None
            base = self.type_name(script, script.extends, where)
            return self.member(base, name, where) if base else None
        cls = kind
        if name == "new":
            return cls
        while cls:
            info = self.classes.get(cls)
            if info is None:
                self.problems.append(f"{where}: class {cls} is not in the Godot 4.3 fact sheet")
                return None
            for section in ("methods", "properties"):
                if name in info.get(section, {}):
                    self.used.setdefault(cls, set()).add(name)
                    found = info[section][name]
                    return found if found in self.classes else None
            if name in info.get("signals", []):
                self.used.setdefault(cls, set()).add(name)
                return "Signal"
            if name in info.get("constants", []) or name in info.get("enums", []):
                self.used.setdefault(cls, set()).add(name)
                return None
            cls = info.get("inherits", "")
        if self.collect is not None:
            self.collect.add(f"member {kind}.{name}")
        self.problems.append(f"{where}: {kind} has no member {name} in the Godot 4.3 fact sheet")
        return None

    # --- expressions -------------------------------------------------------------------
    def check_all(self) -> list[str]:
        for script in list(self.types.values()):
            self.check_script(script)
        return self.problems

    def check_script(self, script: Script) -> None:
        if script.extends:
            self.type_name(script, script.extends, f"{script.path.name}: extends")
        self_type = script.key
        module: dict[str, str | None] = {}
        locals_ = module
        func_indent = -1
        for tokens, indent in zip(script.logical, script.indents, strict=True):
            words = [t.text for t in tokens]
            where = f"{script.path.name}:{tokens[0].line}"
            if words[0] == "enum":
                continue
            stripped = words[1:] if words[0] == "static" else words
            if stripped and stripped[0] == "func":
                locals_ = dict(module)
                func_indent = indent
                self._params(script, tokens, locals_, where)
            elif indent <= func_indent and func_indent >= 0:
                locals_, func_indent = module, -1
            if stripped and stripped[0] == "const":
                self._constant_expression(tokens, where)
            self._declare_local(script, tokens, locals_, where, self_type)
            self._walk(script, tokens, locals_, where, self_type)

    def _constant_expression(self, tokens: list[Tok], where: str) -> None:
        """Rules of what a `const` may hold that the 4.3 reference does not show. Godot 4.6 refuses
        a packed array constructor anywhere in a constant ("isn't a constant expression",
        godot#113228); 4.3-4.5 took one inside `[]` or `{}`. Hold an Array and convert on reading."""
        words = [t.text for t in tokens]
        for i, word in enumerate(words[:-1]):
            if re.fullmatch(r"Packed\w+Array", word) and words[i + 1] == "(":
                self.problems.append(
                    f"{where}: {word}() in a const is no constant expression on Godot 4.6 (use an Array)"
                )

    def _params(self, script: Script, tokens: list[Tok], locals_: dict, where: str) -> None:
        words = [t.text for t in tokens]
        if "(" not in words:
            return
        start = words.index("(")
        depth = 0
        k = start
        while k < len(words):
            depth += 1 if words[k] in "([{" else -1 if words[k] in ")]}" else 0
            if depth == 0:
                break
            if depth == 1 and re.fullmatch(r"[a-z_]\w*", words[k]) and words[k - 1] in ("(", ","):
                typed = words[k + 1] == ":" and k + 2 < len(words)
                locals_[words[k]] = (
                    self.type_name(script, words[k + 2], where) if typed and words[k + 2] != "=" else None
                )
            k += 1
        if "->" in words:
            self.type_name(script, words[words.index("->") + 1], where) if words[
                words.index("->") + 1
            ] != "void" else None

    def _declare_local(self, script: Script, tokens: list[Tok], locals_: dict, where: str, self_type: str) -> None:
        words = [t.text for t in tokens]
        while words and words[0] == "@":
            words, tokens = words[2:], tokens[2:]
        if len(words) < 3:
            return
        if words[0] == "var":
            name = words[1]
            if words[2] == ":" and words[3] != "=":
                locals_[name] = self.type_name(script, words[3], where)
            elif words[2] == ":=":
                locals_[name] = self._infer(script, tokens[3:], locals_, where, self_type)
            else:
                locals_[name] = None
        elif words[0] == "for":
            locals_[words[1]] = self.type_name(script, words[3], where) if words[2] == ":" else None

    def _infer(self, script: Script, tokens: list[Tok], locals_: dict, where: str, self_type: str) -> str | None:
        words = [t.text for t in tokens]
        if "as" in words and words.index("as") == len(words) - 2:
            return self.type_name(script, words[-1], where)
        if len(words) == 1 and words[0] == '""':
            return "String"
        if words and words[0] == "[":
            return "Array"
        if words and words[0] == "{":
            return "Dictionary"
        if len(words) == 1 and re.fullmatch(r"\d+", words[0]):
            return "int"
        if len(words) == 1 and re.fullmatch(r"\d+\.\d*", words[0]):
            return "float"
        if not words or not re.fullmatch(r"[A-Za-z_]\w*", words[0]) or words[0] in KEYWORDS - {"self"}:
            return None
        end, kind = self._chain(script, tokens, 0, locals_, where, self_type, record=False)
        return kind if end == len(tokens) else None

    def _walk(self, script: Script, tokens: list[Tok], locals_: dict, where: str, self_type: str) -> None:
        i = 0
        words = [t.text for t in tokens]
        while i < len(tokens):
            word = words[i]
            prev = words[i - 1] if i else ""
            if (
                word in BY_NAME
                and words[i + 1 : i + 2] == ["("]
                and words[i + 2 : i + 3]
                and words[i + 2].startswith('&"')
            ):
                self._by_name(words[i + 2][2:-1], where)
            if word == "(":  # (value as Class).member
                close = self._skip(words, i)
                if close < len(words) and words[close] == "." and close >= 3 and words[close - 3] == "as":
                    self._members(words, close, self.type_name(script, words[close - 2], where), where)
            if word in ("is", "as") and i + 1 < len(words):
                self.type_name(script, words[i + 1], where)
                i += 2
                continue
            if re.fullmatch(r"[A-Za-z_]\w*", word) and prev != "." and prev not in DECLARING and prev != "@":
                if prev == "(" and i >= 2 and words[i - 2] in ("func", "signal"):
                    i += 1
                    continue
                if word not in KEYWORDS and ((i + 1 < len(words) and words[i + 1] in (".", "(")) or word.isupper()):
                    self._chain(script, tokens, i, locals_, where, self_type, record=True)
                    # Go on with the next token: the call's arguments are expressions too.
            i += 1

    def _by_name(self, name: str, where: str) -> None:
        """A member named by a StringName (player.call(&"play") on an AudioStreamPlayer, 2D
        or 3D; line.get(&"static_id") on a Dialogue Manager line): it must be a member of a
        class in the fact sheet, of an own script, or a documented name of a dialogue addon."""
        found = False
        for cls, info in self.classes.items():
            if any(name in info.get(section, ()) for section in ("methods", "properties", "signals")):
                self.used.setdefault(cls, set()).add(name)
                found = True
        own = any(name in s.funcs or name in s.vars or name in s.signals for s in self.types.values())
        if not (found or own or name in self.external):
            self.problems.append(
                f"{where}: no class in the fact sheet, no addon script and no dialogue addon has {name}"
            )

    def _skip(self, words: list[str], i: int) -> int:
        depth = 0
        while i < len(words):
            depth += 1 if words[i] in "([{" else -1 if words[i] in ")]}" else 0
            i += 1
            if depth == 0:
                return i
        return i

    def _chain(self, script, tokens, i, locals_, where, self_type, record) -> tuple[int, str | None]:
        words = [t.text for t in tokens]
        name = words[i]
        call = i + 1 < len(words) and words[i + 1] == "("
        kind: str | None
        problems_before = len(self.problems)
        if call:
            kind = self._bare_call(script, name, where, self_type)
            i = self._skip(words, i + 1)
        else:
            kind = self._bare_name(script, name, locals_, where, self_type)
            i += 1
        i, kind = self._members(words, i, kind, where)
        if not record:
            del self.problems[problems_before:]
        return i, kind

    def _members(self, words: list[str], i: int, kind: str | None, where: str) -> tuple[int, str | None]:
        """Follows `.member`, `.method(...)` and `[...]` from words[i] on a value of `kind`."""
        while i + 1 < len(words) and words[i] == "." and re.fullmatch(r"[A-Za-z_]\w*", words[i + 1]):
            member = words[i + 1]
            kind = self.member(kind, member, where) if kind else None
            i += 2
            if i < len(words) and words[i] == "(":
                i = self._skip(words, i)
            while i < len(words) and words[i] == "[":
                i = self._skip(words, i)
                kind = None
        return i, kind

    def _bare_call(self, script: Script, name: str, where: str, self_type: str) -> str | None:
        own = self._own_member(script, name)
        if own is not None:
            return self.member(self_type, name, where)
        if name in self.global_functions:
            self.used.setdefault("@GlobalScope", set()).add(name)
            ret = self.global_functions[name]
            return ret if ret in self.classes else None
        if name in self.classes:  # a constructor: PackedStringArray(...), NodePath(...)
            self.used.setdefault(name, set())
            return name
        base = self.type_name(script, script.extends, where) if script.extends else None
        if self.collect is not None and name[:1].isupper():
            self.collect.add(f"constructor {name}")
        if base is None:
            self.problems.append(f"{where}: unknown function {name}()")
            return None
        return self.member(base, name, where)

    def _own_member(self, script: Script, name: str) -> str | None:
        if name in script.funcs or name in script.vars or name in script.signals or name in script.consts:
            return name
        return None

    def _bare_name(self, script: Script, name: str, locals_: dict, where: str, self_type: str) -> str | None:
        if name == "self":
            return self_type
        if name in locals_:
            return locals_[name]
        if name in script.inner:
            return script.inner[name].key
        if name in script.enum_values or (script.outer is not None and name in script.outer.consts):
            return None
        if name in script.consts or name in script.enums:
            return self.type_name(script, name, where) if script.consts.get(name) else None
        if name in script.funcs and name not in script.vars:
            return "Callable"  # a method named without a call: a Callable (bind(), call())
        if name in script.vars or name in script.signals:
            return self.member(self_type, name, where)
        if name in self.autoloads:
            return self.autoloads[name].key
        if name in self.by_class_name:
            return self.by_class_name[name].key
        if name in self.classes:
            self.used.setdefault(name, set())
            return name
        if name in self.global_constants:
            self.used.setdefault("@GlobalScope", set()).add(name)
            return None
        if self.collect is not None and name[:1].isupper() and not name.isupper():
            return self.type_name(script, name, where)
        base = self.type_name(script, script.extends, where) if script.extends else None
        if base is not None:
            return self.member(base, name, where)
        self.problems.append(f"{where}: unknown name {name}")
        return None
