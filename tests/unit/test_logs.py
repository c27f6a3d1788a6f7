"""daemon.log is JSON lines whoever writes: non-propagating library loggers, warnings, and raw writes to stderr
(an uncaught traceback included) of a detached daemon."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PROGRAM = """
import logging, os, sys, warnings
from pathlib import Path
from ecco.logs import capture_stderr, setup_logging
setup_logging(Path(sys.argv[1]), "info")
capture_stderr()
quiet = logging.getLogger("libp2p")
quiet.propagate = False  # what py-libp2p does at import
logging.getLogger("libp2p.host").error("Failed to open stream to peer X:\\n  Error: nope")
warnings.warn("old API")
os.write(2, b"from C: line one\\nline two\\n")
print("a stray print", file=sys.stderr)
raise RuntimeError("boom")
"""


def test_every_line_is_one_json_object(tmp_path: Path) -> None:
    log_file = tmp_path / "daemon.log"
    done = subprocess.run([sys.executable, "-c", PROGRAM, str(log_file)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and done.stderr == ""
    entries = [json.loads(line) for line in log_file.read_text().splitlines()]
    messages = "\n".join(entry["msg"] for entry in entries)
    for expected in ("Failed to open stream to peer X:\n  Error: nope", "old API", "line one\nline two", "a stray"):
        assert expected in messages
    # The traceback is written line by line; the reader may log it as one record or several, but all of it, in order.
    stderr_text = "\n".join(entry["msg"] for entry in entries if entry["logger"] == "stderr")
    assert 0 <= stderr_text.find("Traceback (most recent call last)") < stderr_text.find("RuntimeError: boom")
