"""A progress line for long loops: rewritten in place on a terminal, plain lines in a log file."""

import sys


class ProgressLine:
    """`<label>: done/total <unit><note>`, without terminal escape codes.

    On a terminal the line is rewritten in place (`\\r`); otherwise (a log file, a pipe) a plain
    line is printed at each tenth of `total` and at the end, so logs stay short and readable.

    Args:
        total: the number of items.
        label: what is being done (`"predict"`, `"decoding"`).
        unit: the items' name (`"images"`).
        stream: where the line goes (default `sys.stdout`, looked up at each call).
    """

    def __init__(self, total, label, unit="images", stream=None):
        self.total, self.label, self.unit, self.stream = total, label, unit, stream
        self.step, self.printed = max(1, total // 10), 0

    def show(self, done, note="", final=False):
        """Reports `done` items (and `note`, e.g. `" (1 unreadable)"`); `final` ends the line."""
        stream = self.stream or sys.stdout
        line = f"{self.label}: {done}/{self.total} {self.unit}{note}"
        if stream.isatty():
            print("\r" + line, end="\n" if final else "", file=stream, flush=True)
        elif done >= self.printed + self.step or (final and done != self.printed):
            print(line, file=stream, flush=True)
            self.printed = done
