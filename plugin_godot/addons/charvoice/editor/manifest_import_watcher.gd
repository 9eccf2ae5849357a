@tool
extends Node
## Editor half of hot reload: watches the manifest's revision and has the editor import the
## voice files that [code]charvoice build[/code] added or changed, right away.
##
## The editor rescans the project only when its window gets the focus, so a writer running
## [code]charvoice watch[/code] beside a running game would otherwise wait. A [Timer] polls
## the revision (cheap: the first lines of the file) and, when it moves, this asks
## [method EditorInterface.get_resource_filesystem] to [method EditorFileSystem.update_file]
## and [method EditorFileSystem.reimport_files] the changed files, or to
## [method EditorFileSystem.scan] when files were added or removed. Timers run while the
## editor window is in the background, so no focus is needed.
##
## It never asks for an import while the editor is scanning or importing (the class reference
## forbids calling [method EditorFileSystem.reimport_files] or [method EditorFileSystem.scan]
## then): it waits for [method EditorFileSystem.is_scanning] to clear and, between the
## [code]resources_reimporting[/code] signal (Godot 4.4+, connected when present) and
## [signal EditorFileSystem.resources_reimported], holds its requests for the next tick.

const Manifest := preload("../runtime/charvoice_manifest.gd")
const Settings := preload("../runtime/charvoice_settings.gd")

var _timer: Timer
var _manifest: Manifest = Manifest.new()
var _pending: PackedStringArray = PackedStringArray()
var _needs_scan: bool = false
var _unusable_revision: int = -1
var _importing: bool = false
var _in_call: bool = false  # inside our own reimport_files(): the editor may tick timers there


func _ready() -> void:
	_manifest.load_file(Settings.manifest_path())  # the baseline: the editor imported it already
	var filesystem := EditorInterface.get_resource_filesystem()
	filesystem.resources_reimported.connect(_on_reimported)
	if filesystem.has_signal(&"resources_reimporting"):  # Godot 4.4+
		filesystem.connect(&"resources_reimporting", _on_reimporting)
	_timer = Timer.new()
	_timer.name = "ManifestPoll"
	_timer.wait_time = _interval()
	_timer.timeout.connect(_poll)
	add_child(_timer)
	_timer.start()


func _poll() -> void:
	_timer.wait_time = _interval()
	if not bool(Settings.get_value(Settings.REIMPORT_IN_EDITOR)):
		return
	var path := Settings.manifest_path()
	var revision := Manifest.read_revision(path)
	var moved := revision != _manifest.revision or path != _manifest.path
	if revision >= 0 and moved and revision != _unusable_revision:
		var fresh: Manifest = Manifest.new()
		if fresh.load_file(path):
			_collect(fresh)
			_manifest = fresh
			_unusable_revision = -1
		else:
			_unusable_revision = revision  # a broken file: look again at the next publish
	_flush()


func _collect(fresh: Manifest) -> void:
	var previous: Manifest = _manifest if _manifest.revision >= 0 else null
	for line_id in fresh.changed_since(previous):
		if not fresh.has_line(line_id):
			_needs_scan = true  # its files were deleted: only a scan drops them
			continue
		for locale in fresh.get_locales(line_id):
			var file := fresh.get_audio_path(line_id, locale)
			if not file.is_empty() and not _pending.has(file):
				_pending.append(file)


func _flush() -> void:
	if _pending.is_empty() and not _needs_scan:
		return
	var filesystem := EditorInterface.get_resource_filesystem()
	if filesystem.is_scanning() or _importing or _in_call:
		return  # the editor is importing: try again on the next tick
	var known := PackedStringArray()
	for file in _pending:
		if not FileAccess.file_exists(file):
			_needs_scan = true
		elif filesystem.get_file_type(file).is_empty():
			_needs_scan = true  # a new file: update_file cannot add it to an unknown folder
		else:
			known.append(file)
	_pending.clear()
	if _needs_scan:
		_needs_scan = false
		filesystem.scan()  # also reimports the changed files it finds
		return
	for file in known:
		filesystem.update_file(file)
	if not known.is_empty():
		# Godot 4.3 has no resources_reimporting signal: without this guard a publish landing
		# while the import's progress dialog runs the timer would call reimport_files() again.
		_in_call = true
		filesystem.reimport_files(known)
		_in_call = false


func _on_reimporting(_resources: PackedStringArray) -> void:
	_importing = true


func _on_reimported(_resources: PackedStringArray) -> void:
	_importing = false


func _interval() -> float:
	return maxf(0.1, float(Settings.get_value(Settings.POLL_INTERVAL)))
