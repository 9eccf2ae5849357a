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
## In debug builds the manifest is polled; lines that [code]charvoice build[/code] changed are
## then read straight from their new files, so the next play of an edited line is the new
## audio, without restarting. Release builds only use imported resources.

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

const Manifest := preload("charvoice_manifest.gd")
const Settings := preload("charvoice_settings.gd")

## The manifest to read; "" uses the [code]charvoice/general/manifest_path[/code] setting.
## Set it before the node enters the tree, or call [method reload_manifest] after.
var manifest_path: String = ""
## When not empty, the locale to play instead of [method TranslationServer.get_locale].
var locale_override: String = ""
## Bus of the players CharVoice creates ([code]charvoice/general/default_bus[/code]).
var default_bus: StringName = &"Master"
## Push one warning per missing line id ([code]charvoice/general/warn_on_missing_lines[/code]).
var warn_on_missing_lines: bool = true
## Most lines playing at once on CharVoice's own players; starting one more cuts the oldest
## ([code]charvoice/general/max_voices[/code]).
var max_voices: int = 8
## Debug builds: poll the manifest and read changed lines from their files
## ([code]charvoice/hot_reload/enabled[/code]; always off in release builds). Set it before the
## node enters the tree.
var hot_reload: bool = false
## The manifest in use. Read it, do not replace it: call [method reload_manifest].
var manifest: Manifest = Manifest.new()

var _pool: Array[AudioStreamPlayer] = []
var _playing: Dictionary = {}  # player instance id -> line id
var _started_at: Dictionary = {}  # player instance id -> start order, to cut the oldest
var _start_counter: int = 0
var _connected: Dictionary = {}  # player instance id -> true once `finished` is connected
var _warned: Dictionary = {}  # line id -> true once warned
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
	hot_reload = OS.is_debug_build() and bool(Settings.get_value(Settings.HOT_RELOAD))


func _ready() -> void:
	set_process(false)
	reload_manifest()
	if hot_reload:
		_start_polling(float(Settings.get_value(Settings.POLL_INTERVAL)))


func _process(_delta: float) -> void:
	for path: String in _preloading.keys():
		var status := ResourceLoader.load_threaded_get_status(path)
		if status == ResourceLoader.THREAD_LOAD_LOADED:
			_take_threaded(path)
		elif status != ResourceLoader.THREAD_LOAD_IN_PROGRESS:
			var entry: Array = _preloading[path]
			_preloading.erase(path)
			_warn_missing(entry[0], "could not be preloaded from %s" % path)
	if _preloading.is_empty():
		set_process(false)
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
## [param player] is null, and returns the player. Returns [code]null[/code] when the line
## cannot be played; [signal line_finished] then follows on the next frame.
func play(
	line_id: String, player: AudioStreamPlayer = null, locale: String = ""
) -> AudioStreamPlayer:
	var stream := get_stream(line_id, locale)
	if stream == null:
		_finish_later(line_id)
		return null
	var target := player if player != null else _pooled_player()
	_start(line_id, target, stream)
	return target


## Plays [param line_id] on [param player], an [AudioStreamPlayer], [AudioStreamPlayer2D] or
## [AudioStreamPlayer3D] (positional voice). Returns [param player], or [code]null[/code] when
## the line cannot be played ([signal line_finished] then follows on the next frame).
func play_on(line_id: String, player: Node, locale: String = "") -> Node:
	if not _is_player(player):
		push_warning(
			(
				'CharVoice: play_on("%s") needs an AudioStreamPlayer, 2D or 3D, not %s'
				% [line_id, player]
			)
		)
		_finish_later(line_id)
		return null
	var stream := get_stream(line_id, locale)
	if stream == null:
		_finish_later(line_id)
		return null
	_start(line_id, player, stream)
	return player


## Stops every line that is playing, or only [param line_id] when given. Emits
## [signal line_stopped] for each line it cuts.
func stop(line_id: String = "") -> void:
	for player_id: int in _playing.keys():
		var playing_id: String = _playing[player_id]
		if not line_id.is_empty() and playing_id != line_id:
			continue
		_playing.erase(player_id)
		var player := instance_from_id(player_id)
		if is_instance_valid(player):
			player.call(&"stop")
		line_stopped.emit(playing_id)


