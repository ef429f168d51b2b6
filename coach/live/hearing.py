"""Spoken commands, offline: "coach, next" and friends, heard by pocketsphinx (the voice
control, `coach.live.listen`, runs this in a worker process of its own).

How an utterance becomes an action (or, far more often, nothing):

1. **Voice activity.** pocketsphinx's endpointer cuts the microphone stream into utterances.
2. **Half-duplex.** An utterance that overlaps the coach's own sound, or begins within
   `ECHO_MARGIN` of it, is dropped unheard: the microphone hears the coach too, and the coach
   says "Next: ..." before every step. Speak in the gaps; a command is short.
3. **Two passes that must agree.** A grammar that knows only "coach <command>" turns any
   speech into some command (measured: a plain sentence, the coach's own instructions), so a
   second decoder runs a language model of everyday speech around a massage plus the
   commands (and any `own_words` given; the command line gives none: see the README). An
   utterance is a command only when that second pass hears exactly "coach <command>" too.
   Measured (benchmarks/bench_listen.py): 44 of 45 Piper-voiced commands (5 speeds, 20 dB
   SNR) taken, none wrongly, and no action at all in a 20-minute session with 28 distractors
   ("Next time, a little lighter.", "Coach, you're next."), even with the echo gate off.
   The full English model alone never heard "coach" ("go next", "both thought").
4. **The wake word.** Every command starts with "coach", so talking about pausing is not
   pausing.

Decoding runs as the utterance is spoken, one 30 ms frame at a time (each call holds the
interpreter for well under a millisecond, so the audio callback is never kept waiting), which
leaves only the endpointer's decision time between the end of a command and its action.
"""

from __future__ import annotations

import array
import os
import re
import tempfile
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from coach.errors import RecognizerMissing
from coach.live.controls import Action

WAKE = "coach"
# The spoken word after the wake word, and the action it asks for.
COMMANDS = {
    "pause": "hold",
    "resume": "resume",
    "continue": "resume",
    "next": "next",
    "back": "back",
    "repeat": "repeat",
    "louder": "louder",
    "softer": "softer",
    "stop": "quit",
}
RATE = 16000  # the acoustic model's rate; the sound server resamples the microphone
# An utterance is dropped when the coach sounded this close before it (seconds): the device
# buffer (50 ms), the sound server and the room's echo all lie within it.
ECHO_MARGIN = 0.5
# Longer than this is not a command (the slowest measured "coach, continue" took 1.3 s).
LONGEST = 3.0
# How often the command sentences stand in the language model's corpus: fewer and "coach
# back" was heard as "go back" (1 in 27 at 20 copies, 0 at 60), with no distractor accepted.
COMMAND_WEIGHT = 60

# Everyday speech during a massage, so the language model has somewhere to put it that is not
# a command. Written for the purpose.
EVERYDAY = """\
that feels good
a little lighter please
a bit harder there
can you go softer on the left
keep going like that
you are pressing too hard
let me know if it hurts
go back to the shoulders please
could you say that again
how is the pressure
is this okay for you
yes that is fine
no not there
right there
my neck is tight
the lower back hurts a bit
thank you that was lovely
i am going to get some more oil
turn it up a little
turn the music down
can you hear me
what did it say
how long is left
we are almost done
take a deep breath
relax your shoulders
one two three four five six seven eight nine ten
okay
hello
sorry
wait a moment
hang on
i need a break
my hands are tired
the couch is comfortable
the coaching is good
do you want to continue
shall we stop now
it is getting late
what time is it
the phone is ringing
next week again
i will be back soon
please repeat the last part
that was much softer
can you talk louder
"""


def _words(text: str, known: dict[str, list[str]]) -> list[str]:
    return [w for w in re.findall(r"[a-z']+", text.lower()) if w in known]


