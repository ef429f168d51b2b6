"""Pronunciations: words the speech engines say wrong, written in IPA, said right by each.

Both engines guess a word's sounds with espeak-ng's English rules, which read the French
massage terms as English: "effleurage" came out "EF-uh-lyoo-ridge" (ˈɛfəljˌuːɹɪdʒ),
"petrissage" "PET-riss-idge" (pˈɛtɹɪsɪdʒ) and "tapotement" stressed on its first syllable
(tˈæpoʊtmənt). `LEXICON` holds how English speakers say them: the French stress on the last
syllable, "-age" as "-ahzh". A routine's `[pronounce]` table adds its own words or overrides
these. Each engine is
handed the sounds, not the spelling, through its own phoneme input:
- Piper reads `[[ IPA ]]` blocks as phonemes (piper-tts's `PiperVoice.phonemize`), in the
  notation its voices were trained on: espeak-ng's IPA, where a stress mark stands right
  before its syllable's vowel;
- espeak-ng reads `[[...]]` as its own phoneme mnemonics, which `ESPEAK` maps each IPA
  symbol to.
A text keeps its spelling everywhere else (preview, captions); the cache keys a clip by what
the engine was given, so a changed pronunciation is made anew.

Only the symbols of English are taken (`SYMBOLS`): both engines speak each one, so a routine's
entry is checked when the file is read, with its line, not when a phrase fails to speak.
Pure: no engine, no I/O. At the package's top, beside the timeline: the script checks a
routine's entries with it and the engines say them, and the script imports nothing of sound.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

LEXICON = {
    "effleurage": "ˌɛfləˈɹɑːʒ",
    "petrissage": "ˌpɛtɹɪˈsɑːʒ",
    "pétrissage": "ˌpɛtɹɪˈsɑːʒ",
    "tapotement": "təˈpoʊtmənt",
}

# IPA -> espeak-ng's phoneme mnemonic, for the sounds of English (espeak-ng's docs/phonemes
# and what `espeak-ng --ipa` prints for each). Two-symbol sounds come first: a text is read
# longest match first. "əɹ" is "@2r": plain "@r" is said as r-coloured "ɚɹ" by en-us.
ESPEAK = {
    "tʃ": "tS",
    "dʒ": "dZ",
    "eɪ": "eI",
    "aɪ": "aI",
    "ɔɪ": "OI",
    "aʊ": "aU",
    "oʊ": "oU",
    "əʊ": "@U",
    "ɪə": "i@",
    "eə": "e@",
    "ʊə": "U@",
    "əɹ": "@2r",
    "iː": "i:",
    "uː": "u:",
    "ɑː": "A:",
    "ɔː": "O:",
    "ɜː": "3:",
    "ɪ": "I",
    "i": "i",
    "ɛ": "E",
    "e": "e",
    "æ": "a",
    "ɑ": "A:",
    "ɒ": "0",
    "ɔ": "O",
    "o": "o",
    "ʊ": "U",
    "u": "u",
    "ʌ": "V",
    "ə": "@",
    "ɚ": "3",
    "ɐ": "a#",
    "ᵻ": "I2",
    "p": "p",
    "b": "b",
    "t": "t",
    "d": "d",
    "k": "k",
    "ɡ": "g",
    "f": "f",
    "v": "v",
    "θ": "T",
    "ð": "D",
    "s": "s",
    "z": "z",
    "ʃ": "S",
    "ʒ": "Z",
    "h": "h",
    "m": "m",
    "n": "n",
    "ŋ": "N",
    "l": "l",
    "ɹ": "r",
    "j": "j",
    "w": "w",
    "ɾ": "*",
    "ʔ": "?",
    "x": "x",
    "ˈ": "'",
    "ˌ": ",",
}
STRESS = "ˈˌ"
VOWELS = set("iɪeɛæaɑɒɔoʊuʌəɚɜɐᵻ")
# What people type for an IPA symbol: g for ɡ, r for ɹ (English has no trill), ' and , for the
# stress marks, : for ː. A syllable dot or a slash around the whole is dropped.
LOOKALIKES = str.maketrans({"g": "ɡ", "r": "ɹ", "'": "ˈ", ",": "ˌ", ":": "ː", ".": None, "/": None})
SYMBOLS = sorted(ESPEAK, key=len, reverse=True)
WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")


def symbols(ipa: str) -> list[str]:
    """The IPA's sounds and stress marks, longest match first; ValueError naming the first
    symbol that is none of `SYMBOLS`."""
    text = "".join(ipa.split()).translate(LOOKALIKES)
    found, i = [], 0
    while i < len(text):
        sound = next((s for s in SYMBOLS if text.startswith(s, i)), None)
        if sound is None:
            raise ValueError(text[i])
        found.append(sound)
        i += len(sound)
    if not any(s[0] in VOWELS for s in found):
        raise ValueError("no vowel")
    return found


def canonical(ipa: str) -> str:
    """The IPA as espeak-ng writes it (and Piper's voices learnt it): lookalikes replaced and
    each stress mark moved from the start of its syllable to just before the vowel."""
    out: list[str] = []
    stress = ""
    for sound in symbols(ipa):
        if sound in STRESS:
            stress = sound
        elif sound[0] in VOWELS:
            out += [stress, sound]
            stress = ""
        else:
            out.append(sound)
    return "".join(out)


def espeak_phonemes(ipa: str) -> str:
    """The IPA in espeak-ng's phoneme mnemonics, e.g. "ˌɛfləˈɹɑːʒ" -> ",Efl@2r'A:Z"."""
    return "".join(ESPEAK[s] for s in symbols(canonical(ipa)))


def lexicon_for(language: str, own: Mapping[str, str] | None = None) -> dict[str, str]:
    """The words to say by their IPA: `LEXICON` for English, then a routine's own entries."""
    english = re.split(r"[-_]", language.lower())[0] == "en"
    words = {**(LEXICON if english else {}), **{k.lower(): v for k, v in (own or {}).items()}}
    return {word: canonical(ipa) for word, ipa in words.items()}


def respell(text: str, lexicon: Mapping[str, str], engine: str) -> str:
    """`text` with each lexicon word (any case, whole words) as `engine`'s phoneme input:
    "[[ IPA ]]" for Piper, "[[mnemonics]]" for espeak-ng."""
    if not lexicon:
        return text
    words = "|".join(map(re.escape, sorted(lexicon, key=len, reverse=True)))
    # The word with the clause punctuation around it (re caches the compiled pattern).
    pattern = (
        rf"(?P<before>(?:[,;:]\s+)?)(?<![\w'’-])(?P<word>{words})(?![\w'’-])(?P<after>[,;:.!?]*)"
    )

    def sounds(match: re.Match) -> str:
        before, word, after = match.group("before", "word", "after")
        ipa = lexicon[word.lower()]
        if engine != "piper":
            return f"{before}[[{espeak_phonemes(ipa)}]]{after}"
        # piper-tts loses punctuation that follows a block ("[[ ... ]], then" ran on without
        # the comma's pause) and adds a second space after one before it: both go inside.
        return f"{before.rstrip()}[[ {ipa}{after} ]]"

    return re.sub(pattern, sounds, text, flags=re.IGNORECASE)