## True while [param line_id] plays, or while any line plays when [param line_id] is "".
func is_playing(line_id: String = "") -> bool:
	for player_id: int in _playing.keys():
		if not is_instance_valid(instance_from_id(player_id)):
			_playing.erase(player_id)
		elif line_id.is_empty() or _playing[player_id] == line_id:
			return true
	return false


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
			_warn_missing(line_id, "has no imported audio at %s" % path)
			continue
		if ResourceLoader.load_threaded_request(path, "AudioStream") == OK:
			_preloading[path] = [line_id, resolved]
	_preload_batch.append_array(line_ids)
	set_process(not _preloading.is_empty())
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
	for line_id in changed_ids:
		_streams.erase(line_id)
		_warned.erase(line_id)
		if OS.is_debug_build():
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
		return _take_threaded(path)
	if stream == null and ResourceLoader.exists(path):
		stream = ResourceLoader.load(path, "AudioStream") as AudioStream
	if stream == null and OS.is_debug_build():
		# A file charvoice just wrote that the editor has not imported yet.
		stream = _load_from_file(path)
	if stream != null and _from_files.has(line_id):
		_cache(line_id, locale, stream)
	return stream


## Debug builds only: the audio at [param path] decoded from the file itself, bypassing the
## import (which may not have caught up yet), or null.
func _load_from_file(path: String) -> AudioStream:
	if not OS.is_debug_build() or not FileAccess.file_exists(path):
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
	if stream != null:
		_cache(entry[0], entry[1], stream)
	return stream


func _cache(line_id: String, locale: String, stream: AudioStream) -> void:
	if not _streams.has(line_id):
		_streams[line_id] = {}
	(_streams[line_id] as Dictionary)[locale] = stream


func _start(line_id: String, player: Node, stream: AudioStream) -> void:
	var player_id := player.get_instance_id()
	if _playing.has(player_id):
		var cut_id: String = _playing[player_id]
		_playing.erase(player_id)
		line_stopped.emit(cut_id)
	if not _connected.has(player_id):
		player.connect(&"finished", _on_player_finished.bind(player_id))
		_connected[player_id] = true
	player.set(&"stream", stream)
	player.call(&"play")
	_playing[player_id] = line_id
	_start_counter += 1
	_started_at[player_id] = _start_counter
	line_started.emit(line_id)


func _pooled_player() -> AudioStreamPlayer:
	for player in _pool:
		if not player.playing and not _playing.has(player.get_instance_id()):
			return player
	if _pool.size() < max_voices:
		var player := AudioStreamPlayer.new()
		player.name = "Voice%d" % (_pool.size() + 1)
		player.bus = _bus()
		add_child(player)
		_pool.append(player)
		return player
	var oldest := _pool[0]
	for player in _pool:
		if (
			_started_at.get(player.get_instance_id(), 0)
			< _started_at.get(oldest.get_instance_id(), 0)
		):
			oldest = player
	return oldest


func _bus() -> StringName:
	if AudioServer.get_bus_index(default_bus) >= 0:
		return default_bus
	if not _warned.has("bus:%s" % default_bus):
		_warned["bus:%s" % default_bus] = true
		push_warning('CharVoice: there is no audio bus "%s"; voices use Master' % default_bus)
	return &"Master"


func _on_player_finished(player_id: int) -> void:
	if not _playing.has(player_id):
		return
	var line_id: String = _playing[player_id]
	_playing.erase(player_id)
	line_finished.emit(line_id)


func _finish_later(line_id: String) -> void:
	call_deferred(&"emit_signal", &"line_finished", line_id)


func _warn_missing(line_id: String, why: String) -> void:
	if not warn_on_missing_lines or _warned.has(line_id):
		return
	_warned[line_id] = true
	push_warning('CharVoice: line "%s" %s' % [line_id, why])


static func _is_player(node: Node) -> bool:
	return node is AudioStreamPlayer or node is AudioStreamPlayer2D or node is AudioStreamPlayer3D
