@tool
extends EditorPlugin
## The CharVoice editor plugin.
##
## Enabling it registers the [code]CharVoice[/code] autoload (the runtime that plays lines)
## and disabling it removes the autoload again. While enabled it shows the
## [code]charvoice/...[/code] project settings and imports new voice files as soon as
## [code]charvoice build[/code] publishes them, even when the editor window is in the
## background.

## Name of the autoload, and so of the global that games call: [code]CharVoice.play(id)[/code].
const AUTOLOAD_NAME := "CharVoice"
const Settings := preload("runtime/charvoice_settings.gd")
const ImportWatcher := preload("editor/manifest_import_watcher.gd")
const VoiceExport := preload("editor/voice_export_plugin.gd")
const LineInspector := preload("editor/line_inspector_plugin.gd")

var _watcher: ImportWatcher
var _export: VoiceExport
var _inspector: LineInspector
var _preview: AudioStreamPlayer


func _enter_tree() -> void:
	Settings.register()
	_watcher = ImportWatcher.new()
	_watcher.name = "CharVoiceImportWatcher"
	add_child(_watcher)
	_export = VoiceExport.new()
	add_export_plugin(_export)
	_preview = AudioStreamPlayer.new()
	_preview.name = "CharVoicePreview"
	add_child(_preview)
	_inspector = LineInspector.new()
	_inspector.preview_player = _preview
	add_inspector_plugin(_inspector)


func _exit_tree() -> void:
	remove_inspector_plugin(_inspector)
	remove_export_plugin(_export)
	if is_instance_valid(_watcher):
		_watcher.queue_free()
	if is_instance_valid(_preview):
		_preview.queue_free()
	_watcher = null
	_preview = null


func _enable_plugin() -> void:
	add_autoload_singleton(AUTOLOAD_NAME, _runtime_script())


func _disable_plugin() -> void:
	remove_autoload_singleton(AUTOLOAD_NAME)


## The autoload script, found next to this one wherever the addon folder is.
func _runtime_script() -> String:
	var here := (get_script() as Script).resource_path.get_base_dir()
	return here.path_join("runtime/charvoice.gd")
