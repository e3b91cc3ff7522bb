"""`make bench` rewrites docs/performance.md's measured top and keeps what people wrote below it."""

from pathlib import Path

from bench.__main__ import NOTES, write_report


def test_the_notes_below_the_marker_survive_a_new_measurement(tmp_path: Path) -> None:
    out = tmp_path / "performance.md"
    write_report(out, "# Performance\n\n## 1. old table\n")
    out.write_text(out.read_text() + "\n## Findings\n\nThe process start is the lever.\n")

    write_report(out, "# Performance\n\n## 1. new table\n")

    text = out.read_text()
    assert "new table" in text and "old table" not in text
    assert text.index("new table") < text.index(NOTES) < text.index("The process start is the lever.")
    assert text.count(NOTES) == 1
