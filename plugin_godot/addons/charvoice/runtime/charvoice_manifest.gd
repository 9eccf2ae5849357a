class_name CharVoiceManifest
extends RefCounted
## A parsed [code]voice_manifest.json[/code]: the lines, their audio per locale, the locale
## fallback rule and the res:// path of each file.
##
## [method load_file] reads the manifest's runtime form when the build wrote one beside it
## ([code]voice_manifest.runtime/[/code], see [code]charvoice_runtime_index.gd[/code]): a small
## index at once, then only the part of the lines that is asked about, so a game's start does not
## grow with its dialogue. Without it (an older build), the whole manifest is parsed.
##
## The layout is charvoice's manifest version 1; its JSON Schema ships with charvoice
## ([code]charvoice/manifest.schema.json[/code]). Every JSON key read here is one of the
## [code]KEY_*[/code] constants below, and unknown keys are ignored. The static functions
## [method normalize_locale], [method locale_candidates], [method resolve_locale] and
## [method resolve_path] mirror [code]charvoice/godot.py[/code]; both are tested on the same
## table of cases ([code]game/test/data/manifest_rules_cases.json[/code]).
## [codeblock]
## var manifest := CharVoiceManifest.new()
## if manifest.load_file("res://voice/voice_manifest.json"):
##     var locale := manifest.resolve_line_locale("intro.greet", "fr_CA")
##     print(manifest.get_audio_path("intro.greet", locale))
## [/codeblock]

## The value of the manifest's [code]format[/code] key.
const FORMAT := "charvoice-manifest"
## The manifest layout version this reader understands.
const VERSION := 1
## Top-level key: must equal [constant FORMAT].
const KEY_FORMAT := "format"
## Top-level key: must equal [constant VERSION].
const KEY_VERSION := "version"
## Top-level key: grows by one with every publish.
const KEY_REVISION := "revision"
## Top-level key: ids of the lines the last publish touched.
const KEY_CHANGED := "changed"
## Top-level key: the last step of the locale fallback.
const KEY_DEFAULT_LOCALE := "default_locale"
## Top-level key: character id -> {name}.
const KEY_CHARACTERS := "characters"
## Top-level key: line id -> {character, source, audio}.
const KEY_LINES := "lines"
## Top-level key: lines charvoice plays nothing for on purpose (no words such as "...", or
## a Dialogue Manager [code][#voice=...][/code] file the balloon plays): id -> details.
const KEY_SILENT := "silent"
## Character key: display name.
const KEY_NAME := "name"
## Line key: character id.
const KEY_CHARACTER := "character"
## Line key: locale -> audio entry.
const KEY_AUDIO := "audio"
## Line key: locale -> locale whose audio it borrows (the line has no text in that locale).
const KEY_FALLBACK := "fallback"
## Audio key: file path relative to the manifest's folder.
const KEY_PATH := "path"
## Audio key: the line's text.
const KEY_TEXT := "text"
## Audio key: length in seconds.
const KEY_DURATION := "duration_s"
## Audio key: changes whenever the audio changes.
const KEY_ASSET_KEY := "key"
## Audio key: the line's timings file, relative to the manifest's folder (optional).
const KEY_TIMINGS := "timings"
## How many lines [method read_revision] looks at for the revision before it parses the file.
const REVISION_SCAN_LINES := 16
const RuntimeIndex := preload("charvoice_runtime_index.gd")

## res:// path the manifest was read from; audio paths are relative to its folder.
var path: String = ""
## The publish counter, or -1 when no manifest is loaded.
var revision: int = -1
## Ids of the lines the last publish touched (from the runtime form: read when first asked).
var changed: PackedStringArray:
	get:
		return _runtime.changed_now() if _runtime != null else _changed
	set(value):
		_changed = value
## The locale used when neither the requested locale nor its prefixes have audio.
var default_locale: String = "en"
## Why the manifest could not be used, or "" when it loaded.
var error: String = ""
## True when the lines are read lazily from the runtime form (see the class description).
var lazy: bool:
	get:
		return _runtime != null

var _changed: PackedStringArray = PackedStringArray()
var _characters: Dictionary = {}
var _lines: Dictionary = {}
var _silent: Dictionary = {}
var _runtime: RuntimeIndex  # the runtime form, or null when the whole manifest was parsed


## Reads the manifest at [param manifest_path]. Returns false (and keeps no lines) when the
## file is missing, is not JSON or is not a charvoice manifest; [member error] says why.
func load_file(manifest_path: String) -> bool:
	path = manifest_path
	if RuntimeIndex.exists_for(manifest_path):
		return _load_runtime(manifest_path)
	if not FileAccess.file_exists(manifest_path):
		return _fail("no manifest at %s (run `charvoice build`)" % manifest_path)
	var text := FileAccess.get_file_as_string(manifest_path)
	if text.is_empty():
		return _fail(
			"cannot read %s (%s)" % [manifest_path, error_string(FileAccess.get_open_error())]
		)
	return parse(text, manifest_path)


