"""The configuration reference, generated from the schema charvoice validates with.

`mkdocs build` runs this as a hook (mkdocs.yml `hooks:`): the page reference/configuration.md
is made from charvoice/project/config.py's and characters.py's SCHEMA (types, defaults, choices,
limits) and docs/reference/keys.toml (what each key means). A key without a description, or a
description of a key the schema lacks, fails the build; tests/test_docs.py checks the same
without mkdocs. `python docs/hooks/config_reference.py` prints the page.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import tomli_w

from charvoice.engines.fish import settings as fish
from charvoice.project import characters, config
from charvoice.project.schema import REQUIRED, Field, MapOf, Table

DESCRIPTIONS = Path(__file__).resolve().parents[1] / "reference" / "keys.toml"
PAGE = "reference/configuration.md"

def _with_engine_tables(schema: Table) -> Table:
    """charvoice.toml as users write it: each engine validates its own table under [engine]
    (engines/fish/settings.py), so the reference puts those tables back in place."""
    engine = schema.fields["engine"]
    assert isinstance(engine, Table)
    return Table({**schema.fields, "engine": Table({**engine.fields, "fish": fish.SCHEMA})})


FILES = {  # the descriptions' table -> (the file it describes, its schema, its heading)
    "charvoice": ("charvoice.toml", _with_engine_tables(config.SCHEMA), "`charvoice.toml`"),
    "character": ("characters/<id>.toml", characters.SCHEMA, "Character files"),
}
ABOUT = {
    "charvoice": "The project's settings, at its root: commands find the project by looking for this file in "
    "the current folder and the folders above it.",
    "character": "One file per speaking character in `project.characters`. The file name is the character's "
    "id, used in asset paths; `name` is how scripts refer to the character (scripts may use either, in any case).",
}

INTRO = """\
# Configuration reference

Generated from the schema charvoice validates with, so every type, default and limit here is
the one the code applies. Unknown keys are errors, with a suggestion when one is close
(`unknown key 'loudnes_lufs' in [audio] (did you mean 'loudness_lufs'?)`), and every problem in
every file is reported at once, each with its file and line.

Environment variables:

| variable | what it does |
| --- | --- |
"""
ENVIRONMENT = [
    (
        "`FISH_API_KEY`",
        "The Fish Audio API key. Read only from the environment: never written to a file, log or report. "
        'With `engine.name = "auto"`, its presence picks Fish Audio.',
    ),
    (
        "`CHARVOICE_CACHE_REMOTE`",
        "Overrides `[cache] remote` for one run (the GitHub Action's `cache-remote` input sets it).",
    ),
    (
        "`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`, `AWS_ENDPOINT_URL`, "
        "`AWS_ROLE_ARN` + `AWS_WEB_IDENTITY_TOKEN_FILE`",
        "Credentials of an `s3://` shared cache (instance and container credentials work too; `~/.aws` profiles are not read).",
    ),
    ("`GOOGLE_APPLICATION_CREDENTIALS`", "Credentials of a `gs://` shared cache."),
    (
        "`AZURE_STORAGE_ACCOUNT_NAME`, `AZURE_STORAGE_ACCOUNT_KEY`",
        "Credentials of an `az://` shared cache (or a service principal).",
    ),
]


def descriptions() -> dict[str, dict[str, str]]:
    return tomllib.loads(DESCRIPTIONS.read_text(encoding="utf-8"))


def keys(schema: Table, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, Field | Table | MapOf]]:
    """Every key and table of `schema`, dotted, in the schema's order."""
    for name, spec in schema.fields.items():
        path = ".".join((*prefix, name))
        yield path, spec
        if isinstance(spec, Table):
            yield from keys(spec, (*prefix, name))


def problems() -> list[str]:
    """Keys the schema has and keys.toml does not describe, and the other way round."""
    found: list[str] = []
    described = descriptions()
    for table, (file, schema, _) in FILES.items():
        known = {path for path, _ in keys(schema)}
        have = set(described.get(table, {}))
        found += [
            f"{file}: {key} has no description in docs/reference/keys.toml [{table}]" for key in sorted(known - have)
        ]
        found += [f"docs/reference/keys.toml [{table}]: {key} is not a key of {file}" for key in sorted(have - known)]
    return found


