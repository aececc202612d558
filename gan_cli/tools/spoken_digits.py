"""A labeled speech set made offline: the words zero to nine spoken by espeak-ng.

    python -m gan_cli.tools.spoken_digits OUT_DIR [--voices ...] [--variants ...]
        [--speeds ...] [--pitches ...] [--align centre|left] [--jobs N] [--force]

Every English espeak-ng voice (accent) x voice variants (timbres such as f3, m3) x speeds x
pitches says each digit once; each clip is resampled from espeak-ng's 22050 Hz to 16 kHz mono,
trimmed of leading and trailing silence, centred (or left-aligned) in 16384 samples and written as
PCM_16 WAV to OUT_DIR/<digit>/<voice>_s<speed>_p<pitch>.wav, one folder per digit: a small
SC09-like set (Donahue et al. 2019 trained WaveGAN on SC09, the ten digits of Speech Commands)
that `gan train model=wavegan data=audio_folder data.path=OUT_DIR` reads with ten classes.

A clip identical to another voice's (some accents say some words alike) is left out. Files that
exist are skipped, so a second run only adds what is missing. Prints one summary line.
"""

from __future__ import annotations

import argparse
import io
import math
import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gan_cli.errors import UserError

DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
SAMPLE_RATE = 16000
LENGTH = 16384  # WaveGAN's clip length, about one second at 16 kHz
# The defaults make up to 8 voices (what espeak-ng 1.51 offers without MBROLA) x 4 x 3 x 2 x 10
# digits = 1,920 clips, less those identical to another voice's: two male timbres (the voice's
# own, m3) and two female (f3, f5); espeak-ng's default speed (175 wpm) and pitch (50) bracketed;
# at 130 wpm the slowest word still fits in one second.
DEFAULT_VARIANTS = ("none", "f3", "m3", "f5")
DEFAULT_SPEEDS = (130, 160, 190)
DEFAULT_PITCHES = (35, 65)
SPEED_RANGE = (80, 450)  # words per minute espeak-ng accepts (-s)
PITCH_RANGE = (0, 99)  # espeak-ng's -p
# Silence is what stays this far below the clip's peak: espeak-ng starts with exact zeros but ends
# with a decaying tail; -50 dB keeps the quiet onsets of "four", "five", "six" and "seven".
SILENCE_DB = -50.0
MARKER = ".spoken_digits"  # hidden, so audio_folder does not see it; marks a folder as ours
INSTALL = "apt-get install espeak-ng"
MBROLA_DIRS = (Path("/usr/share/mbrola"), Path("/usr/share/mbrola/voices"))


@dataclass(frozen=True)
class Clip:
    """One word as one voice says it."""

    digit: str
    voice: str  # the English voice's name, e.g. en-gb-x-rp
    variant: str  # "none" for the voice as it is, else a variant such as f3
    speed: int
    pitch: int
    voice_file: str = ""  # espeak-ng's file for the voice (gmw/en-GB-x-rp); "": the name

    @property
    def spec(self) -> str:
        """The -v argument: voice+variant. By file, because espeak-ng 1.51 drops the variant of
        some names (en-gb+f3 speaks as en-gb; gmw/en+f3 as f3)."""
        voice = self.voice_file or self.voice
        return voice if self.variant == "none" else f"{voice}+{self.variant}"

    @property
    def filename(self) -> str:
        # Variant names may hold spaces ("Mr serious"): keep names to letters, digits, '-', '.'.
        voice = self.voice if self.variant == "none" else f"{self.voice}_{self.variant}"
        name = re.sub(r"[^A-Za-z0-9.-]+", "_", voice)
        return f"{name}_s{self.speed}_p{self.pitch}.wav"

    def path(self, out_dir: Path) -> Path:
        return out_dir / self.digit / self.filename


# --- the signal: pure functions on numpy arrays -------------------------------------------------


def trim_silence(signal: Any, silence_db: float = SILENCE_DB) -> Any:
    """`signal` without its leading and trailing samples quieter than silence_db below its peak;
    an all-zero signal becomes empty."""
    import numpy as np

    magnitude = np.abs(signal)
    peak = float(magnitude.max()) if magnitude.size else 0.0
    if peak == 0.0:
        return signal[:0]
    loud = np.flatnonzero(magnitude > peak * 10.0 ** (silence_db / 20.0))
    return signal[loud[0] : loud[-1] + 1]


def fit(signal: Any, length: int = LENGTH, align: str = "centre") -> Any:
    """`signal` placed in `length` zero samples, centred or at the start; a longer one is cut at
    its end (a word's tail is its quietest part)."""
    import numpy as np

    if align not in ("centre", "left"):
        raise ValueError(f"align must be 'centre' or 'left', not {align!r}")
    out = np.zeros(length, dtype=np.float32)
    kept = signal[:length]
    start = (length - kept.shape[0]) // 2 if align == "centre" else 0
    out[start : start + kept.shape[0]] = kept
    return out


