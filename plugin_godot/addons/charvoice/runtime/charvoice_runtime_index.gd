extends RefCounted
## The runtime form of the manifest that [code]charvoice build[/code] writes beside it
## ([code]voice_manifest.runtime/[/code]), read lazily: a small index at start, then only the
## chunk of each line played, in the locale it plays in. Start-up and memory do not grow with
## the dialogue: the index holds per locale one string of chunk hashes, split when that locale
## is first asked about; the ids recent publishes changed are in [code]history.json[/code], read
## by hot reload only. The layout is described in charvoice's
## [code]pipeline/runtime_index.py[/code].
##
## A line's chunk is FNV-1a (32 bit) of its UTF-8 bytes modulo the chunk count; both sides run
## the table [code]game/test/data/runtime_chunk_cases.json[/code]. A chunk maps a line id to
## [code][character, path, duration_s, key, text, timings][/code] (audio in that locale) or to
## [code][character, locale][/code] (no text there: it plays that locale's audio).

## The value of the index's [code]format[/code] key.
const FORMAT := "charvoice-runtime"
## The runtime layout version this reader understands.
const VERSION := 1
## The index's file name inside the runtime folder.
const INDEX_NAME := "index.json"
## The file of the ids recent publishes changed, beside the index.
const HISTORY_NAME := "history.json"
## A chunk hash that means "no lines in this chunk".
const NO_CHUNK := "-"
## Entry field: the character id.
const FIELD_CHARACTER := 0
## Entry field: the audio path, relative to the manifest's folder.
const FIELD_PATH := 1
## Entry field: the length in seconds.
const FIELD_DURATION := 2
## Entry field: the asset key.
const FIELD_KEY := 3
## Entry field: the text.
const FIELD_TEXT := 4
## Entry field: the timings file, relative to the manifest's folder ("" for none).
const FIELD_TIMINGS := 5
## Entry field of a borrowed locale: the locale whose audio it plays.
const FIELD_LENDER := 1
## Fields of an entry with audio.
const AUDIO_FIELDS := 6

## The runtime folder, res:// (or user://).
var folder: String = ""
## The publish counter.
var revision: int = -1
## The manifest's default locale.
var default_locale: String = "en"
## The locales with lines, as spelled in the manifest (the default locale first).
var locales: PackedStringArray = PackedStringArray()
## Character id -> display name.
var characters: Dictionary = {}
## Line ids with no voice on purpose (no words), as keys.
var silent: Dictionary = {}
## Why the index could not be used, or "".
var error: String = ""

var _chunks: int = 1
var _hashes: Dictionary = {}  # locale -> its chunks' hashes, as the index has them (one String)
var _files: Dictionary = {}  # locale -> PackedStringArray of chunk file names ("" for none)
var _history: Variant = null  # [revision, [ids]] of recent publishes, once read
var _history_from: int = 0
var _loaded: Dictionary = {}  # "locale/file" -> Dictionary (line id -> Array)
var _root: Dictionary = {}  # the index as read


## The runtime folder of the manifest at [param manifest_path]: for
## [code]res://voice/voice_manifest.json[/code], [code]res://voice/voice_manifest.runtime[/code].
static func folder_of(manifest_path: String) -> String:
	return manifest_path.get_basename() + ".runtime"


## The chunk of [param line_id] among [param count] (a power of two).
static func chunk_of(line_id: String, count: int) -> int:
	var value := 0x811C9DC5
	for byte in line_id.to_utf8_buffer():
		value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
	return value & (count - 1)


## True when the runtime form of the manifest at [param manifest_path] exists.
static func exists_for(manifest_path: String) -> bool:
	return FileAccess.file_exists(folder_of(manifest_path).path_join(INDEX_NAME))


