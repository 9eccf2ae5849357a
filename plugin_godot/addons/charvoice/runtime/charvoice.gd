extends Node
## Plays the voice lines that [code]charvoice build[/code] made, by line id.
##
## The CharVoice plugin registers this script as the [code]CharVoice[/code] autoload. It reads
## the manifest named by the [code]charvoice/general/manifest_path[/code] project setting and
## picks each line's audio for the game's locale ([method TranslationServer.get_locale]),
## falling back from [code]fr_CA[/code] to [code]fr[/code] to the manifest's default locale.
## [codeblock]
## func _ready() -> void:
##     CharVoice.line_finished.connect(_on_line_finished)
##     CharVoice.play("lighthouse.intro")
##
## func _on_line_finished(line_id: String) -> void:
##     show_next_line()
## [/codeblock]
## A missing line or file never stops the game: it pushes one warning naming the id, and
## [signal line_finished] still follows on the next frame so dialogue waiting for it moves on.
## [signal AudioStreamPlayer.finished] is not emitted on [method AudioStreamPlayer.stop] nor
## when a player leaves the tree, and never without an audio device: CharVoice tracks each
## line itself, emits [signal line_stopped] for a cut line and [signal line_finished] at the
## latest shortly after the manifest's [code]duration_s[/code], so dialogue never stalls.
## In games run from the editor the manifest is polled; lines that [code]charvoice build[/code]
## changed are then read straight from their new files, so the next play of an edited line is
## the new audio, without restarting. Exported games only use imported resources.

## Emitted when [param line_id] starts playing.
signal line_started(line_id: String)
## Emitted when [param line_id] played to its end, or on the next frame when [method play]
## could not play it (missing line or file).
signal line_finished(line_id: String)
## Emitted when [param line_id] was cut short, by [method stop] or by another line started
## on its player.
signal line_stopped(line_id: String)
## Emitted after the manifest was read again; [param changed_ids] lists the lines whose audio
## changed, was added or was removed.
signal manifest_reloaded(revision: int, changed_ids: PackedStringArray)
## Emitted when the lines requested by [method preload_lines] are loaded (or failed to).
signal lines_preloaded(line_ids: PackedStringArray)
## Emitted as word [param index] ([param word]) of a playing line starts, from the line's
## timings file (see [method get_timings]); lines without timings emit nothing.
signal word_started(line_id: String, index: int, word: String)
## Emitted when the game's locale changed ([constant Node.NOTIFICATION_TRANSLATION_CHANGED]);
## lines started from now on play in [param locale].
signal locale_changed(locale: String)

## How a line ranks against others: a line never cuts one of a higher priority, and when all
## of CharVoice's players are busy the lowest-priority, oldest line is cut first.
enum Priority { BARK = 0, AMBIENT = 1, DIALOGUE = 2, CRITICAL = 3 }

const Manifest := preload("charvoice_manifest.gd")
const Settings := preload("charvoice_settings.gd")
const Timings := preload("charvoice_timings.gd")
## Seconds after a line's [code]duration_s[/code] at which it counts as finished even if the
## player never said so (no audio device, godot#71640; a paused or starved mixer).
const FALLBACK_MARGIN_S := 0.5
## Volume a fade-out ends at, in dB, before the player stops.
const SILENT_DB := -60.0


## One line playing on one player: what the tracking needs, in one place.
class Voice:
	extends RefCounted
	## The player the line plays on (an AudioStreamPlayer, 2D or 3D).
	var player: Node
	## The line id.
	var line_id: String = ""
	## The locale the audio was picked for.
	var locale: String = ""
	## One of [enum Priority].
	var priority: int = 0
	## Tells this play apart from a later play on the same player (stale timers ignore it).
	var serial: int = 0
	## The line's length from the manifest (or the stream), in seconds; 0 when unknown.
	var duration_s: float = 0.0
	## The line's timings, or null.
	var timings: RefCounted
	## Index of the next word to announce with [signal word_started].
	var next_word: int = 0
	## [method Time.get_ticks_msec] when it started, for timing without an audio device.
	var started_msec: int = 0
	## The player's volume before CharVoice changed it (character volume, fades).
	var base_volume_db: float = 0.0
	## Playback position at the last fallback check: a position that does not move means
	## nothing mixes (no audio device), so the line counts as finished.
	var checked_position: float = -1.0

