"""The Godot addon as a zip for the Godot Asset Library (`charvoice godot package`).

The editor's asset installer offers to skip an archive's single top-level folder (GitHub's
archives have one, `<repository>-<commit>/`, and assets from the Asset Library are installed
with it skipped), so the zip holds `charvoice-godot-<version>/addons/charvoice/...`: installed
into res://, the addon lands in res://addons/charvoice, where `charvoice godot install` puts it.
It carries the files `godot install` copies (editor byproducts left out) and the licence, inside
the addon folder so it travels with the code. Entries are sorted and dated 1980-01-01, so the
same addon always gives the same bytes.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

from charvoice.errors import CharvoiceError
from charvoice.fsutil import atomic_write_bytes
from charvoice.godot.install import ADDON_DIR, addon_source, addon_version, shipped_files

_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip entry can hold


@dataclass(frozen=True)
class PackageReport:
    path: Path
    version: str
    files: int


def package_version() -> str:
    import charvoice

    return str(charvoice.__version__)


def _license() -> bytes:
    """LICENSE from the installed package's metadata, or from the checkout it runs from."""
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        for file in distribution("charvoice").files or []:
            if file.name == "LICENSE":
                return file.read_binary()
    except PackageNotFoundError:
        pass
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "pyproject.toml").is_file() and (checkout / "LICENSE").is_file():
        return (checkout / "LICENSE").read_bytes()
    raise CharvoiceError("the LICENSE file is missing from this charvoice installation (reinstall charvoice)")


def _entry(name: str, directory: bool) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name + ("/" if directory else ""), date_time=_DATE)
    info.create_system = 3  # Unix, so the permission bits below are read
    info.external_attr = ((0o40755 if directory else 0o100644) << 16) | (0x10 if directory else 0)
    info.compress_type = zipfile.ZIP_STORED if directory else zipfile.ZIP_DEFLATED
    return info


def addon_zip(source: Path | None = None) -> tuple[bytes, str, int]:
    """The zip's bytes, the version, and how many files it holds."""
    files = shipped_files(source or addon_source())
    version, expected = addon_version(files), package_version()
    if version != expected:
        raise CharvoiceError(
            f"the addon's plugin.cfg says version {version or '(none)'!r} but charvoice is {expected}: "
            "set version in plugin_godot/addons/charvoice/plugin.cfg to the package's before packaging"
        )
    files["LICENSE"] = _license()
    root = f"charvoice-godot-{version}"
    names = {f"{root}/{ADDON_DIR.as_posix()}/{relative}": data for relative, data in files.items()}
    folders = {"/".join(name.split("/")[:depth]) for name in names for depth in range(1, name.count("/") + 1)}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(folders | set(names)):
            if name in names:
                archive.writestr(_entry(name, directory=False), names[name])
            else:
                archive.writestr(_entry(name, directory=True), b"")
    return buffer.getvalue(), version, len(names)


def package_addon(output: Path, source: Path | None = None) -> PackageReport:
    """Write `charvoice-godot-<version>.zip` into the folder `output` (atomically)."""
    data, version, count = addon_zip(source)
    path = output / f"charvoice-godot-{version}.zip"
    atomic_write_bytes(path, data)
    return PackageReport(path, version, count)
