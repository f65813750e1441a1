"""The docs name files that exist: a moved module must not leave README.md or docs/ pointing at
its old place. Checks repository paths (``bot/...``, ``tests/...``) and dotted ``bot.x.y``
module names; URL paths such as ``/webhooks/twilio/sms`` are not files and are skipped."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
_PATH = re.compile(r"(?<![/\w.])((?:bot|webhooks|scheduler|tests|bench|migrations|scripts)"
                   r"/[\w./*-]*\w/?)")
_MODULE = re.compile(r"`(bot(?:\.\w+)+)")


def missing(text: str, root: Path = ROOT) -> list[str]:
    gone = [p for p in _PATH.findall(text)
            if not (list(root.glob(p)) if "*" in p else (root / p).exists())]
    for dotted in _MODULE.findall(text):
        parts = dotted.split(".")
        if not any((root / "/".join(parts[:n])).with_suffix(".py").exists()
                   or (root / "/".join(parts[:n])).is_dir() for n in range(2, len(parts) + 1)):
            gone.append(dotted)
    return gone


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_docs_name_files_that_exist(doc: Path) -> None:
    assert missing(doc.read_text(encoding="utf-8")) == []


def test_the_check_finds_a_moved_file() -> None:
    text = ("`bot/timing.py`, `bot.escalation.severity_for`, POST /webhooks/twilio/sms, "
            "`bot/core/timing.py`, `bot.core.timing.local_to_utc`")
    assert missing(text) == ["bot/timing.py", "bot.escalation.severity_for"]
