"""What the runner captures of a real process: the cap, the spill file (whole, redacted, capped,
never through a planted link), memory under a flood, and text decoded across chunk edges."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.execute.capture import Capture
from engine.models import Stream
from engine.secrets import REDACTED, Redactor
from tests.engine.execute.running import run, spec


async def test_output_past_the_cap_is_spilled_whole(tmp_path: Path) -> None:
    sink: list[tuple[Stream, str]] = []
    result = await run(tmp_path, "seq 1 100000; echo small >&2", sink, output_cap=1000)
    full = "".join(f"{i}\n" for i in range(1, 100001))
    assert result.exit_code == 0 and result.truncated
    assert result.stdout == full[:1000]
    assert "".join(text for stream, text in sink if stream == "stdout") == result.stdout
    assert result.stderr == "small\n"
    assert set(result.spilled) == {"stdout"} and not result.spill_truncated
    spill = result.spilled["stdout"]
    assert spill == tmp_path / ".agent/runs/r1/s1.stdout"
    assert spill.read_text() == full
    assert oct(spill.stat().st_mode & 0o777) == oct(0o600)


async def test_spill_does_not_follow_a_planted_symlink(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep\n")
    spill_dir = tmp_path / ".agent/runs/r1"
    spill_dir.mkdir(parents=True)
    (spill_dir / "s1.stdout").symlink_to(victim)
    result = await run(tmp_path, "seq 1 10000", output_cap=100)
    assert victim.read_text() == "keep\n"
    assert not result.spilled["stdout"].is_symlink()
    assert result.spilled["stdout"].stat().st_size == len(
        "".join(f"{i}\n" for i in range(1, 10001))
    )


OPENAI_KEY = "sk-proj-" + "A1b2C3d4E5" * 4
GITHUB_TOKEN = "ghp_" + "x1Y2z3" * 6


async def test_spill_is_redacted_and_keeps_other_bytes(tmp_path: Path) -> None:
    """Regression: the spill file held the very secrets the trace and the results mask."""
    line = (
        f"key={OPENAI_KEY} ".encode() + b"\xff\xe2\x82 \xc3\xa9 " + f"gh={GITHUB_TOKEN}\n".encode()
    )
    (tmp_path / "out.bin").write_bytes(line * 3000 + f"end {OPENAI_KEY}".encode())
    result = await run(tmp_path, "cat out.bin", output_cap=1000, redact=Redactor().redact)
    assert result.exit_code == 0 and result.truncated and not result.spill_truncated
    clean = line.replace(OPENAI_KEY.encode(), REDACTED.encode())
    clean = clean.replace(GITHUB_TOKEN.encode(), REDACTED.encode())
    assert result.spilled["stdout"].read_bytes() == clean * 3000 + f"end {REDACTED}".encode()
    assert result.stdout.startswith(f"key={REDACTED} ")  # the capture is the same stream


async def test_spill_stops_at_its_cap_while_draining_goes_on(tmp_path: Path) -> None:
    cmd = "head -c 5000000 /dev/zero | tr '\\0' x; echo done >&2"
    result = await run(tmp_path, cmd, output_cap=1000, spill_cap=20_000)
    assert result.exit_code == 0 and not result.timed_out and result.stderr == "done\n"
    assert result.truncated and result.spill_truncated
    assert result.spilled["stdout"].read_bytes() == b"x" * 20_000


async def test_redacted_spill_is_cut_after_redaction(tmp_path: Path) -> None:
    cmd = f"yes '{OPENAI_KEY}' | head -n 100000"
    result = await run(tmp_path, cmd, output_cap=100, spill_cap=1005, redact=Redactor().redact)
    assert result.exit_code == 0 and result.spill_truncated
    assert result.spilled["stdout"].read_bytes() == (f"{REDACTED}\n".encode() * 101)[:1005]


async def test_spill_without_redaction_is_not_truncated_at_the_cap(tmp_path: Path) -> None:
    result = await run(tmp_path, "head -c 20000 /dev/zero", output_cap=1000, spill_cap=20_000)
    assert result.truncated and not result.spill_truncated
    assert result.spilled["stdout"].stat().st_size == 20_000


async def test_a_failing_redaction_writes_nothing_unredacted(tmp_path: Path) -> None:
    def broken(text: str) -> str:
        raise RuntimeError("redactor bug")

    result = await run(tmp_path, f"seq 1 1000; echo {OPENAI_KEY}", output_cap=100, redact=broken)
    assert result.exit_code == 0 and result.stdout == "" and result.spilled == {}  # dropped
    spill = tmp_path / ".agent/runs/r1/s1.stdout"
    assert not spill.exists() or OPENAI_KEY.encode() not in spill.read_bytes()


def peak_rss_reset() -> None:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets VmHWM to the current RSS


def status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(field)


@pytest.mark.slow
async def test_output_flood_neither_hangs_nor_grows_memory(tmp_path: Path) -> None:
    total, cap = 300_000_000, 256 * 1024
    peak_rss_reset()
    base_kib = status_kib("VmRSS")
    result = await run(tmp_path, f"head -c {total} /dev/zero; echo done >&2", output_cap=cap)
    grown_kib = status_kib("VmHWM") - base_kib
    assert result.exit_code == 0 and result.truncated and not result.timed_out
    assert result.stderr == "done\n"
    assert len(result.stdout) == cap
    assert result.spilled["stdout"].stat().st_size == total
    assert grown_kib * 1024 < 2 * cap + 16 * 1024 * 1024, f"RSS grew by {grown_kib} KiB"


async def test_multibyte_characters_across_chunk_edges(tmp_path: Path) -> None:
    text = "\u00e9\u20ac\U0001f600" * 50_000  # 2-, 3- and 4-byte characters
    (tmp_path / "in.txt").write_text(text, encoding="utf-8")
    sink: list[tuple[Stream, str]] = []
    result = await run(tmp_path, "cat in.txt", sink, output_cap=10_000_000)
    assert result.stdout == text and not result.truncated
    assert "".join(t for _, t in sink) == text


async def test_cap_inside_a_character_keeps_no_half_character(tmp_path: Path) -> None:
    result = await run(tmp_path, "printf '\\342\\202\\254\\342\\202\\254'", output_cap=4)
    assert result.stdout == "\u20ac" and result.truncated
    assert result.spilled["stdout"].read_bytes() == "\u20ac\u20ac".encode()


async def test_invalid_utf8_is_replaced(tmp_path: Path) -> None:
    result = await run(tmp_path, "printf 'a\\377b\\342\\202'")
    assert result.stdout == "a\ufffdb\ufffd"


def test_capture_decodes_byte_by_byte(tmp_path: Path) -> None:
    sink: list[str] = []
    capture = Capture("stdout", spec(tmp_path, "", output_cap=7), lambda s, t: sink.append(t))
    for byte in "a\u20ac\U0001f600x".encode():  # 1 + 3 + 4 + 1 bytes; the cap cuts the emoji
        capture.feed(bytes([byte]))
    capture.close()
    assert capture.truncated and capture.text() == "a\u20ac"
    assert "".join(sink) == "a\u20ac"
    assert (tmp_path / ".agent/runs/r1/s1.stdout").read_text() == "a\u20ac\U0001f600x"
