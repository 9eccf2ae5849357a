"""A Godot project as one `.pck` file, written without the editor, for the engine tests.

PCK format 3 (Godot 4.4+), as `core/io/file_access_pack.cpp` reads it: the header (magic `GDPC`,
format, engine major/minor/patch, pack flags, file base, directory offset, 16 reserved words),
the files' data from the file base on, then the directory at the offset the header names (count,
then per file: path length, path without `res://` padded with NULs to a multiple of 4, offset
from the file base, size, MD5, flags). Flag 2 makes the file base relative to the pack's start.

Text resources (`project.godot`, `.tscn`, `.tres`, `.gd`, `.json`) load from a pack as they are;
nothing is imported. Without an editor there is no global class list either:
`global_class_cache()` writes the `.godot/global_script_class_cache.cfg` the editor would, so
`class_name` types resolve; nor a UID list: `uid_cache()` writes `.godot/uid_cache.bin` from the
`.uid` files, the scenes' and resources' headers and the `.import` files, so `uid://` references
resolve without a warning (as `core/io/resource_uid.cpp` reads it).
"""

from __future__ import annotations

import hashlib
import re
import struct
from collections.abc import Mapping
from pathlib import Path

MAGIC = b"GDPC"
FORMAT = 3
ENGINE = (4, 6, 0)
REL_FILEBASE = 2
ALIGN = 16  # where each file's data starts, as the editor's packer aligns it
CLASS_CACHE = ".godot/global_script_class_cache.cfg"
UID_CACHE = ".godot/uid_cache.bin"

# A project's files: res:// path (with or without the prefix) -> content.
Files = Mapping[str, bytes | str | Path]


def file_data(content: bytes | str | Path) -> bytes:
    """The bytes of one entry of `Files`."""
    if isinstance(content, Path):
        return content.read_bytes()
    return content.encode() if isinstance(content, str) else content


def _pad(size: int, to: int) -> int:
    return (to - size % to) % to


def write_pck(files: Files, out: Path) -> None:
    """Writes `files` as a format-3 pack at `out`."""
    entries = sorted((path.removeprefix("res://"), file_data(content)) for path, content in files.items())
    header_size = 4 + 4 + 12 + 4 + 8 + 8 + 16 * 4
    file_base = header_size + _pad(header_size, ALIGN)
    body = bytearray()
    directory = bytearray(struct.pack("<I", len(entries)))
    for path, data in entries:
        offset = len(body)
        body += data + b"\0" * _pad(len(data), ALIGN)
        name = path.encode()
        name += b"\0" * _pad(len(name), 4)
        directory += struct.pack("<I", len(name)) + name
        directory += struct.pack("<QQ", offset, len(data)) + hashlib.md5(data).digest() + struct.pack("<I", 0)
    header = MAGIC + struct.pack("<IIIII", FORMAT, *ENGINE, REL_FILEBASE)
    header += struct.pack("<QQ", file_base, file_base + len(body)) + b"\0" * 64
    out.write_bytes(header + b"\0" * (file_base - len(header)) + bytes(body) + bytes(directory))


def read_pck(pck: Path) -> dict[str, bytes]:
    """The files of a format-3 pack (the reader the tests check the writer with)."""
    raw = pck.read_bytes()
    if raw[:4] != MAGIC:
        raise ValueError(f"{pck}: not a Godot pack")
    fmt, _major, _minor, _patch, flags = struct.unpack_from("<IIIII", raw, 4)
    if fmt != FORMAT:
        raise ValueError(f"{pck}: pack format {fmt}, not {FORMAT}")
    file_base, dir_offset = struct.unpack_from("<QQ", raw, 24)
    if not flags & REL_FILEBASE:
        raise ValueError(f"{pck}: absolute offsets are not written here")
    (count,) = struct.unpack_from("<I", raw, dir_offset)
    at = dir_offset + 4
    files: dict[str, bytes] = {}
    for _ in range(count):
        (length,) = struct.unpack_from("<I", raw, at)
        path = raw[at + 4 : at + 4 + length].rstrip(b"\0").decode()
        at += 4 + length
        offset, size = struct.unpack_from("<QQ", raw, at)
        md5 = raw[at + 16 : at + 32]
        at += 36
        data = raw[file_base + offset : file_base + offset + size]
        if hashlib.md5(data).digest() != md5:
            raise ValueError(f"{pck}: {path} does not match its MD5")
        files[path] = data
    return files


