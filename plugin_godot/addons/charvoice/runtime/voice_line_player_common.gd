extends RefCounted
## Shared by [VoiceLinePlayer], [VoiceLinePlayer2D] and [VoiceLinePlayer3D]: finds the
## [code]CharVoice[/code] autoload and plays a line on the given player.

## Node path of the autoload the CharVoice plugin registers.
const AUTOLOAD_PATH := ^"/root/CharVoice"


## Plays [param line_id] in [param locale] on [param player] through the CharVoice autoload.
## Returns false, with a warning, when the line cannot be played or the autoload is missing.
static func play(player: Node, line_id: String, locale: String) -> bool:
	if line_id.is_empty():
		push_warning("%s: set line_id before play_line()" % player.get_path())
		return false
	var voice := player.get_node_or_null(AUTOLOAD_PATH)
	if voice == null:
		push_warning(
			(
				"%s: no CharVoice autoload; enable the CharVoice plugin in Project Settings > Plugins"
				% player.get_path()
			)
		)
		return false
	return voice.call(&"play_on", line_id, player, locale) != null