## The manifest to read; "" uses the [code]charvoice/general/manifest_path[/code] setting.
## Set it before the node enters the tree, or call [method reload_manifest] after.
var manifest_path: String = ""
## When not empty, the locale to play instead of [method TranslationServer.get_locale].
var locale_override: String = ""
## Bus of the players CharVoice creates ([code]charvoice/general/default_bus[/code]).
var default_bus: StringName = &"Master"
## Character id -> bus name for that character's lines on CharVoice's own players
## ([code]charvoice/mixing/character_buses[/code]).
var character_buses: Dictionary = {}
## Character id -> volume offset in dB ([code]charvoice/mixing/character_volume_db[/code]).
var character_volume_db: Dictionary = {}
## Seconds a stopped line fades out over ([code]charvoice/mixing/fade_out[/code]); 0 cuts.
var fade_out_s: float = 0.1
## Bus lowered while any line plays, or empty for none ([code]charvoice/mixing/duck_bus[/code]).
var duck_bus: StringName = &""
## How far [member duck_bus] is lowered, in dB ([code]charvoice/mixing/duck_db[/code]).
var duck_db: float = -8.0
## Push one warning per missing line id ([code]charvoice/general/warn_on_missing_lines[/code]).
var warn_on_missing_lines: bool = true
## Most lines playing at once on CharVoice's own players; starting one more cuts the oldest
## ([code]charvoice/general/max_voices[/code]).
var max_voices: int = 8
## Games run from the editor: poll the manifest and read changed lines from their files
## ([code]charvoice/hot_reload/enabled[/code]; always off in exported games, debug or not).
## Set it before the node enters the tree.
var hot_reload: bool = false
## The manifest in use. Read it, do not replace it: call [method reload_manifest].
var manifest: Manifest = Manifest.new()
## Lines on CharVoice's own players pause while the scene tree is paused (off: they go on,
## for dialogue shown over a paused game). Players you pass follow their own
## [member Node.process_mode].
var pause_with_tree: bool = true:
	set(value):
		pause_with_tree = value
		for player in _pool:
			player.process_mode = _pool_process_mode()

var _pool: Array[AudioStreamPlayer] = []
var _voices: Dictionary = {}  # player instance id -> Voice
var _serial: int = 0
var _connected: Dictionary = {}  # player instance id -> true once its signals are connected
var _fades: Dictionary = {}  # player instance id -> [Tween, volume_db to restore]
var _warned: Dictionary = {}  # line id -> true once warned
var _timings: Dictionary = {}  # "line id|locale" -> Timings, or null when it has none
var _duck_base_db: float = 0.0
var _ducked: bool = false
var _reload_generation: int = 0  # grows with every manifest reload: older preloads are stale
var _streams: Dictionary = {}  # line id -> {locale: AudioStream} (preloaded or reloaded)
var _from_files: Dictionary = {}  # line id -> true: changed since start, read from its file
var _preloading: Dictionary = {}  # res path -> [line id, locale]
var _preload_batch: PackedStringArray = PackedStringArray()
var _poll_timer: Timer
var _unusable_revision: int = -1


func _init() -> void:
	default_bus = StringName(str(Settings.get_value(Settings.DEFAULT_BUS)))
	warn_on_missing_lines = bool(Settings.get_value(Settings.WARN_ON_MISSING_LINES))
	max_voices = maxi(1, int(Settings.get_value(Settings.MAX_VOICES)))
	# Copies: an unset setting reads as the read-only {} constant of its definition.
	character_buses = (Settings.get_value(Settings.CHARACTER_BUSES) as Dictionary).duplicate()
	character_volume_db = (Settings.get_value(Settings.CHARACTER_VOLUME_DB) as Dictionary).duplicate()
	# The tracking (fallback timers, word_started, polling) runs while the tree is paused, so a
	# UI that runs during a pause gets its lines' ends; pooled players follow pause_with_tree.
	process_mode = Node.PROCESS_MODE_ALWAYS
	fade_out_s = maxf(0.0, float(Settings.get_value(Settings.FADE_OUT)))
	duck_bus = StringName(str(Settings.get_value(Settings.DUCK_BUS)))
	duck_db = float(Settings.get_value(Settings.DUCK_DB))
	hot_reload = hot_reload_allowed() and bool(Settings.get_value(Settings.HOT_RELOAD))