## Parses manifest JSON [param text] as if read from [param manifest_path]. Returns false
## when it is not a usable manifest; [member error] says why.
func parse(text: String, manifest_path: String) -> bool:
	path = manifest_path
	# A JSON instance, not JSON.parse_string(): that logs an engine error on bad input and
	# cannot say where the error is.
	var json := JSON.new()
	if json.parse(text) != OK:
		return _fail(
			(
				"%s is not valid JSON (line %d: %s)"
				% [manifest_path, json.get_error_line(), json.get_error_message()]
			)
		)
	if not json.data is Dictionary:
		return _fail("%s is not a charvoice manifest" % manifest_path)
	var root: Dictionary = json.data
	if _string(root.get(KEY_FORMAT)) != FORMAT:
		return _fail("%s is not a charvoice manifest" % manifest_path)
	var version := _int(root.get(KEY_VERSION), 0)
	if version != VERSION:
		return _fail(
			(
				"%s has manifest version %d; this addon reads version %d (update the addon)"
				% [manifest_path, version, VERSION]
			)
		)
	revision = _int(root.get(KEY_REVISION), 0)
	changed = PackedStringArray(_array(root.get(KEY_CHANGED)))
	default_locale = _string(root.get(KEY_DEFAULT_LOCALE), "en")
	_characters = _dictionary(root.get(KEY_CHARACTERS))
	_lines = _dictionary(root.get(KEY_LINES))
	_silent = _dictionary(root.get(KEY_SILENT))
	_runtime = null
	error = ""
	return true


## What the game reads at start, limited to the locales [param keep] (an export shipping only
## those): res:// path -> its bytes. That is the runtime index, or the manifest itself from a
## build without one; empty when unusable.
func export_json(keep: PackedStringArray) -> Dictionary:
	if _runtime != null:
		var index := RuntimeIndex.folder_of(path).path_join(RuntimeIndex.INDEX_NAME)
		return {index: _runtime.limited_to(keep)}
	var json := JSON.new()
	if json.parse(FileAccess.get_file_as_string(path)) != OK or not json.data is Dictionary:
		return {}
	for line: Variant in _dictionary(json.data.get(KEY_LINES)).values():
		for key: String in [KEY_AUDIO, KEY_FALLBACK]:
			var by_locale := _dictionary(_dictionary(line).get(key))
			for locale: String in by_locale.keys():
				if not keep.has(locale):
					by_locale.erase(locale)
	return {path: JSON.stringify(json.data, " ", false).to_utf8_buffer()}


## The res:// chunk files of the runtime form for [param locale] (none without one).
func runtime_files(locale: String) -> PackedStringArray:
	return _runtime.chunk_paths(locale) if _runtime != null else PackedStringArray()


## How many parts of the runtime form are in memory (0 when the whole manifest was parsed).
func loaded_chunks() -> int:
	return _runtime.loaded_chunks() if _runtime != null else 0


func _load_runtime(manifest_path: String) -> bool:
	var runtime := RuntimeIndex.new()
	if not runtime.load_index(manifest_path):
		return _fail(runtime.error)
	_runtime = runtime
	revision = runtime.revision
	default_locale = runtime.default_locale
	_characters = {}
	for character_id: String in runtime.characters:
		_characters[character_id] = {KEY_NAME: runtime.characters[character_id]}
	_lines = {}
	_silent = runtime.silent
	error = ""
	return true


## True when the manifest has [param line_id] (in any locale).
func has_line(line_id: String) -> bool:
	return _runtime.has_line(line_id) if _runtime != null else _lines.has(line_id)


## True when [param line_id] has no voice on purpose (the manifest's [code]silent[/code] map):
## playing it plays nothing, without a warning, and [signal CharVoice.line_finished] follows.
func is_silent(line_id: String) -> bool:
	return _silent.has(line_id)


## Every line id in the manifest.
## Every line id in the manifest (from the runtime form, this reads all of it: for tools).
func get_line_ids() -> PackedStringArray:
	return _runtime.all_ids() if _runtime != null else PackedStringArray(_lines.keys())


## The locales [param line_id] has audio for, as written in the manifest.
func get_locales(line_id: String) -> PackedStringArray:
	if _runtime != null:
		return _runtime.audio_locales(line_id)
	return PackedStringArray(_audio_of(line_id).keys())


