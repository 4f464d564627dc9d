"""Redaction on the byte stream, before the output is cut into reads, lines, notifications or
spill chunks: whatever way a secret was printed in pieces, nothing downstream sees it whole."""

from __future__ import annotations

import os
from pathlib import Path

from engine.execute.output import LiveOutput
from engine.execute.process import ProcessSpec
from engine.execute.runner import SubprocessRunner
from engine.secrets import REDACTED, Redactor
from engine.vocab import Stream

SECRET = "tok-SECRET-0123456789-abcdefghij"


async def run(tmp_path: Path, cmd: str, cap: int = 1 << 16) -> tuple[str, str, list[str], str]:
    """(stdout, stderr, live pieces, spilled stdout) of ``cmd`` with SECRET redacted."""
    live: list[tuple[Stream, str]] = []
    spec = ProcessSpec(
        argv=["/bin/sh", "-c", cmd],
        cwd=tmp_path,
        env={"PATH": os.environ["PATH"], "S": SECRET},
        timeout_s=60,
        output_cap=cap,
        spill_dir=tmp_path / "spill",
        spill_name="s1",
        redact=Redactor([SECRET]).redact,
    )
    result = await SubprocessRunner().run(spec, lambda stream, text: live.append((stream, text)))
    spilled = result.spilled.get("stdout")
    return (
        result.stdout,
        result.stderr,
        [text for _, text in live],
        spilled.read_text() if spilled else "",
    )


async def test_a_secret_split_across_reads_is_masked_everywhere(tmp_path: Path) -> None:
    half = len(SECRET) // 2
    cmd = f'printf "key=%s" "${{S%{SECRET[half:]}}}"; sleep 0.2; printf "%s\\n" "{SECRET[half:]}"'
    out, _, live, _ = await run(tmp_path, cmd)
    assert out == f"key={REDACTED}\n"
    assert SECRET not in "".join(live) and SECRET[:half] not in "".join(live)


async def test_a_secret_across_an_8_kib_line_is_masked(tmp_path: Path) -> None:
    cmd = (
        'head -c 8190 /dev/zero | tr "\\0" x; printf "%s" "$S"; head -c 9000 /dev/zero | tr "\\0" y'
    )
    out, _, live, _ = await run(tmp_path, cmd)
    assert SECRET not in out and REDACTED in out
    assert SECRET[:6] + SECRET[6:] not in "".join(live)
    assert not any(SECRET[:8] in piece for piece in live)  # no half of it in any notification


async def test_spilled_output_is_the_same_redacted_stream(tmp_path: Path) -> None:
    cmd = 'for i in $(seq 1 400); do echo "line $i $S"; done'
    out, _, live, spilled = await run(tmp_path, cmd, cap=2048)
    assert SECRET not in out + spilled + "".join(live)
    assert spilled.count(REDACTED) == 400 and spilled.startswith(f"line 1 {REDACTED}\n")


async def test_stderr_is_redacted_too(tmp_path: Path) -> None:
    _, err, _, _ = await run(tmp_path, 'echo "$S" >&2')
    assert err == f"{REDACTED}\n"


def test_live_output_keeps_what_a_cancelled_step_printed() -> None:
    sent: list[tuple[Stream, str]] = []
    live = LiveOutput(lambda stream, text: sent.append((stream, text)))
    live.feed("stdout", "a\n")
    live.feed("stderr", "b\n")
    live.feed("stdout", "c")
    assert sent == [("stdout", "a\n"), ("stderr", "b\n"), ("stdout", "c")]
    assert (live.captured("stdout"), live.captured("stderr")) == ("a\nc", "b\n")