func _ready() -> void:
	set_process(false)
	reload_manifest()
	if hot_reload:
		_start_polling(float(Settings.get_value(Settings.POLL_INTERVAL)))


func _notification(what: int) -> void:
	if what == NOTIFICATION_TRANSLATION_CHANGED and is_node_ready():
		locale_changed.emit(get_locale())


## True where hot reload may run: a game started from the editor (the
## [code]editor[/code] feature), never an exported game, debug or release.
static func hot_reload_allowed() -> bool:
	return OS.has_feature("editor")


func _process(_delta: float) -> void:
	_announce_words()
	_take_preloads()
	set_process(not _preloading.is_empty() or _has_timed_voice())


func _take_preloads() -> void:
	for path: String in _preloading.keys():
		var status := ResourceLoader.load_threaded_get_status(path)
		if status == ResourceLoader.THREAD_LOAD_LOADED:
			_take_threaded(path)
		elif status != ResourceLoader.THREAD_LOAD_IN_PROGRESS:
			var entry: Array = _preloading[path]
			_preloading.erase(path)
			_warn_missing(entry[0], "could not be preloaded from %s" % path)
	if _preloading.is_empty() and not _preload_batch.is_empty():
		var batch := _preload_batch
		_preload_batch = PackedStringArray()
		lines_preloaded.emit(batch)


## True when the manifest has [param line_id] in any locale.
func has_line(line_id: String) -> bool:
	return manifest.has_line(line_id)


## The locale lines play in: [member locale_override] when set, else the game's locale.
func get_locale() -> String:
	return locale_override if not locale_override.is_empty() else TranslationServer.get_locale()


## The audio of [param line_id] in [param locale] (default: [method get_locale]) after the
## locale fallback, or [code]null[/code] with one warning when the line or its file is missing.
func get_stream(line_id: String, locale: String = "") -> AudioStream:
	var resolved := _resolve(line_id, locale)
	if resolved.is_empty():
		return null
	var cached: Dictionary = _streams.get(line_id, {})
	if cached.has(resolved):
		return cached[resolved]
	var path := manifest.get_audio_path(line_id, resolved)
	var stream := _load_stream(line_id, resolved, path)
	if stream == null:
		_warn_missing(line_id, "has no loadable audio file at %s" % path)
	return stream


## Plays [param line_id] on [param player], or on one of CharVoice's pooled players when
## [param player] is null, and returns the player. [param priority] is one of [enum Priority]:
## a line never cuts a line of higher priority (a bark never cuts story dialogue). Returns
## [code]null[/code] when the line cannot be played; [signal line_finished] then follows on
## the next frame.
func play(
	line_id: String,
	player: AudioStreamPlayer = null,
	locale: String = "",
	priority: int = Priority.DIALOGUE
) -> AudioStreamPlayer:
	return play_on(line_id, player, locale, priority) as AudioStreamPlayer


## Plays [param line_id] on [param player], an [AudioStreamPlayer], [AudioStreamPlayer2D] or
## [AudioStreamPlayer3D] (positional voice), or on a pooled player when null. Returns the
## player, or [code]null[/code] when the line cannot be played ([signal line_finished] then
## follows on the next frame).
func play_on(
	line_id: String, player: Node = null, locale: String = "", priority: int = Priority.DIALOGUE
) -> Node:
	if player != null and not _is_player(player):
		push_warning(
			(
				'CharVoice: play_on("%s") needs an AudioStreamPlayer, 2D or 3D, not %s'
				% [line_id, player]
			)
		)
		_finish_later(line_id)
		return null
	if player != null and not player.is_inside_tree():
		# AudioStreamPlayer.play() outside the tree is an engine error: refuse it quietly.
		push_warning(
			'CharVoice: cannot play "%s" on %s: it is not in the scene tree' % [line_id, player.name]
		)
		_finish_later(line_id)
		return null
	var resolved := _resolve(line_id, locale)
	var stream := get_stream(line_id, locale) if not resolved.is_empty() else null
	if stream == null:
		_finish_later(line_id)
		return null
	var target := player if player != null else _pooled_player(priority)
	if target == null or not _may_cut(target, priority):
		_finish_later(line_id)  # busy with more important lines: this one is dropped
		return null
	_start(line_id, resolved, target, stream, priority)
	return target


