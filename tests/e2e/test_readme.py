"""The README's walkthrough, run as written (only its base URL changed) against the local stack."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

README = Path(__file__).resolve().parents[2] / "README.md"


def walkthrough() -> str:
    text = README.read_text()
    start = text.index("```sh\n", text.index("## Walkthrough")) + len("```sh\n")
    return text[start : text.index("\n```", start)]


def json_documents(output: str) -> list[dict[str, Any]]:
    """curl prints each answer without a newline: split the stream into its JSON documents."""
    decoder, documents, position = json.JSONDecoder(), [], 0
    while position < len(output):
        if output[position].isspace():
            position += 1
            continue
        document, position = decoder.raw_decode(output, position)
        documents.append(document)
    return documents


def test_the_walkthrough_runs_as_written(stack: Any) -> None:
    script = walkthrough().replace("BASE=http://127.0.0.1:3000", f"BASE={stack.url}", 1)
    assert f"BASE={stack.url}" in script

    run = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], capture_output=True, text=True, timeout=120, check=False
    )

    assert run.returncode == 0, run.stderr
    answers = json_documents(run.stdout)
    employees = [a for a in answers if a.get("employeeId") == "1001"]
    assert "error" not in json.dumps(answers)
    # registered, invited, resent, expired after the clock moved, granted again, revoked
    assert [e["access"]["status"] for e in employees] == [
        "not_activated",
        "invited",
        "invited",
        "not_activated",
        "invited",
        "not_activated",
    ]
    assert [e["access"]["invitation"] and e["access"]["invitation"]["status"] for e in employees] == [
        None,
        "pending",
        "pending",
        "expired",
        "pending",
        "revoked",
    ]
    outbox = next(a for a in answers if "messages" in a)
    assert re.search(r"/activate\?token=[A-Za-z0-9_-]{43}", outbox["messages"][-1]["text"])
