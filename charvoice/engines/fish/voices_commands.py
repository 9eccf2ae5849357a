"""The `charvoice voices` commands' work: list, show, update and delete the characters' voices
(Fish Audio models, or a self-hosted Fish Speech server's references), and sync them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from charvoice.engines.fish.client import FishClient
from charvoice.engines.fish.errors import FishError, FishOutage
from charvoice.engines.fish.lock import LOCK_NAME, VoiceLock
from charvoice.engines.fish.settings import fish_settings
from charvoice.engines.fish.voices import (
    Echo,
    SyncResult,
    VoiceSync,
    _plain,
    delete_voice,
    is_persistent,
    sample_warnings_for,
)  # fmt: skip
from charvoice.errors import CharvoiceError
from charvoice.fsutil import ProjectLock, file_sha256
from charvoice.project.characters import Character, CharacterIndex, load_characters
from charvoice.project.config import ProjectConfig, api_key, find_root, load_config


@dataclass
class VoicesProject:
    """What the voices commands work on: config and characters (no dialogue needed), the client."""

    config: ProjectConfig
    characters: dict[str, Character]
    client: FishClient

    @classmethod
    def open(cls, start: Path | None, *, require_key: bool = True) -> VoicesProject:
        """`require_key=False` (list, show): without a key the server is simply not asked."""
        config = load_config(find_root(start or Path.cwd()))
        characters = load_characters(config)
        return cls(config, characters, FishClient.from_config(config, api_key(), require_key=require_key))

    def server_unavailable(self) -> str:
        """Why the server will not be asked ("" when it will): no key for Fish Audio."""
        return "FISH_API_KEY is not set" if self.client.missing_key else ""

    def local_voices(self, lock: VoiceLock) -> list[dict[str, Any]]:
        """Every character's voice as the project and charvoice.lock describe it (no network)."""
        rows = []
        for character in sorted(self.characters.values(), key=lambda c: c.id):
            voice = character.voice
            if voice.scratch:
                continue
            entry = lock.entries.get(character.id)
            locked = entry if entry is not None and is_persistent(character) else None
            if locked is not None:
                state = (
                    locked.state
                    if locked.same_voice(VoiceSync(self.config, self.client).wanted(character))
                    else "samples changed: sync again"
                )
            elif is_persistent(character):
                state = "not cloned yet"
            else:
                state = "-"
            rows.append({
                "character": character.id, "source": voice.source,
                "id": locked.model_id if locked else voice.model_id, "lock_state": state, "server_state": "unknown",
            })  # fmt: skip
        return rows

    def close(self) -> None:
        self.client.close()

    def sync(self, echo: Echo, warn: Echo, *, verify: bool, prune: bool) -> tuple[list[SyncResult], list[str]]:
        self.client.busy.say = echo
        return VoiceSync(self.config, self.client, echo, warn).sync(
            self.characters.values(), verify=verify, prune=prune
        )

    def find(self, name: str) -> Character:
        character = CharacterIndex(self.characters).find(name)
        if character is None:
            raise CharvoiceError(
                f"no character {name!r} in "
                f"{self.config.relative(self.config.characters_dir)}{CharacterIndex(self.characters).suggestion(name)}"
            )
        return character

    def model_of(self, character: Character, lock: VoiceLock) -> str:
        entry = lock.entries.get(character.id)
        if entry is not None:
            return entry.model_id
        if character.voice.model_id:
            return character.voice.model_id
        if is_persistent(character):
            raise CharvoiceError(
                f"{character.file}: {character.name} has no voice model yet: run `charvoice voices sync`"
            )
        raise CharvoiceError(f"{character.file}: {character.name} has no voice model ({character.voice.source} voice)")

    def list_voices(self) -> dict[str, Any]:
        """The characters' voices (local source and lock state) and the account's models (every
        page), each with the character that uses it. Without a key, or with the server out of
        reach, the local part stands alone and the server state is "unknown" (`server_error`)."""
        lock = VoiceLock.load(self.config)
        voices = self.local_voices(lock)
        users = {c.voice.model_id: c.id for c in self.characters.values() if c.voice.model_id}
        users.update({entry.model_id: cid for cid, entry in lock.entries.items()})
        reason = self.server_unavailable()
        if reason:
            return {"voices": voices, "models": [], "not_on_account": [], "server_error": reason}
        try:
            if fish_settings(self.config).server == "fish-speech":  # its references stand for models
                found = [
                    {"_id": rid, "title": rid, "state": "trained", "visibility": "server"}
                    for rid in self.client.references_list()
                ]
            else:
                found = list(self.client.list_models(self_only=True))
            models = [
                {"id": m.get("_id", ""), "title": m.get("title", ""), "state": m.get("state", ""), "visibility": m.get("visibility", ""),
                 "created": m.get("created_at", ""), "character": users.get(m.get("_id", ""), "")}
                for m in found
            ]  # fmt: skip
        except (FishError, FishOutage) as error:  # a bad key or no credit is the user's to fix: exit 2
            return {"voices": voices, "models": [], "not_on_account": [], "server_error": _plain(error)}
        states = {m["id"]: m["state"] for m in models}
        for row in voices:
            if row["id"]:
                row["server_state"] = states.get(row["id"], "not on this account")
        listed = {m["id"] for m in models}
        missing = [
            {"character": cid, "id": model_id}
            for model_id, cid in sorted(users.items(), key=lambda item: item[1])
            if model_id not in listed
        ]
        return {"voices": voices, "models": models, "not_on_account": missing, "server_error": ""}

    def show(self, name: str) -> dict[str, Any]:
        character = self.find(name)
        voice = character.voice
        lock = VoiceLock.load(self.config)
        entry = lock.entries.get(character.id)
        info: dict[str, Any] = {
            "character": character.id, "name": character.name, "file": character.file, "source": voice.source,
            "samples": [{"file": self.config.relative(p), "sha256": file_sha256(p)} for p in voice.samples],
            "texts": list(voice.texts), "lock": asdict(entry) if entry else None, "warnings": [],
        }  # fmt: skip
        for path in voice.samples:
            info["warnings"].extend(sample_warnings_for(character, path))
        if (
            is_persistent(character)
            and entry is not None
            and not entry.same_voice(VoiceSync(self.config, self.client).wanted(character))
        ):
            info["warnings"].append(
                f"the samples changed since model {entry.model_id} was made: `charvoice voices sync` clones them again"
            )
        model_id = entry.model_id if entry else voice.model_id
        if model_id:
            reason = self.server_unavailable()
            if reason:
                info["model"] = {"_id": model_id, "state": "unknown", "error": f"server state unknown: {reason}"}
                return info
            try:
                if fish_settings(self.config).server == "fish-speech":
                    held = model_id in self.client.references_list()
                    model = {
                        "_id": model_id,
                        "title": model_id,
                        "state": "trained" if held else "not on the server",
                        "visibility": "server",
                    }
                else:
                    model = self.client.get_model(model_id)
                info["model"] = {
                    key: model.get(key)
                    for key in (
                        "_id",
                        "title",
                        "state",
                        "visibility",
                        "description",
                        "tags",
                        "created_at",
                        "task_count",
                    )
                }
            except (FishError, FishOutage) as error:
                info["model"] = {"_id": model_id, "state": "unknown", "error": f"server state unknown: {_plain(error)}"}
        return info

    def update(
        self,
        name: str,
        *,
        title: str | None,
        visibility: str | None,
        tags: Sequence[str] | None,
        description: str | None,
    ) -> dict[str, Any]:
        """PATCH the character's model: the given fields, or (none given) the TOML's [voice] metadata."""
        character = self.find(name)
        lock = VoiceLock.load(self.config)
        model_id = self.model_of(character, lock)
        changes: dict[str, Any] = {"title": title, "visibility": visibility, "tags": tags, "description": description}
        changes = {key: value for key, value in changes.items() if value is not None}
        entry = lock.entries.get(character.id)
        ours = entry is not None and entry.model_id == model_id  # a clone charvoice made
        voice = character.voice
        cover = None
        if not changes:
            if not ours:
                raise CharvoiceError(
                    f"{character.file}: {character.name}'s model_id is not a clone charvoice made; say what to "
                    "change (--title, --visibility, --tags, --description)"
                )
            changes = {
                "title": voice.title,
                "visibility": voice.visibility,
                "tags": list(voice.tags),
                "description": voice.description,
            }
            if voice.cover_image is not None:
                cover = (voice.cover_image.name, voice.cover_image.read_bytes())
                changes["cover_sha256"] = file_sha256(voice.cover_image)
        if ours and entry is not None:
            updated = replace(entry, **changes)
            if updated.visibility == "public" and not updated.cover_sha256:
                raise CharvoiceError(
                    f"{character.file}: a public model needs a cover picture: set [voice] cover_image and "
                    f"run `charvoice voices update {character.id}`"
                )
            if "tags" in changes or "visibility" in changes:
                # Tags are replaced as a whole: keep the marker the lost-create recovery looks for.
                changes["tags"] = updated.server_tags()
        sent = {key: value for key, value in changes.items() if key != "cover_sha256"}
        try:
            self.client.update_model(model_id, cover_image=cover, **sent)
        except FishError as error:
            raise CharvoiceError(
                f"{character.file}: cannot update voice model {model_id} of {character.name}: {error}"
            ) from None
        if ours and entry is not None:
            with ProjectLock(self.config.state_dir / "voices.lock"):
                fresh = VoiceLock.load(self.config)  # as it is now: a sync may have pinned another voice meanwhile
                fresh.entries[character.id] = updated
                fresh.save()
        shown = {key: value for key, value in changes.items() if key != "tags"} | (
            {"tags": tags if tags is not None else list(voice.tags)} if "tags" in changes else {}
        )
        return {"character": character.id, "id": model_id, "changed": shown}

    def delete_target(self, name: str) -> tuple[str, str]:
        """(character id, model id) that `delete` would remove; only models charvoice cloned."""
        lock = VoiceLock.load(self.config)
        character = CharacterIndex(self.characters).find(name)
        character_id = character.id if character else name
        entry = lock.entries.get(character_id)
        if entry is None:
            if character is not None and character.voice.model_id:
                raise CharvoiceError(
                    f"{character.file}: {character.name} uses model_id {character.voice.model_id}, which charvoice "
                    "did not clone; delete it on fish.audio if you mean to"
                )
            if character is None:
                self.find(name)  # raises the "no character" error
                raise AssertionError("unreachable")
            raise CharvoiceError(f"{character.file}: {character.name} has no cloned voice model in {LOCK_NAME}")
        return character_id, entry.model_id

    def delete(self, character_id: str, model_id: str) -> None:
        try:
            delete_voice(self.config, self.client, model_id)
        except FishError as error:
            if error.status != 404:  # already gone is what we wanted
                raise CharvoiceError(f"cannot delete voice model {model_id}: {error}") from None
        with ProjectLock(self.config.state_dir / "voices.lock"):
            lock = VoiceLock.load(self.config)
            lock.entries.pop(character_id, None)
            lock.save()