## Stops every line that is playing, or only [param line_id] when given, fading out over
## [param fade_s] seconds (default [member fade_out_s]). Emits [signal line_stopped] at once
## for each line it cuts.
func stop(line_id: String = "", fade_s: float = -1.0) -> void:
	for player_id: int in _voices.keys():
		var voice: Voice = _voices[player_id]
		if line_id.is_empty() or voice.line_id == line_id:
			_cut(player_id, fade_s if fade_s >= 0.0 else fade_out_s)


## True while [param line_id] plays, or while any line plays when [param line_id] is "".
func is_playing(line_id: String = "") -> bool:
	for player_id: int in _voices.keys():
		var voice: Voice = _voices[player_id]
		if not is_instance_valid(voice.player):
			_voices.erase(player_id)
		elif line_id.is_empty() or voice.line_id == line_id:
			return true
	return false


## Seconds into [param line_id]'s audio (the latest play of it), or -1.0 when it is not
## playing. Follows the audio clock, or the wall clock where no audio device mixes.
func get_playback_position(line_id: String) -> float:
	for voice: Voice in _voices.values():
		if voice.line_id == line_id and is_instance_valid(voice.player):
			return _position(voice)
	return -1.0


## The locale [param line_id] plays in (its latest play, after the fallback: the audio's
## locale), or "" when it is not playing. Subtitles and timings of the line read this locale.
func get_playing_locale(line_id: String) -> String:
	var latest: Voice = null
	for voice: Voice in _voices.values():
		if voice.line_id == line_id and (latest == null or voice.serial > latest.serial):
			latest = voice
	return latest.locale if latest != null else ""


## The id of the line playing on [param player], or "" when none plays there.
func get_line_on(player: Node) -> String:
	var voice: Voice = _voices.get(player.get_instance_id()) if player != null else null
	return voice.line_id if voice != null else ""


## The word timings and mouth shapes of [param line_id] in [param locale] (default:
## [method get_locale]), or [code]null[/code] when the line has none (older builds, or a
## line the build could not time). Read once, then kept until the manifest changes.
func get_timings(line_id: String, locale: String = "") -> CharVoiceTimings:
	var resolved := manifest.resolve_line_locale(
		line_id, locale if not locale.is_empty() else get_locale()
	)
	if resolved.is_empty():
		return null
	var cache_key := "%s|%s" % [line_id, resolved]
	if _timings.has(cache_key):
		return _timings[cache_key]
	var timings: CharVoiceTimings = null
	var path := manifest.get_timings_path(line_id, resolved)
	if not path.is_empty() and FileAccess.file_exists(path):
		timings = Timings.new()
		if not timings.parse(FileAccess.get_file_as_string(path), path):
			push_warning("CharVoice: %s" % timings.error)
			timings = null
	_timings[cache_key] = timings
	return timings


## The text of [param line_id] in [param locale] (default: [method get_locale]), for subtitles;
## "" with one warning when the line is missing.
func get_text(line_id: String, locale: String = "") -> String:
	var resolved := _resolve(line_id, locale)
	return manifest.get_text(line_id, resolved) if not resolved.is_empty() else ""


## The length in seconds of [param line_id] in [param locale], or 0.0 when it is missing.
func get_duration(line_id: String, locale: String = "") -> float:
	var resolved := _resolve(line_id, locale)
	return manifest.get_duration(line_id, resolved) if not resolved.is_empty() else 0.0


## The display name of the character who speaks [param line_id], or "" when it is missing.
func get_character_name(line_id: String) -> String:
	var character := manifest.get_character(line_id)
	return manifest.get_character_name(character) if not character.is_empty() else ""