def _toml(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    return tomli_w.dumps({"x": value}).partition("=")[2].strip()


_TYPES = {str: "string", int: "integer", float: "number", bool: "boolean", list: "list", dict: "table"}


def _type(spec: Field | MapOf) -> str:
    if isinstance(spec, MapOf):
        inner = spec.value
        return f"table of {_type(inner) if isinstance(inner, (Field, MapOf)) else 'tables'}"
    types = spec.types if isinstance(spec.types, tuple) else (spec.types,)
    names = [_TYPES.get(t, t.__name__) for t in types]
    if spec.items is not None:
        names = [f"list of {_TYPES[spec.items]}s" if name == "list" else name for name in names]
    return " or ".join(names)


def _allowed(spec: Field | MapOf) -> str:
    if isinstance(spec, MapOf):
        return "any key"
    if spec.choices is not None:
        return ", ".join(f"`{_toml(choice)}`" for choice in spec.choices)
    if spec.minimum is not None and spec.maximum is not None:
        return f"{_toml(spec.minimum)} to {_toml(spec.maximum)}"
    if spec.minimum is not None:
        return f"at least {_toml(spec.minimum)}"
    return ""


def _default(spec: Field | MapOf) -> str:
    if isinstance(spec, MapOf):
        return "empty"
    return "required" if spec.default is REQUIRED else f"`{_toml(spec.default)}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _defaults(schema: Table, prefix: tuple[str, ...] = ()) -> list[str]:
    """The file with every default filled in, as TOML lines (required keys and free tables left out)."""
    lines = [f"[{'.'.join(prefix)}]"] if prefix else []
    lines += [
        f"{name} = {_toml(spec.default)}"
        for name, spec in schema.fields.items()
        if isinstance(spec, Field) and spec.default is not REQUIRED
    ]
    for name, spec in schema.fields.items():
        if isinstance(spec, Table):
            lines += ["", *_defaults(spec, (*prefix, name))]
    return lines


def render() -> str:
    described = descriptions()
    parts = [INTRO + "\n".join(f"| {name} | {meaning} |" for name, meaning in ENVIRONMENT) + "\n"]
    for table, (file, schema, heading) in FILES.items():
        text = described.get(table, {})
        parts.append(f"\n## {heading}\n\n{ABOUT[table]}\n")
        sections: dict[str, list[tuple[str, Field]]] = {"": []}
        free: list[tuple[str, MapOf]] = []
        for path, spec in keys(schema):
            if isinstance(spec, Table):
                sections[path] = []
            elif isinstance(spec, MapOf):
                free.append((path, spec))
            else:
                sections[path.rpartition(".")[0]].append((path, spec))
        for section, rows in sections.items():
            if section:
                parts.append(f"\n### `[{section}]`\n\n{text.get(section, '')}\n")
            if rows:
                parts.append("| key | type | default | allowed | meaning |\n| --- | --- | --- | --- | --- |")
            for path, spec in rows:
                key = path.rpartition(".")[2]
                cells = [f"`{key}`", _type(spec), _default(spec), _allowed(spec), text.get(path, "")]
                parts.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
        for path, spec in free:
            value = _type(spec.value) if isinstance(spec.value, Field) else "table"
            parts.append(
                f"\n### `[{path}]`\n\n{text.get(path, '')}\n\nAny key; each value is a {value}. Empty by default.\n"
            )
        example = "\n".join(_defaults(schema)).strip()
        parts.append(
            f"\nEvery default of `{file}` at once (required keys left out; a file gives only what it changes):\n"
        )
        parts.append(f"```toml\n{example}\n```\n")
    return "\n".join(parts)


def on_files(files: Any, config: Any) -> Any:  # mkdocs hook
    from mkdocs.exceptions import PluginError
    from mkdocs.structure.files import File

    found = problems()
    if found:
        raise PluginError("the configuration reference is incomplete:\n" + "\n".join(found))
    files.append(File.generated(config, PAGE, content=render()))
    return files


if __name__ == "__main__":
    print(render())
