@tool
extends EditorExportPlugin
## Ships the voice with every export: the manifest, each line's timings and the imported audio
## of the chosen locales, whatever the preset's resource filter; voice files of other locales
## are left out.
##
## The runtime reads the manifest with [FileAccess] and loads each line by path, so no scene
## depends on them and the "selected scenes/resources" export modes would otherwise drop them.
## Audio ships in its imported form: the [code].import[/code] file and the file it remaps to
## in the project's .godot/imported folder, as the exporter itself ships imported resources.
## Locales come from [code]charvoice/export/locales[/code] (empty: all).

const Manifest := preload("../runtime/charvoice_manifest.gd")
const Settings := preload("../runtime/charvoice_settings.gd")

var _excluded: Dictionary = {}  # res path -> true: voice of a locale not chosen
var _added: Dictionary = {}  # res path -> true: already added by this export


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
	var chosen := Settings.get_value(Settings.EXPORT_LOCALES) as PackedStringArray
	_add_raw(manifest.path)
	for line_id in manifest.get_line_ids():
		for locale in manifest.get_locales(line_id):
			var audio := manifest.get_audio_path(line_id, locale)
			var timings := manifest.get_timings_path(line_id, locale)
			if not Manifest.export_includes(locale, chosen):
				_excluded[audio] = true
				_excluded[timings] = true
				continue
			_add_imported(audio)
			if not timings.is_empty():
				_add_raw(timings)


func _export_file(path: String, _type: String, _features: PackedStringArray) -> void:
	if _excluded.has(path):
		skip()


func _add_raw(path: String) -> void:
	if path.is_empty() or _added.has(path) or not FileAccess.file_exists(path):
		return
	_added[path] = true
	add_file(path, FileAccess.get_file_as_bytes(path), false)


func _add_imported(path: String) -> void:
	var import_file := path + ".import"
	if path.is_empty() or _added.has(import_file):
		return
	var config := ConfigFile.new()
	if config.load(import_file) != OK:
		push_warning("CharVoice export: %s is not imported yet; open the project once" % path)
		return
	var imported := str(config.get_value("remap", "path", ""))
	_add_raw(import_file)
	_add_raw(imported)
