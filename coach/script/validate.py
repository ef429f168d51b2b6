"""What each table of a routine file must hold: the parsed TOML of a routine checked against
the model (routine.py), every problem collected with its line (checks.py), or a `Routine`."""

from __future__ import annotations

import re
import string
from pathlib import Path

from coach import lexicon
from coach.errors import RoutineError
from coach.resources import BUILTIN_CUES, cues_dir
from coach.script.checks import Checks
from coach.script.model import (
    MAX_DURATION,
    MAX_HOURS,
    RATE_RANGE,
    Coaching,
    Reminder,
    Routine,
    Step,
)
from coach.script.techniques import LIBRARY, Technique
from coach.script.values import did_you_mean, show
from coach.timeline import SAMPLE_RATE, clock

TOP_KEYS = (
    "title",
    "description",
    "language",
    "voice",
    "rate",
    "phrases",
    "pronounce",
    "coaching",
    "techniques",
    "steps",
)
# The coach's own words a routine may give in its language ([phrases]): lists of lines said in
# turn, and single lines. "next" names the coming step with {title}.
PHRASE_LISTS = ("safety", "check_ins", "posture")
PHRASE_TEXTS = ("next", "halfway", "ending")
COACHING_KEYS = (
    "partner",
    "safety_notice",
    "cautions",
    "tempo",
    "check_in_first",
    "check_in_every",
    "posture_every",
    "ticks",
    "heads_up",
    "halfway",
    "countdown",
)
TECHNIQUE_KEYS = ("label", "say", "tempo", "pressure", "cautions", "per_minute")
STEP_KEYS = ("technique", "area", "duration", "title", "say", "cue", "reminders")
REMINDER_KEYS = ("at", "say")
# Partner massages check pressure within the first five minutes, then now and then, and remind
# the giver of their posture; self-massage has nobody to ask.
PARTNER_INTERVALS = {"check_in_first": "4m", "check_in_every": "5m", "posture_every": "6m"}


def _only_title(text: str) -> bool:
    """Whether `text` holds {title}, and no other field, so `text.format(title=...)` works."""
    try:
        fields = [
            (f, spec, conv) for _, f, spec, conv in string.Formatter().parse(text) if f is not None
        ]
    except ValueError:  # a lone brace
        return False
    return bool(fields) and all(field == ("title", "", None) for field in fields)


