extends GutTest
## Word timings and mouth shapes: the shared table of cases (charvoice/godot/timings.py runs the
## same file) and a timings file read through the manifest, as a game reads it.

const Timings := preload("res://addons/charvoice/runtime/charvoice_timings.gd")
const Manifest := preload("res://addons/charvoice/runtime/charvoice_manifest.gd")
const CASES_PATH := "res://test/data/timings_cases.json"

var _cases: Dictionary = {}


func before_all() -> void:
	var json := JSON.new()
	assert_eq(json.parse(FileAccess.get_file_as_string(CASES_PATH)), OK, json.get_error_message())
	_cases = json.data


func test_clean_words_follows_the_shared_table() -> void:
	for entry: Dictionary in _cases["clean_words"]:
		# JSON reads every number as a float; a word's text span is a pair of ints.
		var expected: Array = []
		for row: Array in entry["expected"]:
			expected.append([float(row[0]), float(row[1]), int(row[2]), int(row[3]), row[4]])
		assert_eq(Timings.clean_words(entry["input"]), expected, JSON.stringify(entry))


func test_clean_mouth_follows_the_shared_table() -> void:
	for entry: Dictionary in _cases["clean_mouth"]:
		assert_eq(Timings.clean_mouth(entry["input"]), entry["expected"], JSON.stringify(entry))


func test_reveal_and_mouth_follow_the_shared_table() -> void:
	for entry: Dictionary in _cases["reveal_count"]:
		assert_eq(Timings.reveal_count(entry["words"], entry["time"]), int(entry["expected"]))
	for entry: Dictionary in _cases["started_words"]:
		assert_eq(Timings.started_words(entry["words"], entry["time"]), int(entry["expected"]))
	for entry: Dictionary in _cases["mouth_at"]:
		assert_eq(Timings.mouth_at(entry["mouth"], entry["time"]), entry["expected"])


func test_a_timings_file_parses_and_answers() -> void:
	var timings := Timings.new()
	var text := JSON.stringify(
		{
			"format": "charvoice-timings",
			"version": 1,
			"source": "engine",
			"duration_s": 1.42,
			"words": [[0.1, 0.42, 0, 5, "Hello"], [0.55, 1.3, 7, 12, "there"]],
			"mouth": [[0.0, "X"], [0.1, "B"], [0.3, "E"]],
		}
	)
	assert_true(timings.parse(text, "res://x.json"), timings.error)
	assert_eq(timings.characters_at(0.6), 12)
	assert_eq(timings.word_index_at(0.2), 0)
	assert_eq(timings.shape_at(0.35), "E")
	assert_eq(timings.shape_at(2.0), "X", "rest after the audio")


func test_a_bad_timings_file_is_refused_with_its_line() -> void:
	var timings := Timings.new()
	assert_false(timings.parse("{\n  nope", "res://x.json"))
	assert_string_contains(timings.error, "res://x.json")
	assert_string_contains(timings.error, "line")
	assert_false(timings.parse('{"format": "charvoice-timings", "version": 2}', "res://x.json"))
	assert_string_contains(timings.error, "version 2")


func test_the_manifest_names_the_timings_file_beside_the_audio() -> void:
	var manifest := Manifest.new()
	var text := JSON.stringify(
		{
			"format": "charvoice-manifest",
			"version": 1,
			"revision": 1,
			"default_locale": "en",
			"characters": {},
			"lines":
			{
				"intro.greet":
				{
					"character": "aria",
					"audio":
					{
						"en":
						{
							"path": "en/aria/intro.greet.ogg",
							"timings": "en/aria/intro.greet.timings.json",
							"key": "k",
						},
					},
				},
				"bare": {"character": "aria", "audio": {"en": {"path": "en/bare.ogg", "key": "k"}}},
			},
		}
	)
	assert_true(manifest.parse(text, "res://voice/voice_manifest.json"), manifest.error)
	assert_eq(
		manifest.get_timings_path("intro.greet", "en"),
		"res://voice/en/aria/intro.greet.timings.json"
	)
	assert_eq(manifest.get_timings_path("bare", "en"), "")