## Starts loading the audio of [param line_ids] on background threads
## ([method ResourceLoader.load_threaded_request]) so their first play does not wait for the
## disk. [signal lines_preloaded] follows when all are loaded. Keeps them in memory until
## [method unload_lines].
func preload_lines(line_ids: PackedStringArray, locale: String = "") -> void:
	for line_id in line_ids:
		var resolved := _resolve(line_id, locale)
		if resolved.is_empty() or _from_files.has(line_id):
			continue  # missing, or hot-reloaded: read from its file on play
		if (_streams.get(line_id, {}) as Dictionary).has(resolved):
			continue
		var path := manifest.get_audio_path(line_id, resolved)
		if _preloading.has(path):
			continue
		if not ResourceLoader.exists(path):
			var unimported := _load_from_file(path)  # read now: there is no threaded load of it
			if unimported != null:
				_cache(line_id, resolved, unimported)
			else:
				_warn_missing(line_id, "has no audio at %s" % path)
			continue
		if ResourceLoader.load_threaded_request(path, "AudioStream") == OK:
			_preloading[path] = [line_id, resolved, _reload_generation]
	_preload_batch.append_array(line_ids)
	# A timed line playing meanwhile keeps its word_started going.
	set_process(not _preloading.is_empty() or _has_timed_voice())
	if _preloading.is_empty():
		var batch := _preload_batch
		_preload_batch = PackedStringArray()
		call_deferred(&"emit_signal", &"lines_preloaded", batch)


## Forgets the preloaded audio of [param line_ids] (all lines when empty) so it can be freed.
func unload_lines(line_ids: PackedStringArray = PackedStringArray()) -> void:
	if line_ids.is_empty():
		_streams.clear()
		return
	for line_id in line_ids:
		_streams.erase(line_id)


## Reads the manifest again. Lines whose audio changed are, in debug builds, read from their
## files on their next play. Returns false, with one warning, when the manifest is unusable
## (the previous one stays in use).
func reload_manifest() -> bool:
	var fresh: Manifest = Manifest.new()
	var path := manifest_path if not manifest_path.is_empty() else Settings.manifest_path()
	var first_load := manifest.revision < 0 and manifest.error.is_empty()
	if not fresh.load_file(path):
		push_warning("CharVoice: %s" % fresh.error)
		if manifest.revision < 0:
			manifest = fresh  # no manifest yet: keep the reason for the per-line warnings
		return false
	var changed_ids := PackedStringArray() if first_load else fresh.changed_since(manifest)
	manifest = fresh
	_reload_generation += 1  # a preload still in flight holds the old audio: never cache it
	for line_id in changed_ids:
		_streams.erase(line_id)
		_warned.erase(line_id)
		for locale in fresh.get_locales(line_id):
			_timings.erase("%s|%s" % [line_id, locale])
		if hot_reload:
			_from_files[line_id] = true
	if not first_load:
		manifest_reloaded.emit(fresh.revision, changed_ids)
	return true


func _start_polling(interval: float) -> void:
	_poll_timer = Timer.new()
	_poll_timer.name = "ManifestPoll"
	_poll_timer.wait_time = maxf(0.1, interval)
	_poll_timer.process_mode = Node.PROCESS_MODE_ALWAYS
	_poll_timer.timeout.connect(_poll_manifest)
	add_child(_poll_timer)
	_poll_timer.start()


func _poll_manifest() -> void:
	var path := manifest_path if not manifest_path.is_empty() else Settings.manifest_path()
	var revision := Manifest.read_revision(path)
	if revision < 0 or revision == manifest.revision or revision == _unusable_revision:
		return
	_unusable_revision = -1 if reload_manifest() else revision  # warn once per broken publish