class Recognizer:
    """Two pocketsphinx decoders fed the same utterance: the command grammar and a language
    model of everyday and coach speech. `finish()` says what each made of the utterance
    (`Heard`), and so whether it is a command."""

    def __init__(self, own_words: Iterable[str] = ()) -> None:
        try:
            from pocketsphinx import Decoder, get_model_path
            from pocketsphinx.lm import ArpaBoLM
        except ImportError as exc:
            raise RecognizerMissing(str(exc)) from None
        model = Path(get_model_path()) / "en-us"
        # Only the words in use: loading the whole 135,000-word dictionary took 2.5 s for
        # each decoder on a loaded machine.
        entries: dict[str, list[str]] = {}
        with (model / "cmudict-en-us.dict").open() as f:
            for line in f:
                word = line.split(maxsplit=1)[0]
                entries.setdefault(word.split("(")[0], []).append(line)  # word(2): a variant
        sentences = []
        for text in [*EVERYDAY.splitlines(), *own_words]:
            for part in re.split(r"[.?!:;,]", text):
                said = _words(part, entries)
                if said:
                    sentences.append(" ".join(said))
        sentences += [f"{WAKE} {word}" for word in COMMANDS] * COMMAND_WEIGHT
        lm = ArpaBoLM(text="\n".join(sentences), add_start=True)
        lm.compute()
        vocabulary = {w for sentence in sentences for w in sentence.split()}
        with tempfile.TemporaryDirectory(prefix="coach-listen-") as folder:
            dictionary = Path(folder) / "words.dict"
            dictionary.write_text("".join(line for w in sorted(vocabulary) for line in entries[w]))
            options = dict(
                samprate=RATE, hmm=str(model / "en-us"), dict=str(dictionary), logfn=os.devnull
            )
            grammar = Path(folder) / "commands.gram"
            words = " | ".join(COMMANDS)
            grammar.write_text(
                f"#JSGF V1.0;\ngrammar commands;\npublic <command> = {WAKE} ({words});\n"
            )
            arpa = Path(folder) / "speech.arpa"
            with arpa.open("w") as f:
                lm.write(f)
            self._decoders = (
                Decoder(jsgf=str(grammar), **options),
                Decoder(lm=str(arpa), **options),
            )

    def start(self) -> None:
        for decoder in self._decoders:
            decoder.start_utt()

    def feed(self, pcm: bytes) -> None:
        """16-bit mono PCM at `RATE`."""
        for decoder in self._decoders:
            decoder.process_raw(pcm)

    def finish(self) -> Heard:
        heard = []
        for decoder in self._decoders:
            decoder.end_utt()
            hyp = decoder.hyp()
            heard.append(hyp.hypstr if hyp is not None else "")
        return Heard(*heard)

    def hear(self, pcm: bytes) -> str | None:
        """One whole utterance at once (tests and benchmarks): its command word, or None."""
        self.start()
        self.feed(pcm)
        return self.finish().command


@dataclass(frozen=True)
class Heard:
    """What the two passes made of one utterance: it is a command only when both heard
    exactly "coach <command>"."""

    grammar: str
    speech: str

    @property
    def command(self) -> str | None:
        said = self.speech.split()
        if self.grammar == self.speech and len(said) == 2 and said[0] == WAKE:
            return said[1] if said[1] in COMMANDS else None
        return None

    def verdict(self) -> str:
        """Taken or not, and why, for a person to read."""
        if self.command is not None:
            return f"taken: {self.command}"
        if not self.grammar and not self.speech:
            return "not taken: no words in it"
        if self.grammar != self.speech:
            return (
                f"not taken: the two passes disagree (grammar '{self.grammar}', "
                f"speech '{self.speech}')"
            )
        return f"not taken: not a command ('{self.speech}')"