## The locale of [param line_id] to play for [param requested] (see
## [method pick_line_locale]), or "" when the line is missing or has no audio in a fitting
## locale.
func resolve_line_locale(line_id: String, requested: String) -> String:
	if _runtime != null:
		return _resolve_lazily(line_id, requested)
	var borrowed := _dictionary(_dictionary(_lines.get(line_id)).get(KEY_FALLBACK))
	return pick_line_locale(requested, get_locales(line_id), borrowed, default_locale)


## The audio entry of [param line_id] in exactly [param locale], or an empty Dictionary.
func get_entry(line_id: String, locale: String) -> Dictionary:
	if _runtime == null:
		return _dictionary(_audio_of(line_id).get(locale))
	var found := _runtime.entry(line_id, locale)
	if found.size() < RuntimeIndex.AUDIO_FIELDS:
		return {}
	return {
		KEY_PATH: found[RuntimeIndex.FIELD_PATH],
		KEY_DURATION: found[RuntimeIndex.FIELD_DURATION],
		KEY_ASSET_KEY: found[RuntimeIndex.FIELD_KEY],
		KEY_TEXT: found[RuntimeIndex.FIELD_TEXT],
		KEY_TIMINGS: found[RuntimeIndex.FIELD_TIMINGS],
	}


## The locale whose audio [param line_id] plays for [param locale] (the manifest's
## [code]fallback[/code]: it has no text there), or "".
func get_borrowed(line_id: String, locale: String) -> String:
	if _runtime != null:
		return _runtime.lender_of(line_id, locale)
	return _string(_dictionary(_dictionary(_lines.get(line_id)).get(KEY_FALLBACK)).get(locale))


## The res:// path of the audio of [param line_id] in [param locale], or "".
func get_audio_path(line_id: String, locale: String) -> String:
	var relative := _string(get_entry(line_id, locale).get(KEY_PATH))
	if relative.is_empty():
		return ""
	return resolve_path(path, relative)


## The res:// path of the timings file of [param line_id] in [param locale], or "" when the
## line has none.
func get_timings_path(line_id: String, locale: String) -> String:
	var relative := _string(get_entry(line_id, locale).get(KEY_TIMINGS))
	return resolve_path(path, relative) if not relative.is_empty() else ""


## The text of [param line_id] in [param locale], or "".
func get_text(line_id: String, locale: String) -> String:
	return _string(get_entry(line_id, locale).get(KEY_TEXT))


## The length in seconds of [param line_id] in [param locale], or 0.0.
func get_duration(line_id: String, locale: String) -> float:
	var seconds: Variant = get_entry(line_id, locale).get(KEY_DURATION)
	return float(seconds) if seconds is float or seconds is int else 0.0


## The asset key of [param line_id] in [param locale] (it changes with the audio), or "".
func get_asset_key(line_id: String, locale: String) -> String:
	return _string(get_entry(line_id, locale).get(KEY_ASSET_KEY))


## The character id of [param line_id], or "".
func get_character(line_id: String) -> String:
	if _runtime != null:
		return _runtime.character_of(line_id)
	return _string(_dictionary(_lines.get(line_id)).get(KEY_CHARACTER))


## The display name of character [param character_id]; the id itself when it has none.
func get_character_name(character_id: String) -> String:
	var character := _dictionary(_characters.get(character_id))
	return _string(character.get(KEY_NAME), character_id)


## Ids whose audio differs between [param previous] and this manifest: added, removed or
## with another asset key in any locale, plus the ids this manifest lists as changed. Comparing
## keys catches publishes a poller missed between two looks.
func changed_since(previous: CharVoiceManifest) -> PackedStringArray:
	if _runtime != null and previous != null and previous._runtime != null:
		var listed: Variant = _runtime.changed_after(previous.revision)
		return listed if listed != null else _runtime.ids_in_changed_chunks(previous._runtime)
	var result := PackedStringArray()
	for line_id in changed:
		if not result.has(line_id):
			result.append(line_id)
	for line_id: String in get_line_ids():
		if result.has(line_id):
			continue
		var locales := get_locales(line_id)
		if previous == null or previous.get_locales(line_id).size() != locales.size():
			result.append(line_id)
			continue
		for locale in locales:
			if previous.get_asset_key(line_id, locale) != get_asset_key(line_id, locale):
				result.append(line_id)
				break
	if previous != null:
		for line_id in previous.get_line_ids():
			if not has_line(line_id) and not result.has(line_id):
				result.append(line_id)
	return result


## The revision of the manifest at [param manifest_path] without parsing all of it (from its
## runtime index when there is one, else from the manifest's first lines), or -1 when there is
## no readable manifest.
static func read_revision(manifest_path: String) -> int:
	if RuntimeIndex.exists_for(manifest_path):
		manifest_path = RuntimeIndex.folder_of(manifest_path).path_join(RuntimeIndex.INDEX_NAME)
	return RuntimeIndex.read_revision_of(manifest_path, KEY_REVISION, REVISION_SCAN_LINES)