func _resolve(line_id: String, locale: String) -> String:
	if not manifest.has_line(line_id):
		if manifest.is_silent(line_id):
			return ""  # silent on purpose: nothing plays, line_finished follows, no warning
		if manifest.error.is_empty():
			_warn_missing(
				line_id, "is not in %s (is it voiced? run `charvoice build`)" % manifest.path
			)
		else:
			_warn_missing(line_id, "cannot play: %s" % manifest.error)
		return ""
	var requested := locale if not locale.is_empty() else get_locale()
	var resolved := manifest.resolve_line_locale(line_id, requested)
	if resolved.is_empty():
		_warn_missing(
			line_id,
			(
				"has no audio for locale %s, its parent locales or the default %s (it has: %s)"
				% [requested, manifest.default_locale, ", ".join(manifest.get_locales(line_id))]
			)
		)
	return resolved


func _load_stream(line_id: String, locale: String, path: String) -> AudioStream:
	var stream: AudioStream = null
	if _from_files.has(line_id):
		stream = _load_from_file(path)
	if stream == null and _preloading.has(path):
		stream = _take_threaded(path)
		if stream != null:
			return stream
	if stream == null and ResourceLoader.exists(path):
		stream = ResourceLoader.load(path, "AudioStream") as AudioStream
	if stream == null:
		# Not imported: a file charvoice just wrote that the editor has not imported yet, a
		# voice pack the game downloaded into user://, a project run without an import.
		stream = _load_from_file(path)
	if stream != null and _from_files.has(line_id):
		_cache(line_id, locale, stream)
	return stream


## The audio at [param path] decoded from the file itself, bypassing the import (which may not
## have caught up yet, or does not exist for files outside the project), or null.
func _load_from_file(path: String) -> AudioStream:
	if not FileAccess.file_exists(path):
		return null
	match path.get_extension().to_lower():
		"ogg":
			return AudioStreamOggVorbis.load_from_file(path)  # Godot 4.2+
		"mp3":
			var mp3 := AudioStreamMP3.new()
			mp3.data = FileAccess.get_file_as_bytes(path)
			return mp3 if not mp3.data.is_empty() else null
		"wav":
			return _load_wav(path)
	return null


func _load_wav(path: String) -> AudioStream:
	var version := Engine.get_version_info()
	var major := int(version["major"])
	var minor := int(version["minor"])
	if major > 4 or (major == 4 and minor >= 4):
		# AudioStreamWAV.load_from_file appeared in Godot 4.4: called by name so that the
		# script still compiles on 4.2 and 4.3.
		var wav := AudioStreamWAV.new()
		if wav.has_method(&"load_from_file"):
			return wav.call(&"load_from_file", path) as AudioStream
	# Godot 4.2/4.3: take the editor's fresh import of the file, not the cached copy.
	if ResourceLoader.exists(path):
		return (
			ResourceLoader.load(path, "AudioStream", ResourceLoader.CACHE_MODE_REPLACE)
			as AudioStream
		)
	return null


func _take_threaded(path: String) -> AudioStream:
	var entry: Array = _preloading[path]
	_preloading.erase(path)
	var stream := ResourceLoader.load_threaded_get(path) as AudioStream
	if int(entry[2]) != _reload_generation and _from_files.has(entry[0]):
		return null  # requested before a reload replaced this line: the old audio
	if stream != null:
		_cache(entry[0], entry[1], stream)
	return stream


func _cache(line_id: String, locale: String, stream: AudioStream) -> void:
	if not _streams.has(line_id):
		_streams[line_id] = {}
	(_streams[line_id] as Dictionary)[locale] = stream