class Hearing:
    """The whole way from microphone frames to commands, in one process: endpointer, echo gate
    and recognizer. `run()` takes (PCM frame, coach sounding) pairs: live from the microphone
    (in the listener's own process) or from a file (tests, benchmarks)."""

    def __init__(self, own_words: Iterable[str] = ()) -> None:
        from pocketsphinx import Endpointer

        self.recognizer = Recognizer(own_words)
        self.endpointer = Endpointer(sample_rate=RATE)
        self.heard: list[tuple[float, str]] = []  # (stream seconds at its end, command word)

    def run(
        self,
        frames: Iterable[tuple[bytes, bool]],
        put: Callable[[Action], None],
        report: Callable[[str], None] = lambda line: None,
    ) -> None:
        """Endpoint, gate and decode `frames` until they end; each 30 ms (`FRAME` samples).
        Commands go to `put`; `report` hears of every utterance, taken or not, and why, in
        a line (`Listener` shows them: a user can tell "not heard" from "heard wrong").
        One loop, longer than most: the endpointer, the gate and the decoders share its
        state frame by frame, and each rule in it carries its measurement."""
        ep = self.endpointer
        length = ep.frame_length
        margin = round(ECHO_MARGIN / length)
        recent: deque[bool] = deque(maxlen=margin + round(LONGEST / length) + 20)
        heard: deque[bytes] = deque(maxlen=recent.maxlen)  # the same frames, as heard
        decoding = False
        count = 0
        quiet = 0  # frames in a row with no sound at all
        began = 0  # the frame count at the start of the utterance
        held = False  # it ended on digital silence while the endpointer still hears speech
        for pcm, coach_sounding in frames:
            count += 1
            recent.append(coach_sounding)
            heard.append(pcm)
            if len(pcm) < ep.frame_bytes:
                break
            quiet = quiet + 1 if _silent(pcm) else 0
            was_speech = ep.in_speech
            speech = ep.process(pcm)
            if speech is None:
                held = False
                continue
            if not was_speech or (held and quiet == 0):  # an utterance begins
                # After digital silence the endpointer, still in speech, marks no start: the
                # sound's return is one (the frames it hands over lag 0.27 s: its onset too).
                began = round(ep.speech_start / length) if not was_speech else count
                held = False
                since = max(0, count - began + margin)  # is the coach's sound in it?
                decoding = not any(list(recent)[-since:])
                if decoding:
                    self.recognizer.start()
                else:
                    report("not taken: the coach was speaking")
            if decoding and (coach_sounding or (count - began) * length > LONGEST):
                decoding = False  # the coach spoke over it, or it is too long to be a command
                self.recognizer.finish()
                why = "the coach spoke over it" if coach_sounding else "too long for a command"
                report(f"not taken: {why}")
            if decoding:
                self.recognizer.feed(speech)
            if ep.in_speech and quiet >= QUIET_END and not held:
                # Digital silence: the sound is over, and fed, whatever the voice detector
                # says. After a minute of the coach's looped-back speech with digital silence
                # between (a null sink's monitor, a noise-suppressed microphone), it held a
                # hissed "coach, next" 1.8 s past its sound, over `LONGEST`, and the command
                # was dropped (a live session, measured; every other utterance there ended
                # 0.36-0.48 s after its sound). (A fresh endpointer instead clipped the next
                # command's start: 8 of 10 varied renditions heard, against 10 of 10.)
                held = True
                if decoding:
                    decoding = False
                    self._take(count, put, report)
            elif not ep.in_speech and decoding:
                decoding = False
                # The endpointer ends speech at its last voiced frame and keeps back the frames
                # after it: the unvoiced end of a word ("nex-t"). Without them a live "coach,
                # next" (speech ended 0.22 s before the word) was heard as "coach back" by both
                # passes, every time; with them, "next".
                after = count - round(ep.speech_end / length)
                if after > 0:
                    self.recognizer.feed(b"".join(list(heard)[-after:]))
                self._take(count, put, report)

    def _take(self, count: int, put: Callable[[Action], None], report) -> None:
        """The utterance is over: its command, if it was one."""
        heard = self.recognizer.finish()
        report(heard.verdict())
        if heard.command is not None:
            self.heard.append((count * self.endpointer.frame_length, heard.command))
            put(Action(COMMANDS[heard.command], acknowledge=True))


def _silent(pcm: bytes) -> bool:
    """No sample of 16-bit `pcm` above 4 LSB (-78 dBFS): digital silence, not a quiet room."""
    samples = array.array("h", pcm)
    return max(samples) <= SILENT and min(samples) >= -SILENT


SILENT = 4
QUIET_END = 10  # frames (0.3 s) of digital silence end an utterance, as the endpointer's window
FRAME = 480  # samples: the endpointer's 30 ms frame at 16 kHz
