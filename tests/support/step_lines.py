"""Waiting until a launcher subprocess has trained a few steps, read from its `--log_every_steps=1`
lines (`stage 1 step 3/150: ...`), so a test sends its signal while a stage trains on a machine of
any speed, instead of sleeping for a guessed time."""

import os
import re
import time


def _reached(text, stage, step):
    found = re.findall(rf"^stage {stage} step (\d+)/", text, flags=re.MULTILINE)
    return bool(found) and int(found[-1]) >= step


def read_until_step(stream, stage, step):
    """Reads lines of a text pipe until its process logs `step` of `stage`; returns the text read
    (the process's end of output, when it exits before)."""
    text = ""
    for line in iter(stream.readline, ""):
        text += line
        if _reached(text, stage, step):
            break
    return text


def wait_for_step_in_file(log, stage, step, processes, timeout):
    """Waits until the open file `log` (written by a child process) holds the line of `step` of
    `stage`, one of `processes` has exited, or `timeout` seconds have passed; reads with `pread`,
    so the file offset the child writes at is left alone. Returns whether the step was reached."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        size = os.fstat(log.fileno()).st_size
        if _reached(os.pread(log.fileno(), size, 0).decode(errors="replace"), stage, step):
            return True
        if any(process.poll() is not None for process in processes):
            return False
        time.sleep(0.1)
    return False
