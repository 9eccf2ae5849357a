@tool
extends RefCounted
## Shared by [VoiceLinePlayer], [VoiceLinePlayer2D] and [VoiceLinePlayer3D]: finds the
## [code]CharVoice[/code] autoload and plays a line on the given player, suggests line ids from
## the manifest in the inspector, and gives the configuration warnings of the Scene dock.

## Node path of the autoload the CharVoice plugin registers.
const AUTOLOAD_PATH := ^"/root/CharVoice"
const Runtime := preload("charvoice.gd")
const Manifest := preload("charvoice_manifest.gd")
const Settings := preload("charvoice_settings.gd")

# The editor asks for suggestions and warnings on every inspector and Scene dock refresh: the
# manifest is read again only when its revision or path moved.
static var _cached: Manifest
static var _cached_ids: PackedStringArray = PackedStringArray()


## Plays [param line_id] in [param locale] on [param player] through the CharVoice autoload.
## Returns false, with a warning, when the line cannot be played, the player is outside the
## scene tree or the autoload is missing.
static func play(player: Node, line_id: String, locale: String, priority: int) -> bool:
	if not player.is_inside_tree():
		# get_node() with an absolute path and play() are engine errors outside the tree.
		push_warning("%s: add it to the scene tree before play_line()" % player.name)
		return false
	if line_id.is_empty():
		push_warning("%s: set line_id before play_line()" % player.get_path())
		return false
	var voice := player.get_node_or_null(AUTOLOAD_PATH) as Runtime
	if voice == null:
		push_warning(
			(
				"%s: no CharVoice autoload; enable the CharVoice plugin in Project Settings > Plugins"
				% player.get_path()
			)
		)
		return false
	return voice.play_on(line_id, player, locale, priority) != null


## Replays the line playing on [param player] (the id passed to [code]play_line()[/code], not
## necessarily its [code]line_id[/code]) in the new locale when the game's locale changed while
## it played ([constant Node.NOTIFICATION_TRANSLATION_CHANGED]).
static func follow_locale(player: Node, locale: String, priority: int) -> void:
	if Engine.is_editor_hint() or not player.is_inside_tree() or not locale.is_empty():
		return
	var voice := player.get_node_or_null(AUTOLOAD_PATH) as Runtime
	var playing := voice.get_line_on(player) if voice != null else ""
	if not playing.is_empty() and bool(player.get(&"playing")):
		voice.play_on(playing, player, "", priority)


## Turns the inspector's [code]line_id[/code] field into a text field with the manifest's line
## ids as suggestions (call from [method Object._validate_property]).
static func suggest_line_ids(property: Dictionary) -> void:
	if property.get("name") != "line_id":
		return
	var manifest := current_manifest()
	if manifest.error.is_empty():
		if _cached_ids.is_empty():
			_cached_ids = manifest.get_line_ids()
			_cached_ids.sort()
		property["hint"] = PROPERTY_HINT_ENUM_SUGGESTION
		property["hint_string"] = ",".join(_cached_ids)


## The project's manifest, read again only when its path or revision changed since last time.
static func current_manifest() -> Manifest:
	var path := Settings.manifest_path()
	var revision := Manifest.read_revision(path)
	if _cached == null or _cached.path != path or _cached.revision != revision or revision < 0:
		_cached = Manifest.new()
		_cached.load_file(path)
		_cached_ids = PackedStringArray()
	return _cached


## The Scene dock's warnings for a player set to [param line_id]: none set, no manifest, or an
## id the manifest does not have.
static func warnings(line_id: String) -> PackedStringArray:
	var result := PackedStringArray()
	if line_id.is_empty():
		result.append("Set line_id to the id of a voiced line (the inspector suggests them).")
		return result
	var manifest := current_manifest()
	if not manifest.error.is_empty():
		result.append("CharVoice cannot check line_id: %s" % manifest.error)
	elif not manifest.has_line(line_id):
		result.append(
			'Line "%s" is not in %s: check the id, or run `charvoice build`.'
			% [line_id, manifest.path]
		)
	return result
