"""The boto3 example of docs/kv.md runs as written against a real server."""

from __future__ import annotations

from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "kv.md"


def test_the_boto3_example_runs(kv_url: str) -> None:
    code = DOC.read_text().split("## boto3\n\n```python\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, object] = {}
    exec(code.replace("http://127.0.0.1:8000", kv_url), namespace)
    assert namespace["recent"][0]["amount"] == 9.5  # type: ignore[index]
