extends GutTest
## VoiceLinePlayer, VoiceLinePlayer2D and VoiceLinePlayer3D through the CharVoice autoload.

const DEMO_LINE := "lighthouse.intro"


func test_players_have_the_exported_line_id() -> void:
	for player: Node in [VoiceLinePlayer.new(), VoiceLinePlayer2D.new(), VoiceLinePlayer3D.new()]:
		assert_true("line_id" in player)
		assert_true(player.has_method("play_line"))
		player.free()


func test_play_line_without_an_id_is_refused() -> void:
	var player: VoiceLinePlayer = add_child_autofree(VoiceLinePlayer.new())
	assert_false(player.play_line())


func test_play_line_of_a_missing_line_is_refused() -> void:
	var player: VoiceLinePlayer = add_child_autofree(VoiceLinePlayer.new())
	player.line_id = "no.such.line"
	assert_false(player.play_line())
	assert_false(player.playing)


func test_play_line_plays_a_built_line_in_2d_and_3d() -> void:
	var voice := get_node_or_null(^"/root/CharVoice")
	if voice == null or not voice.call(&"has_line", DEMO_LINE):
		pending("enable the CharVoice plugin and run `charvoice build` first")
		return
	var flat: VoiceLinePlayer = add_child_autofree(VoiceLinePlayer.new())
	var in_2d: VoiceLinePlayer2D = add_child_autofree(VoiceLinePlayer2D.new())
	var in_3d: VoiceLinePlayer3D = add_child_autofree(VoiceLinePlayer3D.new())
	for player: Node in [flat, in_2d, in_3d]:
		player.set(&"line_id", DEMO_LINE)
		assert_true(player.call(&"play_line"), str(player))
		assert_true(player.get(&"playing"), str(player))
		player.call(&"stop")