func _start(
	line_id: String, locale: String, player: Node, stream: AudioStream, priority: int
) -> void:
	var player_id := player.get_instance_id()
	if _voices.has(player_id):
		_cut(player_id, 0.0)
	if _fades.has(player_id):  # still fading out a cut line: end that fade first
		var fade: Array = _fades[player_id]
		(fade[0] as Tween).kill()
		player.set(&"volume_db", fade[1])
		_fades.erase(player_id)
	if not _connected.has(player_id):  # bound callables: is_connected() cannot tell
		player.connect(&"finished", _on_player_finished.bind(player_id))
		player.connect(&"tree_exiting", _on_player_exiting.bind(player_id))
		_connected[player_id] = true
	var voice := Voice.new()
	voice.player = player
	voice.line_id = line_id
	voice.locale = locale
	voice.priority = priority
	_serial += 1
	voice.serial = _serial
	voice.base_volume_db = float(player.get(&"volume_db"))
	var character := manifest.get_character(line_id)
	# A typed array's has() refuses a value of another type (an AudioStreamPlayer2D/3D).
	if player is AudioStreamPlayer and _pool.has(player):
		player.set(&"bus", _bus_for(character))
		voice.base_volume_db = 0.0
	player.set(&"volume_db", voice.base_volume_db + float(character_volume_db.get(character, 0.0)))
	voice.duration_s = manifest.get_duration(line_id, locale)
	if voice.duration_s <= 0.0:
		voice.duration_s = stream.get_length()
	voice.timings = get_timings(line_id, locale)
	voice.started_msec = Time.get_ticks_msec()
	player.set(&"stream", stream)
	player.call(&"play")
	_voices[player_id] = voice
	_arm_fallback(player_id, voice.serial, voice.duration_s + FALLBACK_MARGIN_S)
	_update_ducking()
	line_started.emit(line_id)
	if voice.timings != null:
		set_process(true)


## Cuts the line on [param player_id]: forgets it, emits [signal line_stopped], fades the
## player out over [param fade_s] seconds and stops it.
func _cut(player_id: int, fade_s: float) -> void:
	var voice: Voice = _voices.get(player_id)
	if voice == null:
		return
	_voices.erase(player_id)
	_update_ducking()
	line_stopped.emit(voice.line_id)
	var player := voice.player
	if not is_instance_valid(player) or not player.is_inside_tree():
		return
	if fade_s <= 0.0:
		player.call(&"stop")
		player.set(&"volume_db", voice.base_volume_db)
		return
	var fade := player.create_tween()
	fade.tween_property(player, ^"volume_db", SILENT_DB, fade_s)
	fade.tween_callback(_end_fade.bind(player_id))
	_fades[player_id] = [fade, voice.base_volume_db]


func _end_fade(player_id: int) -> void:
	var fade: Array = _fades.get(player_id, [])
	_fades.erase(player_id)
	var player := instance_from_id(player_id) as Node
	if fade.is_empty() or not is_instance_valid(player):
		return
	player.call(&"stop")
	player.set(&"volume_db", fade[1])


func _finish(player_id: int) -> void:
	var voice: Voice = _voices.get(player_id)
	if voice == null:
		return
	_announce_words(voice, true)
	_voices.erase(player_id)
	if is_instance_valid(voice.player):
		voice.player.set(&"volume_db", voice.base_volume_db)
	_update_ducking()
	line_finished.emit(voice.line_id)


func _arm_fallback(player_id: int, serial: int, seconds: float) -> void:
	if seconds <= 0.0 or not is_inside_tree():
		return
	# Runs during a pause (_on_fallback re-arms while the player is paused). Engine.time_scale
	# may end it early: _on_fallback then waits for the rest while the audio still moves.
	var timer := get_tree().create_timer(seconds, true)
	timer.timeout.connect(_on_fallback.bind(player_id, serial))


func _on_fallback(player_id: int, serial: int) -> void:
	var voice: Voice = _voices.get(player_id)
	if voice == null or voice.serial != serial:
		return  # finished, stopped or replaced meanwhile
	if is_instance_valid(voice.player) and not voice.player.can_process():
		_arm_fallback(player_id, serial, FALLBACK_MARGIN_S)  # paused with the tree: not over
		voice.started_msec += int(FALLBACK_MARGIN_S * 1000.0)  # the wall clock stops too
		return
	if is_instance_valid(voice.player) and bool(voice.player.get(&"playing")):
		var position := float(voice.player.call(&"get_playback_position"))
		var left := voice.duration_s - position
		# Only a position that moved means a mixer runs late; one that stays at 0 means nothing
		# mixes (no audio device), and the line is over now, not after a second wait.
		if left > 0.05 and position > 0.0 and position > voice.checked_position + 0.01:
			voice.checked_position = position  # the mixer runs, only late (a paused stream)
			_arm_fallback(player_id, serial, left + FALLBACK_MARGIN_S)
			return
	_finish(player_id)  # no `finished` came and nothing plays on: never let dialogue wait


