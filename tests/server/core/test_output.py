"""Output coalescing on an injected clock and timer: a bounded rate, oldest first, a prefix of the
final output, and nothing sent while the connection is congested."""

from __future__ import annotations

from collections.abc import Callable

from server.core.output import BURST, RATE_PER_SECOND, OutputCoalescer

Sent = list[tuple[str, str, str]]


class FakeTime:
    """A clock and a call_later that only move when the test says so."""

    def __init__(self) -> None:
        self.now = 100.0
        self.timers: list[tuple[float, Callable[[], None], FakeTimer]] = []

    def __call__(self) -> float:
        return self.now

    def call_later(self, delay: float, callback: Callable[[], None]) -> FakeTimer:
        timer = FakeTimer()
        self.timers.append((self.now + delay, callback, timer))
        return timer

    def advance(self, seconds: float) -> None:
        """Move the clock, firing due timers in order (a timer may schedule another)."""
        end = self.now + seconds
        while True:
            due = [t for t in self.timers if t[0] <= end and not t[2].cancelled]
            if not due:
                break
            first = min(due, key=lambda t: t[0])
            self.timers.remove(first)
            self.now = max(self.now, first[0])
            first[1]()
        self.now = end


class FakeTimer:
    cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class FakeOutbox:
    def __init__(self) -> None:
        self.congested = False
        self.waiting: list[Callable[[], None]] = []

    def when_clear(self, callback: Callable[[], None]) -> None:
        self.waiting.append(callback)

    def clear(self) -> None:
        self.congested = False
        callbacks, self.waiting = self.waiting, []
        for callback in callbacks:
            callback()


def coalescer(sent: Sent, time: FakeTime, **extra: object) -> OutputCoalescer:
    return OutputCoalescer(
        lambda *args: sent.append(args),
        clock=time,
        call_later=time.call_later,
        **extra,  # type: ignore[arg-type]
    )


def test_tokens_go_oldest_first_and_the_rest_is_dropped_at_the_end() -> None:
    sent: Sent = []
    time = FakeTime()
    out = OutputCoalescer(
        lambda *args: sent.append(args), burst=2, clock=time, call_later=time.call_later
    )
    for step_id in ("a", "b", "c"):
        out.add(step_id, "stdout", f"{step_id}1 ")
    out.add("a", "stdout", "a2 ")
    out.finish_step("c")  # the bucket starts full (2 tokens): c's text goes at once
    assert sent == [("c", "stdout", "c1 ")]
    time.advance(0)  # the timer is due at once: one token left, the oldest buffer goes
    assert sent[1:] == [("a", "stdout", "a1 a2 ")]
    out.finish_step("b")  # no token: b's text is left to its final agent/stepUpdated
    assert len(sent) == 2 and out.withheld == 1
    time.now += 1.5 / RATE_PER_SECOND  # one token back
    out.add("d", "stderr", "d1")
    out.close()
    assert sent[2:] == [("d", "stderr", "d1")]
    assert out.sent == 3


def test_the_rate_in_any_second_is_bounded_and_nobody_starves() -> None:
    sent: Sent = []
    time = FakeTime()
    times: list[float] = []

    def send(step_id: str, stream: str, text: str) -> None:
        sent.append((step_id, stream, text))
        times.append(time.now)

    out = OutputCoalescer(send, clock=time, call_later=time.call_later)
    began = time.now
    while time.now - began < 3.0:  # a flood: four steps print every millisecond for 3 s
        for step_id in ("s1", "s2", "s3", "s4"):
            out.add(step_id, "stdout", "x")
        time.advance(0.001)
    out.close()
    busiest = max(sum(1 for u in times if t <= u < t + 1.0) for t in times)
    assert busiest <= RATE_PER_SECOND + BURST, busiest
    assert len(sent) >= 2 * RATE_PER_SECOND  # the budget is used, not wasted
    assert {step_id for step_id, _, _ in sent} == {"s1", "s2", "s3", "s4"}


def test_deltas_are_a_prefix_of_the_output() -> None:
    sent: Sent = []
    time = FakeTime()
    out = OutputCoalescer(
        lambda *args: sent.append(args), burst=1, rate=1, clock=time, call_later=time.call_later
    )
    text = [f"line {i}\n" for i in range(50)]
    for i, line in enumerate(text):
        out.add("s1", "stdout", line)
        if i % 7 == 0:
            time.advance(0.5)
    out.finish_step("s1")
    delivered = "".join(t for _, _, t in sent)
    assert "".join(text).startswith(delivered) and delivered


def test_nothing_is_sent_while_congested_and_it_resumes_when_clear() -> None:
    sent: Sent = []
    time = FakeTime()
    outbox = FakeOutbox()
    out = coalescer(sent, time, backpressure=outbox)
    outbox.congested = True
    out.add("s1", "stdout", "a")
    time.advance(1.0)
    out.add("s1", "stdout", "b")
    time.advance(1.0)
    assert sent == [] and len(outbox.waiting) == 1  # waits once, however long it lasts
    outbox.clear()
    time.advance(0)
    assert sent == [("s1", "stdout", "ab")]  # what waited went out coalesced


def test_a_step_that_ends_while_congested_drops_its_deltas() -> None:
    sent: Sent = []
    time = FakeTime()
    outbox = FakeOutbox()
    out = coalescer(sent, time, backpressure=outbox)
    outbox.congested = True
    out.add("s1", "stdout", "lost as a delta, kept in the final stepUpdated")
    out.finish_step("s1")
    outbox.clear()
    time.advance(1.0)
    assert sent == [] and out.withheld == 1