class Validator(Checks):
    """Checks one routine's parsed TOML. `folder` is where its sound-file cues are looked for:
    the routine file's folder, or None for pasted text, which may use built-in cues only."""

    def __init__(self, where: str, folder: Path | None, data: dict, at):
        super().__init__(where, at)
        self.folder = folder
        self.data = data
        self.techniques = dict(LIBRARY)
        self.broken: set[str] = set()  # own techniques with problems (already reported)

    def routine(self) -> Routine:
        data = self.data
        self.keys(data, TOP_KEYS, (), "")
        title = self.text(data, "title", (), "", "give the routine a title")
        if "title" not in data:
            self.problem(1, 'missing title; add a line like title = "Evening back massage"')
        description = self.text(data, "description", (), "", None) or ""
        language = self.text(data, "language", (), "", 'use a code like "en"') or "en"
        voice_hint = 'use a voice from `coach voices`, like "en_US-joe-medium" or "en-gb"'
        voice = self.text(data, "voice", (), "", voice_hint)
        rate = self.rate(data)
        phrases = self.phrases(self.table(data, "phrases", ("phrases",), ""))
        pronounce = self.pronounce(self.table(data, "pronounce", ("pronounce",), ""))
        coaching = self.coaching(self.table(data, "coaching", ("coaching",), ""))
        self.own_techniques(self.table(data, "techniques", ("techniques",), ""))
        steps = self.steps(data.get("steps"))
        if self.problems:
            raise RoutineError(sorted(self.problems, key=lambda p: p.line))
        return Routine(
            name=Path(self.where).stem,
            path=self.where,
            title=title,
            steps=steps,
            techniques=self.techniques,
            coaching=coaching,
            description=description,
            language=language,
            voice=voice,
            rate=rate,
            phrases=phrases,
            pronounce=pronounce,
        )

    # -- sections -----------------------------------------------------------------------------

    def rate(self, data: dict) -> int | None:
        if "rate" not in data:
            return None
        value = data["rate"]
        low, high = RATE_RANGE
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.problem(
                self.at("rate"),
                f"rate {show(value)} is out of range; use {low} to {high} words a minute",
            )
            return None
        return value

    def phrases(self, table: dict) -> dict[str, tuple[str, ...]]:
        ctx = "[phrases]: "
        self.keys(table, PHRASE_LISTS + PHRASE_TEXTS, ("phrases",), ctx)
        found: dict[str, tuple[str, ...]] = {}
        hint = "write what the coach should say, or leave the key out"
        for key in PHRASE_LISTS:
            value = table.get(key)
            if value is None:
                continue
            if not isinstance(value, list) or not value:
                self.problem(
                    self.at("phrases", key),
                    f'{ctx}{key} must be a list of lines like ["...", "..."], not {show(value)}',
                )
                continue
            lines = []
            for j, item in enumerate(value):
                tidy = " ".join(item.split()) if isinstance(item, str) else ""
                if not tidy:
                    what = (
                        f"is empty; {hint}"
                        if isinstance(item, str)
                        else (f"must be text in quotes, not {show(item)}")
                    )
                    self.problem(self.at("phrases", key, j), f"{ctx}{key} entry {j + 1} {what}")
                lines.append(tidy)
            if all(lines):
                found[key] = tuple(lines)
        for key in PHRASE_TEXTS:
            text = self.text(table, key, ("phrases",), ctx, hint)
            if text and key == "next" and not _only_title(text):
                self.problem(
                    self.at("phrases", key),
                    f'{ctx}next must name the coming step as {{title}}, like "Next: {{title}}.", '
                    "with no other braces",
                )
            elif text:
                found[key] = (text,)
        return found

    def pronounce(self, table: dict) -> dict[str, str]:
        """Words to say by their sounds: each `word = "IPA"` (coach/lexicon.py)."""
        ctx = "[pronounce]: "
        example = 'like effleurage = "ˌɛfləˈɹɑːʒ"'
        found = {}
        for word, value in table.items():
            line = self.at("pronounce", word)
            if not lexicon.WORD.fullmatch(word):
                self.problem(line, f'{ctx}"{word}" is not one word; give each word, {example}')
            elif not isinstance(value, str) or not value.strip():
                self.problem(line, f"{ctx}{word} must be its IPA in quotes, {example}")
            else:
                try:
                    found[word] = lexicon.canonical(value)
                except ValueError as e:
                    why = "has no vowel" if str(e) == "no vowel" else f'has "{e}", no English sound'
                    self.problem(
                        line,
                        f'{ctx}{word} = "{value}" {why}; write it in IPA, {example} '
                        "(docs/routines.md lists the symbols)",
                    )
        return found

    def coaching(self, table: dict) -> Coaching:
        ctx, path = "[coaching]: ", ("coaching",)
        self.keys(table, COACHING_KEYS, path, ctx)
        partner = self.flag(table, "partner", True, path, ctx)
        intervals = {}
        for key, default in PARTNER_INTERVALS.items():
            value = table.get(key, partner and default)
            if value is False:
                intervals[key] = None
            else:
                line = self.at("coaching", key)
                intervals[key] = self.duration(default if value is True else value, line, ctx, key)
        return Coaching(
            partner=partner,
            safety_notice=self.flag(table, "safety_notice", True, path, ctx),
            cautions=self.flag(table, "cautions", True, path, ctx),
            tempo=self.flag(table, "tempo", True, path, ctx),
            ticks=self.flag(table, "ticks", False, path, ctx),
            heads_up=self.flag(table, "heads_up", True, path, ctx),
            halfway=self.flag(table, "halfway", True, path, ctx),
            countdown=self.flag(table, "countdown", True, path, ctx),
            **intervals,
        )

    def own_techniques(self, tables: dict) -> None:
        for name, table in tables.items():
            path = ("techniques", name)
            ctx = f"[techniques.{name}]: "
            if not isinstance(table, dict):
                self.problem(self.at(*path), f"{ctx}must be a table of label, say, tempo, pressure")
                self.broken.add(name)
                continue
            before = len(self.problems)
            self.keys(table, TECHNIQUE_KEYS, path, ctx)
            self.required(table, ("label", "say", "tempo", "pressure"), path, ctx)
            hint = "write what the coach should say"
            fields = {k: self.text(table, k, path, ctx, hint) for k in ("label", "say")}
            fields |= {k: self.text(table, k, path, ctx, hint) for k in ("tempo", "pressure")}
            cautions = table.get("cautions", [])
            if not isinstance(cautions, list) or not all(
                isinstance(c, str) and c.strip() for c in cautions
            ):
                self.problem(
                    self.at(*path, "cautions"),
                    f'{ctx}cautions must be a list of sentences like ["Not on the spine."]',
                )
                cautions = []
            per_minute = table.get("per_minute")
            if per_minute is not None and (
                isinstance(per_minute, bool)
                or not isinstance(per_minute, (int, float))
                or not 0 < per_minute <= 600
            ):
                self.problem(
                    self.at(*path, "per_minute"),
                    f"{ctx}per_minute must be a number of strokes a minute (1 to 600), "
                    f"not {show(per_minute)}",
                )
            if len(self.problems) > before:
                self.broken.add(name)
                continue
            self.techniques[name] = Technique(
                name=name,
                cautions=tuple(" ".join(c.split()) for c in cautions),
                per_minute=per_minute,
                **fields,
            )

    def steps(self, value: object) -> tuple[Step, ...]:
        add = "add at least one [[steps]] table with technique, area and duration"
        if value is None:
            self.problem(self.at("steps") if "steps" in self.data else 1, f"no steps; {add}")
            return ()
        if not isinstance(value, list) or not all(isinstance(s, dict) for s in value):
            self.problem(self.at("steps"), f"steps must be [[steps]] tables, not {show(value)}")
            return ()
        if not value:
            self.problem(self.at("steps"), f"no steps; {add}")
            return ()
        steps = tuple(s for n, t in enumerate(value, 1) if (s := self.step(n, t)) is not None)
        total = 0
        for step in steps:
            total += step.duration
            if total > MAX_DURATION:
                self.problem(
                    step.line,
                    f"step {step.index} ({step.title}): the steps up to here add up to "
                    f"{total / 3600 / SAMPLE_RATE:.3g} hours, over the {MAX_HOURS}-hour maximum; "
                    "shorten or remove steps",
                )
                break
        return steps

    def step(self, index: int, table: dict) -> Step | None:
        path = ("steps", index - 1)
        name = table.get("technique")
        technique = self.techniques.get(name) if isinstance(name, str) else None
        label = table.get("title") if isinstance(table.get("title"), str) else None
        label = label or (technique.label if technique else name if isinstance(name, str) else "")
        ctx = f"step {index} ({label}): " if label and label.strip() else f"step {index}: "
        before = len(self.problems)

        self.keys(table, STEP_KEYS, path, ctx)
        self.required(table, ("technique", "area", "duration"), path, ctx)
        if "technique" in table and technique is None:
            line = self.at(*path, "technique")
            if not isinstance(name, str):
                self.problem(line, f"{ctx}technique must be a name in quotes, not {show(name)}")
            elif name not in self.broken:
                known = sorted(self.techniques)
                hint = did_you_mean(name, known) or f"; known: {', '.join(known)}"
                self.problem(line, f'{ctx}unknown technique "{name}"{hint}')
        area = self.text(table, "area", path, ctx, 'say where, like "whole back"')
        duration = None
        if "duration" in table:
            duration = self.duration(table["duration"], self.at(*path, "duration"), ctx, "duration")
        title = self.text(table, "title", path, ctx, "give a title or leave it out")
        hint = "write what the coach should say, or leave say out"
        say = self.text(table, "say", path, ctx, hint)
        cue = self.cue(table.get("cue", "chime"), self.at(*path, "cue"), ctx)
        reminders = self.reminders(table.get("reminders", []), path, ctx, duration)
        if len(self.problems) > before or technique is None:  # (a broken own technique)
            return None
        return Step(
            index=index,
            technique=name,
            area=area,
            duration=duration,
            title=title or f"{technique.label}, {area}",
            say=say or technique.say,
            cue=cue,
            reminders=reminders,
            line=self.at(*path),
        )

    def cue(self, value: object, line: int, ctx: str) -> str | None:
        if value is False:
            return None
        names = ", ".join(BUILTIN_CUES)
        if not isinstance(value, str) or not value.strip():
            kinds = f"a cue name ({names}), a sound file, or false"
            self.problem(line, f"{ctx}cue must be {kinds}, not {show(value)}")
            return None
        if not re.search(r"[/\\.]", value):  # a name, not a file
            if value in BUILTIN_CUES:
                return value
            hint = did_you_mean(value, BUILTIN_CUES)
            message = f'{ctx}unknown cue "{value}"{hint}; use {names}, a sound file, or false'
            self.problem(line, message)
            return None
        folder = self.folder
        if folder is None:  # pasted text: no folder of its own, and none of the host's to read
            self.problem(
                line, f'{ctx}cue "{value}": a routine given as text has no sound files; use {names}'
            )
            return None
        sound = (folder / value).resolve()
        # Resolved paths, so neither "../" nor a symlink can point a routine at arbitrary files.
        roots = (folder.resolve(), cues_dir().resolve())
        if not any(sound.is_relative_to(root) for root in roots):
            self.problem(
                line,
                f'{ctx}cue "{value}" is outside the routine\'s folder and audio_cues/; '
                "copy the sound next to the routine file",
            )
        elif not sound.is_file():
            self.problem(line, f'{ctx}cue file "{value}" not found (looked for {sound})')
        else:
            return str(sound)
        return None

    def reminders(self, value: object, path: tuple, ctx: str, duration: int | None):
        line = self.at(*path, "reminders")
        example = '[{ at = "45s", say = "Switch sides." }]'
        if not isinstance(value, list):
            self.problem(line, f"{ctx}reminders must be a list like {example}, not {show(value)}")
            return ()
        found = []
        for j, item in enumerate(value):
            where = (*path, "reminders", j)
            rctx = f"{ctx}reminder {j + 1}: "
            if not isinstance(item, dict):
                self.problem(self.at(*where), f"{rctx}must be a table like {example[1:-1]}")
                continue
            self.keys(item, REMINDER_KEYS, where, rctx)
            ok = self.required(item, REMINDER_KEYS, where, rctx)
            say = self.text(item, "say", where, rctx, "write what the coach should say")
            at = None
            if "at" in item:
                at = self.duration(item["at"], self.at(*where, "at"), rctx, "at")
            if at is not None and duration is not None and at >= duration:
                self.problem(
                    self.at(*where, "at"),
                    f"{rctx}at {show(item['at'])} is at or past the step's end "
                    f"({clock(duration)}); give a time inside the step",
                )
            elif ok and say and at is not None:
                found.append(Reminder(at=at, say=say, line=self.at(*where)))
        return tuple(sorted(found, key=lambda r: r.at))