func _position(voice: Voice) -> float:
	var player := voice.player
	if bool(player.get(&"playing")):
		var mixed := float(player.call(&"get_playback_position"))
		if mixed > 0.0:
			return mixed + AudioServer.get_time_since_last_mix()
	# No mixing (no audio device, or not started yet): the wall clock since the start.
	return minf((Time.get_ticks_msec() - voice.started_msec) / 1000.0, voice.duration_s)


func _has_timed_voice() -> bool:
	for voice: Voice in _voices.values():
		if voice.timings != null:
			return true
	return false


func _announce_words(only: Voice = null, to_end: bool = false) -> void:
	for voice: Voice in _voices.values() if only == null else [only]:
		if voice.timings == null or not is_instance_valid(voice.player):
			continue
		var timings: CharVoiceTimings = voice.timings
		var now := INF if to_end else _position(voice)
		while voice.next_word < timings.words.size():
			var word: Array = timings.words[voice.next_word]
			if float(word[0]) > now:
				break
			word_started.emit(voice.line_id, voice.next_word, str(word[4]))
			voice.next_word += 1


func _may_cut(player: Node, priority: int) -> bool:
	var voice: Voice = _voices.get(player.get_instance_id())
	return voice == null or voice.priority <= priority


func _pooled_player(priority: int) -> AudioStreamPlayer:
	for player in _pool:
		if not player.playing and not _voices.has(player.get_instance_id()):
			return player
	if _pool.size() < max_voices:
		var player := AudioStreamPlayer.new()
		player.name = "Voice%d" % (_pool.size() + 1)
		player.bus = _bus()
		player.process_mode = _pool_process_mode()
		add_child(player)
		_pool.append(player)
		return player
	# All busy: cut the oldest of the least important lines, if it does not outrank this one.
	var victim: AudioStreamPlayer = null
	var victim_voice: Voice = null
	for player in _pool:
		var voice: Voice = _voices.get(player.get_instance_id())
		if voice == null:
			return player  # fading out: take it
		if (
			victim_voice == null
			or voice.priority < victim_voice.priority
			or (voice.priority == victim_voice.priority and voice.serial < victim_voice.serial)
		):
			victim = player
			victim_voice = voice
	if victim_voice == null:
		return null  # max_voices is 0: no pooled player at all
	return victim if victim_voice.priority <= priority else null


func _pool_process_mode() -> int:
	return Node.PROCESS_MODE_PAUSABLE if pause_with_tree else Node.PROCESS_MODE_ALWAYS


func _update_ducking() -> void:
	if duck_bus.is_empty():
		return
	var index := AudioServer.get_bus_index(duck_bus)
	if index < 0:
		return
	var want := not _voices.is_empty()
	if want == _ducked:
		return
	_ducked = want
	if want:
		_duck_base_db = AudioServer.get_bus_volume_db(index)
	AudioServer.set_bus_volume_db(index, _duck_base_db + (duck_db if want else 0.0))


func _bus_for(character: String) -> StringName:
	var wanted := StringName(str(character_buses.get(character, default_bus)))
	return wanted if AudioServer.get_bus_index(wanted) >= 0 else _bus()


func _bus() -> StringName:
	if AudioServer.get_bus_index(default_bus) >= 0:
		return default_bus
	if not _warned.has("bus:%s" % default_bus):
		_warned["bus:%s" % default_bus] = true
		push_warning('CharVoice: there is no audio bus "%s"; voices use Master' % default_bus)
	return &"Master"


func _on_player_finished(player_id: int) -> void:
	_finish(player_id)


func _on_player_exiting(player_id: int) -> void:
	# Leaving the tree stops the sound without `finished`: the line was cut.
	_cut(player_id, 0.0)


func _finish_later(line_id: String) -> void:
	call_deferred(&"emit_signal", &"line_finished", line_id)


func _warn_missing(line_id: String, why: String) -> void:
	if not warn_on_missing_lines or _warned.has(line_id):
		return
	_warned[line_id] = true
	push_warning('CharVoice: line "%s" %s' % [line_id, why])


static func _is_player(node: Node) -> bool:
	return node is AudioStreamPlayer or node is AudioStreamPlayer2D or node is AudioStreamPlayer3D