## The integer [param key] of the JSON file at [param file_path] (a manifest or an index) read
## from its first [param scan_lines] lines, where charvoice writes it, else from the whole file;
## -1 when the file is missing or has none.
static func read_revision_of(file_path: String, key: String, scan_lines: int) -> int:
	var file := FileAccess.open(file_path, FileAccess.READ)
	if file == null:
		return -1
	var quoted_key := '"%s"' % key
	for _i in scan_lines:
		if file.eof_reached():
			break
		var line := file.get_line()
		var at := line.find(quoted_key)
		if at < 0:
			continue
		var rest := line.substr(at + quoted_key.length()).strip_edges().trim_prefix(":")
		rest = rest.strip_edges()
		var digits := ""
		for character in rest:
			if character < "0" or character > "9":
				break
			digits += character
		if not digits.is_empty():
			return digits.to_int()
	# Not near the top (a compact or hand-written file): parse all of it.
	file.seek(0)
	var json := JSON.new()
	if json.parse(file.get_as_text()) == OK and json.data is Dictionary:
		var found: Variant = (json.data as Dictionary).get(key)
		return int(found) if found is float or found is int else -1
	return -1


## Reads the index of the runtime form of [param manifest_path]. Returns false, with
## [member error], when it is not a usable index.
func load_index(manifest_path: String) -> bool:
	folder = folder_of(manifest_path)
	var index_path := folder.path_join(INDEX_NAME)
	var root := _read_json(index_path)
	if root.is_empty():
		return false
	if root.get("format") != FORMAT or int(root.get("version", 0)) != VERSION:
		error = "%s is not a charvoice runtime index this addon reads (update the addon)" % index_path
		return false
	_root = root
	revision = int(root.get("revision", 0))
	default_locale = str(root.get("default_locale", "en"))
	_chunks = maxi(1, int(root.get("chunks", 1)))
	characters = root.get("characters", {}) if root.get("characters") is Dictionary else {}
	silent = {}
	if root.get("silent") is Array:
		for line_id: Variant in root["silent"]:
			silent[str(line_id)] = true
	_hashes = root.get("locales", {}) if root.get("locales") is Dictionary else {}
	locales = PackedStringArray()
	for locale: String in _hashes:
		if locale == default_locale:
			locales.insert(0, locale)  # most lines have it: looked at first
		else:
			locales.append(locale)
	return true


## The entry of [param line_id] in exactly [param locale], or an empty Array.
func entry(line_id: String, locale: String) -> Array:
	var found: Variant = _chunk(locale, chunk_of(line_id, _chunks)).get(line_id)
	return found if found is Array else []


## True when [param line_id] has an entry in any locale (the default locale is read first).
func has_line(line_id: String) -> bool:
	for locale in locales:
		if not entry(line_id, locale).is_empty():
			return true
	return false


## The locales [param line_id] has audio in.
func audio_locales(line_id: String) -> PackedStringArray:
	var result := PackedStringArray()
	for locale in locales:
		if entry(line_id, locale).size() >= AUDIO_FIELDS:
			result.append(locale)
	return result


## The character id of [param line_id], or "".
func character_of(line_id: String) -> String:
	for locale in locales:
		var found := entry(line_id, locale)
		if not found.is_empty():
			return str(found[FIELD_CHARACTER])
	return ""


## The locale whose audio [param line_id] borrows in [param locale], or "".
func lender_of(line_id: String, locale: String) -> String:
	var found := entry(line_id, locale)
	var borrowed := found.size() > FIELD_LENDER and found.size() < AUDIO_FIELDS
	return str(found[FIELD_LENDER]) if borrowed else ""


## Every line id, in any locale (reads every chunk: for tools, not for play).
func all_ids() -> PackedStringArray:
	var ids := {}
	for locale in locales:
		for chunk in _chunks:
			ids.merge(_chunk(locale, chunk))
	return PackedStringArray(ids.keys())


## The ids that the publishes after revision [param since] changed, from the index's history,
## or [code]null[/code] when it does not reach back that far.
func changed_after(since: int) -> Variant:
	if since < _read_history():
		return null
	var result := {}
	for item: Variant in _history:
		if item is Array and int(item[0]) > since:
			for line_id: Variant in item[1]:
				result[str(line_id)] = true
	return PackedStringArray(result.keys())


