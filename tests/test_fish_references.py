"""References cut where a sentence ends, so the transcript sent is what the model hears (issue
23, item 4): instant clones' samples over 30 s, and the samples a Fish Speech reference joins.
Sources: openapi.json ReferenceAudio ("10-30 seconds"), voice-cloning.mdx (2-3 clips of 15-20 s)."""

from __future__ import annotations

import io
import tomllib
import wave

import numpy as np
import pytest
from fakes.fish_server import FakeFishServer
from fakes.fixtures import make_project, write_sample

from charvoice.audio import decode


def write_sentences(path, count: int, seconds: float = 3.8, pause: float = 0.6, rate: int = 16000) -> None:
    """`count` stretches of speech-like sound, each followed by a clear pause."""
    pieces = []
    for index in range(count):
        t = np.arange(int(seconds * rate)) / rate
        envelope = 0.6 + 0.4 * np.sin(2 * np.pi * 3.3 * t) ** 2
        tone = sum(np.sin(2 * np.pi * (140 + 10 * index) * k * t) / k for k in (1, 2, 3)) * envelope * 0.25
        pieces += [tone, np.zeros(int(pause * rate))]
    pcm = np.clip(np.concatenate(pieces) * 32767, -32768, 32767).astype("<i2")
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())


LONG_TEXT = "One. Two. Three. Four and then some more."


def test_an_instant_sample_over_30_s_is_cut_at_a_sentence_end_and_sent_with_those_sentences(tmp_path, fish, fish_env):
    cleo = f'name = "Cleo"\n[voice]\nsamples = ["voices/cleo/01.wav"]\ntexts = ["{LONG_TEXT}"]\nclone = "instant"\n'
    project = make_project(
        tmp_path, fish, characters={"cleo": cleo}, lines=[("c.1", "Cleo", "Hello."), ("c.2", "Cleo", "Bye.")]
    )
    write_sample(project.root / "characters/voices/cleo/01.wav", seconds=45.0)
    fish.asr_unknown = LONG_TEXT  # what speech to text hears in it, with a time for each sentence
    run = project.run("build")
    assert run.exit_code == 0, run.output
    assert (
        run.output.count("cut to") == 1
        and "with the 3 sentence(s) it holds, where a sentence ends (speech to text)" in run.output
    )
    [asked] = fish.asr_calls()
    assert asked.body["ignore_timestamps"] is False  # the sentence ends come from speech to text
    references = [r.body["references"][0] for r in fish.calls("POST", "/v1/tts")]
    assert {ref["text"] for ref in references} == {"One. Two. Three."}  # exactly what the audio holds
    seconds = len(decode(references[0]["audio"], 16000)) / 16000
    assert 15.5 < seconds < 18.0  # "Three." ends 14/38 of the letters into 45 s: 16.6 s (+0.15 s)


def self_hosted(project) -> None:
    config = project.root / "charvoice.toml"
    config.write_text(config.read_text().replace('model = "s1"', 'model = "s1"\nserver = "fish-speech"'))


@pytest.mark.parametrize("pause", [0.6, 0.0])
def test_a_fish_speech_reference_joins_whole_samples_and_cuts_the_one_that_does_not_fit(tmp_path, fast_retries, pause):
    texts = ["First part here. Second part here. Third part here. Fourth part here."] * 3
    aria = (
        'name = "Aria"\n[voice]\nsamples = ["voices/aria/01.wav", "voices/aria/02.wav", "voices/aria/03.wav"]\n'
        f"texts = {texts!r}\n".replace("'", '"')
    )
    with FakeFishServer(api_key=None, self_hosted=True, audio="tone") as server:
        project = make_project(tmp_path, server, characters={"aria": aria}, lines=[("a.1", "Aria", "Hello.")])
        for index in (1, 2, 3):
            path = project.root / f"characters/voices/aria/0{index}.wav"
            write_sentences(path, 4, pause=pause) if pause else write_sample(path, seconds=16.0)
        self_hosted(project)
        run = project.run("build")
        assert run.exit_code == 0, run.output
        reference_id = tomllib.loads(project.lock_path.read_text())["voices"]["aria"]["model_id"]
        [(audio, text)] = server.references[reference_id]
    with wave.open(io.BytesIO(audio)) as reader:
        seconds = reader.getnframes() / reader.getframerate()
    assert seconds <= 30.0
    assert "sample 03.wav is left out" in run.output
    if pause:  # 17.1 s + 0.4 s leave 12.5 s: sample 2 is cut at the pause after its second "sentence"
        assert text == texts[0] + " First part here. Second part here."
        assert "sample 02.wav is 17.1 s; cut to 8.5 s, with the 2 sentence(s) it holds" in run.output
        assert "an estimate: this server has no speech to text" in run.output
        assert 25.0 < seconds < 27.0
    else:  # no pause to cut at: sample 2 is left out rather than sent with words it does not hold
        assert text == texts[0] and "sample 02.wav is left out" in run.output and 15.0 < seconds < 17.0
