"""Messages from the trainer as a web user may see them: without the server's file paths (the
server's log and the run's files keep them) and in the page's words, not the command line's."""

from __future__ import annotations

import re

# An absolute or home-relative path of two parts or more, up to a space, quote or bracket.
SERVER_PATH = re.compile(r"(?<![\w.:/])~?/[^\s'\"()\[\],;:]+/[^\s'\"()\[\],;:]*")
PAGE_WORDS = {
    "without --pretrained": "with “Start from ImageNet weights” unticked",
    "--no-pretrained": "“Start from ImageNet weights” unticked",
    "--pretrained": "“Start from ImageNet weights”",
}


def public_text(text: str | None) -> str:
    """``text`` with each server path replaced by "a folder on the server" and each command
    line flag by the form's words."""
    if not text:
        return ""
    shown = SERVER_PATH.sub("a folder on the server", text)
    for flag, words in PAGE_WORDS.items():
        shown = shown.replace(flag, words)
    return shown