def resample(signal: Any, rate_in: int, rate_out: int = SAMPLE_RATE) -> Any:
    """Band-limited polyphase resampling (scipy.signal.resample_poly, up/down in lowest terms)."""
    import numpy as np
    from scipy.signal import resample_poly

    if rate_in == rate_out:
        return signal.astype(np.float32, copy=False)
    divisor = math.gcd(rate_in, rate_out)
    return resample_poly(signal, rate_out // divisor, rate_in // divisor).astype(np.float32)


def prepare(signal: Any, rate: int, length: int = LENGTH, align: str = "centre") -> tuple[Any, bool]:
    """espeak-ng's output (float, any rate, mono or not) as an int16 clip of `length` samples at
    16 kHz, and whether the word was longer than the clip (and so cut)."""
    import numpy as np

    mono = signal.mean(axis=1) if signal.ndim == 2 else signal
    # Trimmed after resampling so the filter's ringing at the edges goes with the silence.
    word = trim_silence(resample(np.asarray(mono, dtype=np.float32), rate))
    clip = np.clip(fit(word, length, align), -1.0, 1.0)
    return np.round(clip * 32767.0).astype(np.int16), word.shape[0] > length


# --- espeak-ng -----------------------------------------------------------------------------------


def find_espeak() -> str:
    found = shutil.which("espeak-ng")
    if found is None:
        raise UserError(f"espeak-ng is not installed (not on PATH); install it (Debian/Ubuntu: {INSTALL})")
    return found


_LISTING_LINE = re.compile(r"^\s*\d+\s+(?P<language>\S+)\s+\S+\s+(?P<name>\S+)\s+(?P<file>.+?)\s*(?:\(.*)?$")


def parse_listing(text: str) -> list[tuple[str, str, str]]:
    """(language, voice name, voice file) of each line of `espeak-ng --voices=...`; voice files may
    hold spaces ("!v/Mr serious"), names and languages do not."""
    rows = []
    for line in text.splitlines()[1:]:  # the first line is the header
        match = _LISTING_LINE.match(line)
        if match:
            rows.append((match["language"], match["name"], match["file"]))
    return rows


def _mbrola_ready(voice_file: str) -> bool:
    """Whether an MBROLA voice (mb/mb-us1, mb/mb-de1-en) can speak: espeak-ng needs the mbrola
    program and the voice's database; without them it stops or silently falls back to another voice."""
    database = re.sub(r"-en$", "", voice_file.split("/")[-1].removeprefix("mb-"))
    return shutil.which("mbrola") is not None and any((folder / database).exists() for folder in MBROLA_DIRS)


def english_voices(espeak: str) -> dict[str, str]:
    """The English voices this espeak-ng can speak: {name: voice file}, named by the language code
    for espeak-ng's own voices (en-us, en-gb-x-rp), by the file's name for MBROLA ones (mb-us1)."""
    text = _run_listing(espeak, "en")
    voices: dict[str, str] = {}
    for language, _name, voice_file in parse_listing(text):
        if voice_file.startswith("mb/"):
            name = voice_file.split("/")[-1]
            if not _mbrola_ready(voice_file):
                continue
        elif language.startswith("en"):
            name = language
        else:
            continue
        voices.setdefault(name, voice_file)
    return voices


def variants(espeak: str) -> list[str]:
    """The voice variants (f1..f5, m1..m8, klatt, ...) by the name that follows '+'."""
    rows = parse_listing(_run_listing(espeak, "variant"))
    return [voice_file.split("/", 1)[1] for _language, _name, voice_file in rows]


def _run_listing(espeak: str, which: str) -> str:
    done = subprocess.run([espeak, f"--voices={which}"], capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise UserError(f"`espeak-ng --voices={which}` failed: {_first_line(done.stderr)}")
    return done.stdout


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else "no message"


def synthesize(espeak: str, clip: Clip) -> tuple[Any, int]:
    """espeak-ng's WAV for one word as float32 samples and their rate. A failed call is an error
    with espeak-ng's first line."""
    import soundfile

    command = [espeak, "-v", clip.spec, "-s", str(clip.speed), "-p", str(clip.pitch), "--stdout", clip.digit]
    done = subprocess.run(command, capture_output=True, timeout=60)
    if done.returncode != 0 or not done.stdout:
        raise RuntimeError(f"{' '.join(command[1:])}: {_first_line(done.stderr.decode(errors='replace'))}")
    signal, rate = soundfile.read(io.BytesIO(done.stdout), dtype="float32")
    return signal, int(rate)


def make_group(espeak: str, clips: list[Clip], out_dir: Path, align: str = "centre") -> list[str]:
    """Writes the clips of one word, speed and pitch in order, each unless it exists or sounds
    exactly like an earlier one of the group (some accents say some words alike: en-us-nyc's
    "nine" is en-us's): per clip 'exists', 'made', 'cut' (made; the word was longer than the
    clip), 'same' (not written) or 'failed: <why>'. The order makes the choice the same on
    every run, so a second run skips what the first wrote and leaves out what it left out."""
    import hashlib

    import soundfile

    seen: set[bytes] = set()
    outcomes = []
    for clip in clips:
        target = clip.path(out_dir)
        try:
            if target.exists():
                samples, _ = soundfile.read(str(target), dtype="int16")
                seen.add(hashlib.sha1(samples.tobytes()).digest())
                outcomes.append("exists")
                continue
            signal, rate = synthesize(espeak, clip)
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as error:
            outcomes.append(f"failed: {_first_line(str(error)) if str(error) else type(error).__name__}")
            continue
        samples, was_cut = prepare(signal, rate, LENGTH, align)
        if not samples.any():
            outcomes.append(f"failed: -v {clip.spec} {clip.digit}: espeak-ng made only silence")
            continue
        digest = hashlib.sha1(samples.tobytes()).digest()
        if digest in seen:
            outcomes.append("same")
            continue
        seen.add(digest)
        # Written beside and renamed into place, so an interrupted run leaves no half file that
        # the next run would take as done.
        partial = target.with_name(f".{target.name}.{os.getpid()}.part")
        soundfile.write(str(partial), samples, SAMPLE_RATE, subtype="PCM_16", format="WAV")
        os.replace(partial, target)
        outcomes.append("cut" if was_cut else "made")
    return outcomes


# --- the set -------------------------------------------------------------------------------------


def plan(
    voices: list[str] | dict[str, str], variant_names: list[str], speeds: list[int], pitches: list[int]
) -> list[list[Clip]]:
    """The clips in groups of one word, speed and pitch (the voices and variants vary within one);
    `voices` is a list of names or {name: voice file}."""
    files = voices if isinstance(voices, dict) else dict.fromkeys(voices, "")
    return [
        [
            Clip(digit, voice, variant, speed, pitch, files[voice])
            for voice in files
            for variant in variant_names
        ]
        for digit in DIGITS
        for speed in speeds
        for pitch in pitches
    ]


def check_out_dir(out_dir: Path, force: bool) -> None:
    """OUT_DIR may be new, empty or an earlier set; anything else needs --force (files there are
    left as they are: this program never deletes)."""
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"{out_dir} is a file; name a folder for the set")
    if not out_dir.exists() or force or (out_dir / MARKER).exists():
        return
    if any(out_dir.iterdir()):
        raise UserError(
            f"{out_dir} is not empty and holds no earlier spoken-digits set; name a new folder or add --force"
        )


def _choose(given: str | None, available: list[str], default: list[str], what: str) -> list[str]:
    """The comma-separated names in `given` matched to `available` without regard to case
    ('all': every one; None: `default`); an unknown name is one line listing the valid ones."""
    if given is None:
        return default
    names = [name.strip() for name in given.split(",") if name.strip()]
    if names == ["all"]:
        return list(available)
    by_lower = {name.lower(): name for name in available}
    unknown = [name for name in names if name.lower() not in by_lower]
    if unknown or not names:
        raise UserError(
            f"--{what}: unknown {', '.join(unknown) or '(none given)'}; available: {', '.join(available)}"
        )
    return list(dict.fromkeys(by_lower[name.lower()] for name in names))


def _numbers(given: str | None, default: tuple[int, ...], what: str, allowed: tuple[int, int]) -> list[int]:
    if given is None:
        return list(default)
    try:
        values = [int(part) for part in given.split(",") if part.strip()]
    except ValueError:
        raise UserError(f"--{what}={given!r}: give whole numbers separated by commas, e.g. 130,160") from None
    low, high = allowed
    if not values or any(not low <= value <= high for value in values):
        raise UserError(f"--{what}={given!r}: each value must lie in [{low}, {high}]")
    return list(dict.fromkeys(values))


def build(
    out_dir: Path,
    voices: str | None = None,
    variant_names: str | None = None,
    speeds: str | None = None,
    pitches: str | None = None,
    align: str = "centre",
    jobs: int | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """Makes (or completes) the set in out_dir; returns the counts and the time taken."""
    espeak = find_espeak()
    jobs = jobs if jobs is not None else (os.cpu_count() or 1)
    if jobs < 1:
        raise UserError(f"--jobs={jobs}: give at least 1")
    available_voices = english_voices(espeak)
    if not available_voices:
        raise UserError("espeak-ng lists no English voice it can speak (`espeak-ng --voices=en`)")
    available_variants = ["none", *variants(espeak)]
    default_variants = [name for name in DEFAULT_VARIANTS if name in available_variants]
    names = _choose(voices, list(available_voices), list(available_voices), "voices")
    chosen_voices = {name: available_voices[name] for name in names}
    chosen_variants = _choose(variant_names, available_variants, default_variants, "variants")
    chosen_speeds = _numbers(speeds, DEFAULT_SPEEDS, "speeds", SPEED_RANGE)
    chosen_pitches = _numbers(pitches, DEFAULT_PITCHES, "pitches", PITCH_RANGE)
    check_out_dir(out_dir, force)

    groups = plan(chosen_voices, chosen_variants, chosen_speeds, chosen_pitches)
    for digit in DIGITS:
        (out_dir / digit).mkdir(parents=True, exist_ok=True)
    (out_dir / MARKER).write_text(
        "made by python -m gan_cli.tools.spoken_digits; the last run's settings:\n"
        f"voices: {','.join(chosen_voices)}\nvariants: {','.join(chosen_variants)}\n"
        f"speeds: {','.join(map(str, chosen_speeds))}\npitches: {','.join(map(str, chosen_pitches))}\n"
    )
    counts = {"made": 0, "cut": 0, "exists": 0, "same": 0, "failed": 0}
    failures: list[str] = []
    started = time.perf_counter()
    # Threads suffice: the work is in espeak-ng processes, the numpy part is small.
    pool = ThreadPoolExecutor(max_workers=jobs)
    try:
        for outcomes in pool.map(lambda group: make_group(espeak, group, out_dir, align), groups):
            for outcome in outcomes:
                kind, _, why = outcome.partition(": ")
                counts[kind] += 1
                if why:
                    failures.append(why)
    finally:
        # On Ctrl-C the groups not yet started are dropped rather than waited for.
        pool.shutdown(wait=True, cancel_futures=True)
    return {
        **counts,
        "total": sum(len(group) for group in groups),
        "voices": len(chosen_voices) * len(chosen_variants),
        "seconds": time.perf_counter() - started,
        "first_failure": failures[0] if failures else None,
    }


def summary(out_dir: Path, result: dict[str, Any]) -> str:
    made = result["made"] + result["cut"]
    line = (
        f"spoken_digits: {made + result['exists']} clips in {out_dir} (10 classes,"
        f" {result['voices']} voices; {made} made, {result['exists']} already there"
    )
    if result["same"]:
        line += f", {result['same']} left out as identical to another voice's"
    if result["cut"]:
        line += f", {result['cut']} longer than 1 s and cut"
    if result["failed"]:
        line += f", {result['failed']} failed, first: {result['first_failure']}"
    return line + f") at {SAMPLE_RATE} Hz, {LENGTH} samples, in {result['seconds']:.1f} s"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m gan_cli.tools.spoken_digits",
        description="Make a labeled speech set offline with espeak-ng: the words zero to nine in"
        " every English voice, several variants, speeds and pitches, as 16 kHz one-second WAV files"
        " in one folder per digit (SC09-like).",
    )
    parser.add_argument("out_dir", type=Path, help="the folder of the set (OUT_DIR/zero/, OUT_DIR/one/, ...)")
    parser.add_argument("--voices", help="comma-separated English voices, or 'all' (default: all)")
    parser.add_argument(
        "--variants",
        help="comma-separated variants ('none': the voice as it is), or 'all'"
        f" (default: {','.join(DEFAULT_VARIANTS)})",
    )
    parser.add_argument("--speeds", help=f"words per minute (default: {','.join(map(str, DEFAULT_SPEEDS))})")
    parser.add_argument("--pitches", help=f"0-99 (default: {','.join(map(str, DEFAULT_PITCHES))})")
    parser.add_argument(
        "--align", choices=("centre", "left"), default="centre", help="the word's place in the clip"
    )
    parser.add_argument("--jobs", type=int, default=None, help="espeak-ng calls at once (default: CPU count)")
    parser.add_argument("--force", action="store_true", help="write into a non-empty folder, not a set")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out_dir = args.out_dir.expanduser()
    try:
        result = build(
            out_dir, args.voices, args.variants, args.speeds, args.pitches, args.align, args.jobs, args.force
        )
    except UserError as error:
        sys.stderr.write(f"spoken_digits: error: {error}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("spoken_digits: interrupted; run it again to make the rest\n")
        return 130
    print(summary(out_dir, result))
    return 1 if result["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
