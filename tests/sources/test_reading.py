"""Where a source's text comes from: empty files, standard input, FIFOs, devices, sockets and
symbolic links. Each is a clear exit-8 error or a correct read, never a hang or a traceback."""

from __future__ import annotations

import gc
import io
import json
import os
import socket
import sys
from pathlib import Path
from typing import Any

import pytest

from invoicesync.errors import SourceError
from invoicesync.sources import open_source, validate
from invoicesync.sources.csv_format import write_csv
from tests.sources.test_sources import good

CSV_HEADER = "number,customer_name,issue_date,currency,service,quantity,unit_price\n"
CSV_ROW = "INV-1,Acme Localization Inc.,2026-10-01,USD,Translation,100,0.12\n"


def error_of(path: Path) -> SourceError:
    with pytest.raises(SourceError) as info:
        open_source(path).invoices()
    assert info.value.exit_code == 8
    return info.value


def everything(error: SourceError) -> str:
    return "\n".join([error.message, *error.details])


@pytest.mark.parametrize("name", ["x.json", "x.csv", "x.jsonl"])
@pytest.mark.parametrize(
    ("content", "what"),
    [(b"", "file is empty"), (b" \n\t\r\n", "file is blank (only white space)")],
)
def test_empty_and_blank_files_fail_loudly(
    tmp_path: Path, name: str, content: bytes, what: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    error = error_of(path)
    assert error.details == [f"{path}: {what}; a complete export has at least a header or []"]
    assert "nothing was sent" in error.message


def test_an_empty_file_in_a_folder_is_listed_with_the_other_problems(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(json.dumps([good()]))
    (tmp_path / "b.csv").write_bytes(b"")
    (tmp_path / "c.json").write_text(json.dumps([good(number="INV-2", currency="usd")]))
    error = error_of(tmp_path)
    assert len(error.details) == 2
    assert error.details[0].startswith(f"{tmp_path / 'b.csv'}: file is empty")
    assert "currency: 'usd'" in error.details[1]


def test_header_only_csv_and_empty_array_mean_no_invoices(tmp_path: Path) -> None:
    (tmp_path / "h.csv").write_text(CSV_HEADER)
    (tmp_path / "e.json").write_text("[]")
    assert open_source(tmp_path / "h.csv").invoices() == []
    assert open_source(tmp_path / "e.json").invoices() == []


class FakeStdin(io.TextIOWrapper):
    def __init__(self, data: bytes, tty: bool = False) -> None:
        super().__init__(io.BytesIO(data), encoding="utf-8")
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


def from_stdin(monkeypatch: pytest.MonkeyPatch, data: bytes, tty: bool = False) -> Any:
    monkeypatch.setattr(sys, "stdin", FakeStdin(data, tty))
    return open_source(Path("-"))


@pytest.mark.parametrize(
    "data",
    [
        json.dumps([good(), good(number="INV-2")]).encode(),
        (json.dumps(good()) + "\n" + json.dumps(good(number="INV-2")) + "\n").encode(),
        (CSV_HEADER + CSV_ROW + CSV_ROW.replace("INV-1", "INV-2")).encode(),
        "\ufeff".encode() + json.dumps([good(), good(number="INV-2")], indent=2).encode(),
    ],
    ids=["json array", "json lines", "csv", "bom and indented json"],
)
def test_stdin_is_read_with_dash(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    source = from_stdin(monkeypatch, data)
    assert [i.number for i in source.invoices()] == ["INV-1", "INV-2"]
    assert source.invoices()[0].origin.startswith("<stdin>:")


def test_stdin_single_object_and_its_problems_name_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    assert len(from_stdin(monkeypatch, json.dumps(good(), indent=1).encode()).invoices()) == 1
    with pytest.raises(SourceError) as info:
        from_stdin(monkeypatch, json.dumps(good(currency="usd"), indent=1).encode()).invoices()
    assert info.value.details[0].startswith("<stdin>:7: invoice INV-1: currency:")


@pytest.mark.parametrize(
    ("data", "tty", "message"),
    [
        (b"", False, "<stdin>: file is empty"),
        (b"  \n", False, "<stdin>: file is blank"),
        (b"", True, "--source -: standard input is a terminal; pipe the invoices in"),
    ],
)
def test_stdin_empty_or_terminal_is_refused(
    monkeypatch: pytest.MonkeyPatch, data: bytes, tty: bool, message: str
) -> None:
    with pytest.raises(SourceError) as info:
        from_stdin(monkeypatch, data, tty).invoices()
    assert message in everything(info.value)


def test_a_fifo_is_refused_not_waited_on(tmp_path: Path) -> None:
    fifo = tmp_path / "export.json"
    os.mkfifo(fifo)
    error = error_of(fifo)  # returns at once: no writer ever opens this FIFO
    assert (
        f"{fifo}: a FIFO, device or socket, not a regular file; to read a pipe use --source -"
        in (everything(error))
    )
    (tmp_path / "good.json").write_text(json.dumps([good()]))
    assert "a FIFO, device or socket" in everything(error_of(tmp_path))


def test_a_device_is_refused(tmp_path: Path) -> None:
    error = error_of(Path(os.devnull))
    assert "a FIFO, device or socket, not a regular file" in everything(error)


def test_a_socket_in_a_folder_is_refused(tmp_path: Path) -> None:
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(tmp_path / "s.csv"))
        assert "a FIFO, device or socket" in everything(error_of(tmp_path))
    finally:
        server.close()


def test_symlink_loop_and_dangling_link_are_named(tmp_path: Path) -> None:
    loop = tmp_path / "loop.json"
    loop.symlink_to(tmp_path / "loop.json")
    assert error_of(loop).message == f"{loop}: a symbolic link loop; fix the link"
    dangling = tmp_path / "gone.json"
    dangling.symlink_to(tmp_path / "missing.json")
    assert error_of(dangling).message == (
        f"{dangling}: a symbolic link to {tmp_path / 'missing.json'}, which does not exist"
    )
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "a.json").symlink_to(folder / "a.json")
    assert "a symbolic link loop" in everything(error_of(folder))


def test_a_symlink_to_a_good_file_is_read(tmp_path: Path) -> None:
    (tmp_path / "real.csv").write_text(CSV_HEADER + CSV_ROW)
    (tmp_path / "link.csv").symlink_to(tmp_path / "real.csv")
    assert [i.number for i in open_source(tmp_path / "link.csv").invoices()] == ["INV-1"]


def test_file_names_with_control_characters_are_escaped_in_messages(tmp_path: Path) -> None:
    path = tmp_path / "bad\x1b[31mname.json"
    path.write_text("")
    error = error_of(path)
    assert "\x1b" not in everything(error)
    assert "bad\\x1b[31mname.json: file is empty" in everything(error)


def test_csv_round_trip_through_stdin(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text(json.dumps([good(), good(number="INV-2", type="credit_note")]))
    invoices = open_source(path).invoices()
    assert from_stdin(monkeypatch, write_csv(invoices).encode()).invoices() == invoices


@pytest.mark.parametrize("enabled", [True, False])
def test_the_garbage_collector_is_restored_after_a_load_even_a_failed_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, enabled: bool
) -> None:
    """Bulk parsing runs with the collector off; it must come back as it was."""
    good_path, bad_path = tmp_path / "good.json", tmp_path / "bad.json"
    good_path.write_text(json.dumps([good()]))
    bad_path.write_text('[{"number": ')
    seen: list[bool] = []
    real_add = validate.Validator.add

    def spy(self: validate.Validator, records: Any, base: Any) -> None:
        seen.append(gc.isenabled())
        real_add(self, records, base)

    monkeypatch.setattr(validate.Validator, "add", spy)
    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        assert len(open_source(good_path).invoices()) == 1
        assert gc.isenabled() is enabled
        with pytest.raises(SourceError):
            open_source(bad_path).invoices()
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()
    assert seen == [False, False]  # off while parsing and validating


def test_a_large_source_is_kept_out_of_later_collections(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From FREEZE_FROM invoices on, what was loaded is frozen (`invoices` over
    100,000 spent a quarter of its time in collections rescanning them); below, it is not."""
    import invoicesync.sources as sources

    path = tmp_path / "two.json"
    path.write_text(json.dumps([good(), {**good(), "number": "INV-2"}]))
    frozen = gc.get_freeze_count()
    monkeypatch.setattr(sources, "FREEZE_FROM", 3)
    try:
        assert len(open_source(path).invoices()) == 2
        assert gc.get_freeze_count() == frozen
        monkeypatch.setattr(sources, "FREEZE_FROM", 2)
        assert len(open_source(path).invoices()) == 2
        assert gc.get_freeze_count() > frozen
    finally:
        gc.unfreeze()


def test_a_large_source_is_frozen_before_the_collector_comes_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Frozen while the collector is still off: enabled first, its next collection would scan
    every object the load made (0.1 s over 100,000 invoices) just before they are frozen."""
    import invoicesync.sources as sources

    path = tmp_path / "two.json"
    path.write_text(json.dumps([good(), {**good(), "number": "INV-2"}]))
    seen: list[bool] = []
    real_freeze = gc.freeze
    monkeypatch.setattr(gc, "freeze", lambda: (seen.append(gc.isenabled()), real_freeze())[1])
    monkeypatch.setattr(sources, "FREEZE_FROM", 2)
    was = gc.isenabled()
    gc.enable()
    try:
        assert len(open_source(path).invoices()) == 2
        assert gc.isenabled()
    finally:
        gc.unfreeze()
        (gc.enable if was else gc.disable)()
    assert seen == [False]
