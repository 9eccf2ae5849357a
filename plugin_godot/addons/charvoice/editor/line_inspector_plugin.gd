@tool
extends EditorInspectorPlugin
## Adds a "Preview line" button to the inspector of [VoiceLinePlayer], [VoiceLinePlayer2D] and
## [VoiceLinePlayer3D]: it plays the selected [code]line_id[/code] in the editor, in the
## manifest's default locale. The [code]line_id[/code] field itself suggests the manifest's
## ids (see the nodes' [method Object._validate_property]).

const Manifest := preload("../runtime/charvoice_manifest.gd")
const Common := preload("../runtime/voice_line_player_common.gd")

## The editor-side player the preview plays on (owned by the plugin).
var preview_player: AudioStreamPlayer


func _can_handle(object: Object) -> bool:
	return object is VoiceLinePlayer or object is VoiceLinePlayer2D or object is VoiceLinePlayer3D


func _parse_begin(object: Object) -> void:
	var button := Button.new()
	button.text = "Preview line"
	button.tooltip_text = "Play this node's line_id in the manifest's default locale"
	button.pressed.connect(_preview.bind(object))
	add_custom_control(button)


func _preview(object: Object) -> void:
	if preview_player == null or not is_instance_valid(object):
		return
	if preview_player.playing:
		preview_player.stop()
		return
	var line_id := str(object.get(&"line_id"))
	var manifest := Common.current_manifest()
	if not manifest.error.is_empty():
		push_warning("CharVoice: %s" % manifest.error)
		return
	var locale := manifest.resolve_line_locale(line_id, str(object.get(&"locale")))
	var path := manifest.get_audio_path(line_id, locale) if not locale.is_empty() else ""
	if path.is_empty() or not ResourceLoader.exists(path):
		push_warning('CharVoice: line "%s" has no imported audio to preview' % line_id)
		return
	preview_player.stream = ResourceLoader.load(path, "AudioStream") as AudioStream
	preview_player.play()
