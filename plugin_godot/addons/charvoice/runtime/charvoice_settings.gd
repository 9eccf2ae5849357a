extends RefCounted
## The CharVoice project settings: names, defaults and how the editor shows them.
##
## The runtime reads them with [method get_value]; the editor plugin adds them to Project
## Settings with [method register] (they appear under [code]CharVoice[/code]). A setting left
## at its default is not written to [code]project.godot[/code] and reads as the default.

## res:// path of the [code]voice_manifest.json[/code] that [code]charvoice build[/code] writes.
const MANIFEST_PATH := "charvoice/general/manifest_path"
## Audio bus of the players CharVoice creates itself (players you pass keep their own bus).
const DEFAULT_BUS := "charvoice/general/default_bus"
## Push one warning per line id that has no audio (the game never stops for it).
const WARN_ON_MISSING_LINES := "charvoice/general/warn_on_missing_lines"
## Most lines playing at once on CharVoice's own players; the oldest is cut beyond that.
const MAX_VOICES := "charvoice/general/max_voices"
## Debug builds: poll the manifest and play changed lines straight from their new files.
const HOT_RELOAD := "charvoice/hot_reload/enabled"
## Seconds between two looks at the manifest's revision (editor and debug game).
const POLL_INTERVAL := "charvoice/hot_reload/poll_interval"
## Editor: import new and changed voice files as soon as the manifest changes.
const REIMPORT_IN_EDITOR := "charvoice/hot_reload/reimport_in_editor"
## Character id -> bus of that character's lines on CharVoice's own players.
const CHARACTER_BUSES := "charvoice/mixing/character_buses"
## Character id -> volume offset in dB of that character's lines.
const CHARACTER_VOLUME_DB := "charvoice/mixing/character_volume_db"
## Seconds a stopped line fades out over (0 cuts at once).
const FADE_OUT := "charvoice/mixing/fade_out"
## Bus lowered while a line plays (the music), or empty for no ducking.
const DUCK_BUS := "charvoice/mixing/duck_bus"
## How far the duck bus is lowered while a line plays, in dB.
const DUCK_DB := "charvoice/mixing/duck_db"
## Export: the locales whose voice files ship (empty ships every locale of the manifest).
const EXPORT_LOCALES := "charvoice/export/locales"
## Export: add the manifest and voice files to every export automatically.
const EXPORT_VOICE := "charvoice/export/include_voice"

## Every setting: name, default value, type, editor hint and whether it shows without
## "Advanced Settings".
const DEFINITIONS := [
	{
		"name": MANIFEST_PATH,
		"default": "res://voice/voice_manifest.json",
		"type": TYPE_STRING,
		"hint": PROPERTY_HINT_FILE,
		"hint_string": "*.json",
		"basic": true,
	},
	{
		"name": DEFAULT_BUS,
		"default": "Master",
		"type": TYPE_STRING,
		"hint": PROPERTY_HINT_NONE,
		"hint_string": "",
		"basic": true,
	},
	{
		"name": WARN_ON_MISSING_LINES,
		"default": true,
		"type": TYPE_BOOL,
		"hint": PROPERTY_HINT_NONE,
		"hint_string": "",
		"basic": true,
	},
	{
		"name": MAX_VOICES,
		"default": 8,
		"type": TYPE_INT,
		"hint": PROPERTY_HINT_RANGE,
		"hint_string": "1,64,1",
		"basic": false,
	},
	{
		"name": HOT_RELOAD,
		"default": true,
		"type": TYPE_BOOL,
		"hint": PROPERTY_HINT_NONE,
		"hint_string": "",
		"basic": true,
	},
	{
		"name": POLL_INTERVAL,
		"default": 0.5,
		"type": TYPE_FLOAT,
		"hint": PROPERTY_HINT_RANGE,
		"hint_string": "0.1,10,0.1,suffix:s",
		"basic": false,
	},
	{
		"name": REIMPORT_IN_EDITOR,
		"default": true,
		"type": TYPE_BOOL,
		"hint": PROPERTY_HINT_NONE,
		"hint_string": "",
		"basic": false,
	},
	{
		"name": CHARACTER_BUSES,
		"default": {},
		"type": TYPE_DICTIONARY,
		"hint": PROPERTY_HINT_NONE,
		"hint_string": "",
		"basic": false,
	},
	{
		"name": CHARACTER_VOLUME_DB,
		"default": {},
		"type": TYPE_DICTIONARY,
		"hint": PROPERTY_HINT_NONE,
		"hint_string": "",
		"basic": false,
	},
	{
		"name": FADE_OUT,
		"default": 0.1,
		"type": TYPE_FLOAT,
		"hint": PROPERTY_HINT_RANGE,
		"hint_string": "0,2,0.01,suffix:s",
		"basic": true,
	},
	{
		"name": DUCK_BUS,
		"default": "",
		"type": TYPE_STRING,
		"hint": PROPERTY_HINT_NONE,
		"hint_string": "",
		"basic": true,
	},
	{
		"name": DUCK_DB,
		"default": -8.0,
		"type": TYPE_FLOAT,
		"hint": PROPERTY_HINT_RANGE,
		"hint_string": "-40,0,0.5,suffix:dB",
		"basic": false,
	},
	{
		"name": EXPORT_VOICE,
		"default": true,
		"type": TYPE_BOOL,
		"hint": PROPERTY_HINT_NONE,
		"hint_string": "",
		"basic": true,
	},
	{
		"name": EXPORT_LOCALES,
		"default": [],  # a PackedStringArray (get_default converts): a constructor is no constant on 4.6
		"type": TYPE_PACKED_STRING_ARRAY,
		"hint": PROPERTY_HINT_NONE,
		"hint_string": "",
		"basic": true,
	},
]


## The current value of [param setting] (one of the constants above), or its default when
## the project does not set it.
static func get_value(setting: String) -> Variant:
	return ProjectSettings.get_setting(setting, get_default(setting))


## The default value of [param setting], or [code]null[/code] for an unknown name.
static func get_default(setting: String) -> Variant:
	for definition: Dictionary in DEFINITIONS:
		if definition["name"] == setting:
			if definition["type"] == TYPE_PACKED_STRING_ARRAY:
				return PackedStringArray(definition["default"])
			return definition["default"]
	return null


## The manifest path setting as a res:// path (a bare relative path is taken from res://).
static func manifest_path() -> String:
	var path := str(get_value(MANIFEST_PATH)).strip_edges()
	if path.is_empty():
		path = str(get_default(MANIFEST_PATH))
	if not path.is_absolute_path():
		path = "res://" + path
	return path


## Adds every setting to Project Settings with its default, type and hint. Editor only;
## values the project already sets are kept.
static func register() -> void:
	for definition: Dictionary in DEFINITIONS:
		var setting: String = definition["name"]
		if not ProjectSettings.has_setting(setting):
			ProjectSettings.set_setting(setting, get_default(setting))
		ProjectSettings.set_initial_value(setting, get_default(setting))
		var info := {
			"name": setting,
			"type": definition["type"],
			"hint": definition["hint"],
			"hint_string": definition["hint_string"],
		}
		ProjectSettings.add_property_info(info)
		ProjectSettings.set_as_basic(setting, definition["basic"])
