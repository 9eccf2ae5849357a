extends GutTest
## Locale fallback and a locale change while a line plays, on a manifest in user:// whose
## locales use different audio of the demo (so the audio that plays tells the locale apart).

const Runtime := preload("res://addons/charvoice/runtime/charvoice.gd")
const MANIFEST := "user://charvoice_locales_test/voice_manifest.json"
const EN_AUDIO := "res://voice/en/narrator/lighthouse.intro.ogg"  # 4.87 s
const FR_AUDIO := "res://voice/en/wren/lighthouse.knock.ogg"  # 4.159 s
const EN_SECONDS := 4.87
const FR_SECONDS := 4.159

var _autoload: Node
var _game_locale: String


func before_all() -> void:
	_autoload = get_node_or_null(^"/root/CharVoice")
	_game_locale = TranslationServer.get_locale()
	DirAccess.make_dir_recursive_absolute(MANIFEST.get_base_dir())
	var audio := {
		"en": {"path": EN_AUDIO, "text": "Hello.", "duration_s": EN_SECONDS, "key": "e"},
		"fr": {"path": FR_AUDIO, "text": "Bonjour.", "duration_s": FR_SECONDS, "key": "f"},
	}
	var manifest := {
		"format": "charvoice-manifest",
		"version": 1,
		"revision": 1,
		"changed": [],
		"default_locale": "en",
		"locales": ["en", "fr", "de"],
		"characters": {"n": {"name": "N"}},
		"lines":
		{
			"greet": {"character": "n", "source": "x.csv:2", "audio": audio},
			"borrowed":
			{
				"character": "n",
				"source": "x.csv:3",
				"audio": {"fr": audio["fr"], "en": audio["en"]},
				"fallback": {"de": "fr"},
			},
		},
	}
	var file := FileAccess.open(MANIFEST, FileAccess.WRITE)
	file.store_string(JSON.stringify(manifest))
	file.close()


func after_all() -> void:
	TranslationServer.set_locale(_game_locale)
	if _autoload != null:
		_autoload.set(&"manifest_path", "")
		_autoload.call(&"reload_manifest")


func _voice() -> Runtime:
	if not FileAccess.file_exists(EN_AUDIO):
		pending("run `charvoice build` first")
		return null
	var voice: Runtime = Runtime.new()
	voice.manifest_path = MANIFEST
	add_child_autofree(voice)
	return voice


func _length(player: Node) -> float:
	var stream := player.get(&"stream") as AudioStream
	return stream.get_length() if stream != null else 0.0


func test_a_line_plays_the_locale_then_its_parent_then_the_default() -> void:
	var voice := _voice()
	if voice == null:
		return
	for case: Array in [["fr_CA", FR_SECONDS], ["fr", FR_SECONDS], ["es", EN_SECONDS]]:
		voice.locale_override = case[0]
		var player := voice.play("greet")
		assert_almost_eq(_length(player), case[1], 0.1, "%s plays its audio" % case[0])
		voice.stop("", 0.0)
	voice.locale_override = "de"
	assert_almost_eq(_length(voice.play("borrowed")), FR_SECONDS, 0.1, "fallback de -> fr")
	voice.stop("", 0.0)


func test_a_playing_voice_line_player_follows_a_locale_change() -> void:
	if _voice() == null or _autoload == null:
		return
	_autoload.set(&"manifest_path", MANIFEST)
	_autoload.call(&"reload_manifest")
	TranslationServer.set_locale("en")
	var player: VoiceLinePlayer = add_child_autofree(VoiceLinePlayer.new())
	player.line_id = "greet"
	assert_true(player.play_line())
	assert_almost_eq(_length(player), EN_SECONDS, 0.1)
	watch_signals(_autoload)
	TranslationServer.set_locale("fr")
	await wait_frames(3)
	assert_signal_emitted_with_parameters(_autoload, "locale_changed", ["fr"])
	assert_true(player.playing)
	assert_almost_eq(_length(player), FR_SECONDS, 0.1, "it restarted in the new locale")
	_autoload.call(&"stop", "", 0.0)
