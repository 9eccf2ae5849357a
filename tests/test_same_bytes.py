"""Same inputs, same bytes (issue 22, item 5): the Ogg stream serial comes from the asset key,
not libsndfile's random number, and the manifest's `source` does not depend on build history."""

from __future__ import annotations

import json
import shutil

import numpy as np
import soundfile
from helpers_formats import make_project

from charvoice.ogg_pages import ogg_crc, serial_for, with_serial

EN = "title: Quay\n---\nMara: The tide is turning. #line:quay.tide\nTobin: Then we row. #line:quay.row\n===\n"
FR = "title: Quay\n---\nMara: La marée tourne. #line:quay.tide\nTobin: Alors on rame. #line:quay.row\n===\n"


def _files(project) -> dict[str, bytes]:
    return {p.relative_to(project.output).as_posix(): p.read_bytes() for p in sorted(project.output.rglob("*.ogg"))}


def _lines(project) -> dict:
    return json.loads(project.manifest.read_text())["lines"]


def test_two_independent_builds_from_one_cache_are_byte_identical(tmp_path):
    first = make_project(tmp_path / "a", {"quay.yarn": EN, "quay.fr.yarn": FR}, locales=("en", "fr"))
    assert first.run("build").exit_code == 0
    second_root = tmp_path / "b"  # another machine: the same checkout and the same (shared) cache
    shutil.copytree(first.root, second_root, ignore=shutil.ignore_patterns("game"))
    second = type(first)(second_root)
    result = second.run("build")
    assert result.exit_code == 0 and "4 from cache" in result.output, result.output
    assert _files(first) == _files(second) and len(_files(first)) == 4
    assert _lines(first) == _lines(second)
    # ... and a rebuild on the same machine writes the very same bytes again
    before = _files(second)
    assert second.run("build", "--force").exit_code == 0
    assert _files(second) == before
    # The serial is the asset key's, in every page, and every page's checksum is right.
    entry = _lines(first)["quay.tide"]["audio"]["en"]
    data = (first.output / entry["path"]).read_bytes()
    assert int.from_bytes(data[14:18], "little") == serial_for(entry["key"])
    assert with_serial(data, serial_for(entry["key"])) == data
    assert soundfile.info(str(first.output / entry["path"])).frames > 0


def test_the_serial_patch_keeps_valid_pages():
    import io

    buffer = io.BytesIO()
    with soundfile.SoundFile(buffer, "w", 44100, 1, format="OGG", subtype="VORBIS") as out:
        out.write((np.sin(np.arange(44100 * 2) / 9) * 0.3).astype("float32"))
    original = buffer.getvalue()
    at = 0
    while at < len(original):  # libogg's own checksums agree with ours
        end = at + 27 + original[at + 26] + sum(original[at + 27 : at + 27 + original[at + 26]])
        page = bytearray(original[at:end])
        stored, page[22:26] = int.from_bytes(page[22:26], "little"), b"\0\0\0\0"
        assert ogg_crc(bytes(page)) == stored
        at = end
    patched = with_serial(original, 0xC0FFEE)
    assert len(patched) == len(original) and patched != original
    decoded, _ = soundfile.read(io.BytesIO(patched))
    reference, _ = soundfile.read(io.BytesIO(original))
    assert np.array_equal(decoded, reference)


def test_the_manifest_source_does_not_depend_on_which_locale_was_built_last(tmp_path):
    edited = make_project(tmp_path / "a", {"quay.yarn": EN, "quay.fr.yarn": FR}, locales=("en", "fr"))
    assert edited.run("build").exit_code == 0
    assert _lines(edited)["quay.tide"]["source"] == "dialogue/quay.yarn:3"
    edited.write("dialogue/quay.fr.yarn", FR.replace("La marée tourne.", "La marée monte."))
    result = edited.run("build")
    assert result.exit_code == 0 and "Built 1 line" in result.output, result.output
    assert _lines(edited)["quay.tide"]["source"] == "dialogue/quay.yarn:3"
    again = edited.run("build")  # and no build moves it back and forth
    assert (
        again.exit_code == 0
        and "Built" not in again.output
        and _lines(edited)["quay.tide"]["source"].endswith("quay.yarn:3")
    )

    fresh_root = tmp_path / "b"  # the same scripts built afresh (from the same cache) elsewhere
    shutil.copytree(edited.root, fresh_root, ignore=shutil.ignore_patterns("game"))
    fresh = type(edited)(fresh_root)
    assert fresh.run("build").exit_code == 0
    assert _manifest_body(fresh) == _manifest_body(edited)  # byte for byte, but for the revision


def _manifest_body(project) -> list[str]:
    return [
        row for row in project.manifest.read_text().splitlines() if not row.startswith((' "revision"', ' "changed"'))
    ]
