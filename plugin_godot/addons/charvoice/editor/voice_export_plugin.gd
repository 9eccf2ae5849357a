@tool
extends EditorExportPlugin
## Ships the voice with every export, once: what the game reads (the manifest's runtime form,
## or the manifest from older builds), each line's timings and the imported audio of the chosen
## locales, whatever the preset's resource filter; other locales' files are left out.
##
## The runtime reads the voice with [FileAccess] and loads each line by path, so no scene
## depends on them and the "selected scenes/resources" export modes would otherwise drop them.
## Audio ships in its imported form: the [code].import[/code] file and the file it remaps to
## in the project's .godot/imported folder, as the exporter itself ships imported resources.
## A file the preset exports as well is skipped there ([method _export_file]), so nothing ships
## twice. Which locales ship and what the game is told: [code]voice_export_plan.gd[/code].

const Manifest := preload("../runtime/charvoice_manifest.gd")
const Settings := preload("../runtime/charvoice_settings.gd")
const Plan := preload("voice_export_plan.gd")

var _excluded: Dictionary = {}  # res path -> true: left out (other locales, the tools' manifest)
var _added: Dictionary = {}  # res path -> true: added by this plugin (the preset's copy is skipped)


func _get_name() -> String:
	return "CharVoice"


func _export_begin(
	_features: PackedStringArray, _is_debug: bool, _path: String, _flags: int
) -> void:
	_excluded.clear()
	_added.clear()
	if not bool(Settings.get_value(Settings.EXPORT_VOICE)):
		return
	var manifest := Manifest.new()
	if not manifest.load_file(Settings.manifest_path()):
		push_warning("CharVoice export: %s; the game will have no voice" % manifest.error)
		return
	var plan := Plan.new()
	plan.make(manifest, Settings.get_value(Settings.EXPORT_LOCALES) as PackedStringArray)
	_excluded = plan.left_out
	for path: String in plan.rewritten:
		_added[path] = true
		add_file(path, plan.rewritten[path], false)
	for path in plan.raw_files:
		_add_raw(path)
	for path in plan.imported_files:
		_add_imported(path)


func _export_file(path: String, _type: String, _features: PackedStringArray) -> void:
	if _excluded.has(path) or _added.has(path):
		skip()  # another locale's, or shipped by _export_begin already


func _add_raw(path: String) -> void:
	if path.is_empty() or _added.has(path) or not FileAccess.file_exists(path):
		return
	_added[path] = true
	add_file(path, FileAccess.get_file_as_bytes(path), false)


func _add_imported(path: String) -> void:
	var import_file := path + ".import"
	if path.is_empty() or _added.has(path):
		return
	var config := ConfigFile.new()
	if config.load(import_file) != OK:
		push_warning("CharVoice export: %s is not imported yet; open the project once" % path)
		return
	_added[path] = true  # the resource itself: the preset's own export of it is skipped
	_add_raw(import_file)
	_add_raw(str(config.get_value("remap", "path", "")))