_CLASS_NAME = re.compile(r"^class_name\s+(\w+)", re.M)
_EXTENDS = re.compile(r"^extends\s+(\"[^\"]+\"|'[^']+'|[\w.]+)", re.M)
_TOOL = re.compile(r"^@tool\b", re.M)
_ICON = re.compile(r"^@icon\(\s*\"([^\"]*)\"\s*\)", re.M)


def _base(path: str, sources: Mapping[str, str], seen: frozenset[str] = frozenset()) -> str:
    """What the editor records as a class's base: the name after `extends`; for `extends "path"`,
    the base of that script (as GDScriptLanguage::get_global_class_name does); RefCounted without."""
    found = _EXTENDS.search(sources.get(path, ""))
    if found is None:
        return "RefCounted"
    target = found.group(1)
    if target[0] in "\"'":
        parent = target[1:-1]
        if not parent.startswith("res://"):
            parent = path.rsplit("/", 1)[0] + "/" + parent
        return "RefCounted" if parent in seen else _base(parent, sources, seen | {path})
    return target.split(".")[0]


def global_class_cache(files: Files) -> str:
    """The `.godot/global_script_class_cache.cfg` the editor would write for the `.gd` files."""
    sources = {
        "res://" + path.removeprefix("res://"): file_data(content).decode("utf-8", "replace")
        for path, content in files.items()
        if path.endswith(".gd")
    }
    entries = []
    for path, source in sorted(sources.items()):
        name = _CLASS_NAME.search(source)
        if name is None:
            continue
        icon = _ICON.search(source)
        entries.append(
            "{\n"
            f'"base": &"{_base(path, sources)}",\n'
            f'"class": &"{name.group(1)}",\n'
            f'"icon": "{icon.group(1) if icon else ""}",\n'
            '"is_abstract": false,\n'
            f'"is_tool": {"true" if _TOOL.search(source) else "false"},\n'
            '"language": &"GDScript",\n'
            f'"path": "{path}"\n'
            "}"
        )
    return "list=[" + ", ".join(entries) + "]\n"


def folder_files(folder: Path, res_prefix: str, *, skip: tuple[str, ...] = (".import",)) -> dict[str, Path]:
    """Every file under `folder` as `res_prefix/relative` -> path (a folder installed in a project)."""
    prefix = res_prefix.removeprefix("res://").strip("/")
    return {
        f"{prefix}/{path.relative_to(folder).as_posix()}".lstrip("/"): path
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not path.name.endswith(skip)
    }


_UID_CHARS = "abcdefghijklmnopqrstuvwxy012345678"  # base 34, as ResourceUID::text_to_id reads it
_HEADER_UID = re.compile(r'^\[gd_(?:scene|resource)\b[^\]\n]*\buid="(uid://[a-z0-9]+)"', re.M)
_IMPORT_UID = re.compile(r'^uid="(uid://[a-z0-9]+)"', re.M)


def uid_to_id(uid: str) -> int:
    value = 0
    for char in uid.removeprefix("uid://"):
        value = value * 34 + _UID_CHARS.index(char)
    return value & 0x7FFFFFFFFFFFFFFF


def uid_cache(files: Files) -> bytes:
    """The `.godot/uid_cache.bin` the editor would write: count, then per entry the id, the
    length of the path and the res:// path."""
    entries: dict[int, str] = {}
    for name, content in files.items():
        path = "res://" + name.removeprefix("res://")
        if path.endswith(".uid"):
            found = re.match(r"\s*(uid://[a-z0-9]+)", file_data(content).decode("utf-8", "replace"))
            target = path.removesuffix(".uid")
        elif path.endswith((".tscn", ".tres", ".import")):
            head = file_data(content)[:4096].decode("utf-8", "replace")
            found = (_IMPORT_UID if path.endswith(".import") else _HEADER_UID).search(head)
            target = path.removesuffix(".import")
        else:
            continue
        if found:
            entries[uid_to_id(found.group(1))] = target
    out = bytearray(struct.pack("<I", len(entries)))
    for uid, target in entries.items():
        encoded = target.encode()
        out += struct.pack("<QI", uid, len(encoded)) + encoded
    return bytes(out)