## The ids the publish that wrote this index changed.
func changed_now() -> PackedStringArray:
	_read_history()
	var result := PackedStringArray()
	for item: Variant in _history:
		if item is Array and int(item[0]) == revision:
			result = PackedStringArray(item[1])
	return result


## Ids in chunks whose file differs from [param previous]'s: every id of the new chunk (the old
## file may be gone already), plus those of the old chunk when [param previous] had read it.
func ids_in_changed_chunks(previous: RefCounted) -> PackedStringArray:
	var result := {}
	var same_layout := previous != null and int(previous.get(&"_chunks")) == _chunks
	var old_loaded: Dictionary = previous.get(&"_loaded") if same_layout else {}
	for locale in locales:
		var names := _names(locale)
		var old_names := PackedStringArray()
		if same_layout:
			old_names = previous.call(&"_names", locale)
		for chunk in names.size():
			var old_name: String = str(old_names[chunk]) if chunk < old_names.size() else ""
			if same_layout and names[chunk] == old_name:
				continue
			result.merge(_chunk(locale, chunk))
			result.merge(old_loaded.get("%s/%s" % [locale, old_name], {}))
	return PackedStringArray(result.keys())


## The res:// chunk files of [param locale].
func chunk_paths(locale: String) -> PackedStringArray:
	var result := PackedStringArray()
	for file_name in _names(locale):
		if not file_name.is_empty():
			result.append(folder.path_join(locale).path_join(file_name))
	return result


## The index's JSON with only the locales [param keep] (what an export that ships those says).
func limited_to(keep: PackedStringArray) -> PackedByteArray:
	var limited := _root.duplicate(true)
	var files: Dictionary = limited.get("locales", {})
	for locale: String in files.keys():
		if not keep.has(locale):
			files.erase(locale)
	return JSON.stringify(limited, " ", false).to_utf8_buffer()


## How many chunk files are in memory.
func loaded_chunks() -> int:
	return _loaded.size()


func _chunk(locale: String, chunk: int) -> Dictionary:
	var names := _names(locale)
	if chunk >= names.size() or names[chunk].is_empty():
		return {}
	var key := "%s/%s" % [locale, names[chunk]]
	if not _loaded.has(key):
		# A file a newer publish removed reads as empty; the hot-reload poll then reloads.
		_loaded[key] = _read_json(folder.path_join(locale).path_join(names[chunk]))
	return _loaded[key]


## The chunk file names of [param locale] ("" for a chunk without lines), from its hashes.
func _names(locale: String) -> PackedStringArray:
	if not _files.has(locale):
		var names := PackedStringArray()
		var hashes := str(_hashes.get(locale, "")).split(" ", false)
		for chunk in hashes.size():
			var known := hashes[chunk] != NO_CHUNK and hashes.size() == _chunks
			names.append("%04d-%s.json" % [chunk, hashes[chunk]] if known else "")
		_files[locale] = names
	return _files[locale]


## Reads history.json once; the oldest revision its list covers (later than any when it is
## missing or from another publish than the index: the chunks are compared instead).
func _read_history() -> int:
	if _history == null:
		var log := _read_json(folder.path_join(HISTORY_NAME))
		var fits := int(log.get("revision", -1)) == revision and log.get("history") is Array
		_history = log["history"] if fits else []
		_history_from = int(log.get("history_from", revision)) if fits else revision + 1
	return _history_from


func _read_json(file_path: String) -> Dictionary:
	if not FileAccess.file_exists(file_path):
		return {}
	var json := JSON.new()
	if json.parse(FileAccess.get_file_as_string(file_path)) != OK or not json.data is Dictionary:
		error = "%s is not valid JSON (line %d)" % [file_path, json.get_error_line()]
		return {}
	return json.data