## [param locale] as the fallback rule compares it: without an encoding or variant suffix,
## "_" between parts, lower case ("fr-CA.UTF-8" -> "fr_ca").
static func normalize_locale(locale: String) -> String:
	var result := locale.strip_edges().replace("-", "_")
	for separator in [".", "@"]:
		var cut := result.find(separator)
		if cut >= 0:
			result = result.substr(0, cut)
	return result.to_lower()


## The locales to try for [param requested], in order: the locale, then each shorter prefix
## ("zh_Hans_CN", "zh_Hans", "zh"), then [param default_locale] and its prefixes; normalized
## and without repeats.
static func locale_candidates(requested: String, default_locale: String) -> PackedStringArray:
	var result := PackedStringArray()
	for start in [requested, default_locale]:
		var current := normalize_locale(start)
		while not current.is_empty():
			if not result.has(current):
				result.append(current)
			var cut := current.rfind("_")
			current = current.substr(0, cut) if cut > 0 else ""
	return result


## The entry of [param available] to use for [param requested]: the first of
## [method locale_candidates] that [param available] holds, compared after
## [method normalize_locale], or "" when none fits. The result is spelled as in
## [param available]. [code]fr_CA[/code] falls back to [code]fr[/code], then to
## [param default_locale]; it never falls back to a sibling such as [code]fr_BE[/code].
static func resolve_locale(
	requested: String, available: PackedStringArray, default_locale: String
) -> String:
	for candidate in locale_candidates(requested, default_locale):
		for locale in available:
			if normalize_locale(locale) == candidate:
				return locale
	return ""


## The locale whose audio a line plays for [param requested]: [method resolve_locale] over the
## line's [param audio_locales] and the locales it [param borrowed] (its [code]fallback[/code]
## map: locale -> locale with the audio); a borrowed locale plays the audio it names. "" when
## nothing fits.
static func pick_line_locale(
	requested: String,
	audio_locales: PackedStringArray,
	borrowed: Dictionary,
	default_locale: String
) -> String:
	var available := PackedStringArray(audio_locales)
	for locale in borrowed:
		if not available.has(locale):
			available.append(locale)
	var chosen := resolve_locale(requested, available, default_locale)
	if audio_locales.has(chosen) or chosen.is_empty():
		return chosen
	var lender: Variant = borrowed[chosen]
	return lender if lender is String and audio_locales.has(lender) else ""


## True when an export limited to the locales [param chosen] ships the voice of [param locale]:
## [param chosen] is empty (every locale), or holds [param locale] or one of its parents
## ([code]fr[/code] ships [code]fr_CA[/code]; [code]fr_CA[/code] does not ship [code]fr[/code]).
static func export_includes(locale: String, chosen: PackedStringArray) -> bool:
	if chosen.is_empty():
		return true
	var candidates := locale_candidates(locale, "")
	for wanted in chosen:
		if candidates.has(normalize_locale(wanted)):
			return true
	return false


## The res:// path of [param relative], a manifest [code]path[/code], which is relative to
## the folder of the manifest at [param manifest_path]. An absolute path is returned as is.
static func resolve_path(manifest_path: String, relative: String) -> String:
	if relative.is_absolute_path():
		return relative
	return manifest_path.get_base_dir().path_join(relative)


## [method resolve_line_locale] on the runtime form: the candidates in order, reading only the
## chunks of the locales that fit (the same rule as [method pick_line_locale]).
func _resolve_lazily(line_id: String, requested: String) -> String:
	for candidate in locale_candidates(requested, default_locale):
		for locale in _runtime.locales:
			if normalize_locale(locale) != candidate:
				continue
			var found := _runtime.entry(line_id, locale)
			if found.size() >= RuntimeIndex.AUDIO_FIELDS:
				return locale
			if found.size() > RuntimeIndex.FIELD_LENDER:
				var lender := _string(found[RuntimeIndex.FIELD_LENDER])
				var lent := _runtime.entry(line_id, lender).size() >= RuntimeIndex.AUDIO_FIELDS
				return lender if lent else ""
	return ""


func _audio_of(line_id: String) -> Dictionary:
	return _dictionary(_dictionary(_lines.get(line_id)).get(KEY_AUDIO))


func _fail(message: String) -> bool:
	error = message
	revision = -1
	changed = PackedStringArray()
	_characters = {}
	_lines = {}
	_silent = {}
	_runtime = null
	return false


static func _dictionary(value: Variant) -> Dictionary:
	return value if value is Dictionary else {}


static func _array(value: Variant) -> Array:
	return value if value is Array else []


static func _string(value: Variant, fallback: String = "") -> String:
	return value if value is String else fallback


static func _int(value: Variant, fallback: int) -> int:
	return int(value) if value is float or value is int else fallback
