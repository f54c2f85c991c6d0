"""Attachments named by a source invoice: checked when the source is read, before anything is
sent, so a push never stops half-way on a missing or oversized file.

Rules (docs/invoice-format.md): a path relative to the source file's folder (standard input:
the current folder), staying inside that folder after symbolic links are followed (a source
cannot make us upload `~/.ssh/id_rsa`), naming a non-empty regular file of a type invoicesync
attaches, at most `MAX_BYTES`, whose first bytes agree with its extension where the format has a
signature.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from pathlib import Path, PurePath

from invoicesync.models import Attachment
from invoicesync.sources.fields import Bad, safe

# The files invoicesync attaches: QuickBooks' Attachable limits (100 MB and the extensions below,
# as integrators document them for QuickBooks Online uploads; UNVERIFIED against Intuit's own
# page), the narrowest of the targets that take attachments. Each target judges again before
# anything is sent (its `attachment_problem`); a file refused there fails that invoice only.
MAX_BYTES = 100 * 1024 * 1024
CONTENT_TYPES = {
    "ai": "application/postscript",
    "csv": "text/csv",
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "eps": "application/postscript",
    "gif": "image/gif",
    "jpeg": "image/jpeg",
    "jpg": "image/jpeg",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "pages": "application/vnd.apple.pages",
    "pdf": "application/pdf",
    "png": "image/png",
    "rtf": "application/rtf",
    "tif": "image/tiff",
    "tiff": "image/tiff",
    "txt": "text/plain",
    "xls": "application/vnd.ms-excel",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "xml": "application/xml",
}
_ZIP = (b"PK\x03\x04",)
SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "pdf": (b"%PDF-",),
    "png": (b"\x89PNG\r\n\x1a\n",),
    "jpg": (b"\xff\xd8\xff",),
    "jpeg": (b"\xff\xd8\xff",),
    "gif": (b"GIF87a", b"GIF89a"),
    "tif": (b"II*\x00", b"MM\x00*"),
    "tiff": (b"II*\x00", b"MM\x00*"),
    "docx": _ZIP,
    "xlsx": _ZIP,
    "ods": _ZIP,
    "pages": _ZIP,
}
_CHUNK = 1024 * 1024


def check_attachment(name: str, base: Path | None) -> Attachment:
    """The checked attachment `name` (relative to `base`), or `Bad` saying what is wrong."""
    if base is None:
        raise Bad("attachments need a source file to be relative to")
    if PurePath(name).is_absolute() or name.startswith("~"):
        raise Bad(f"{safe(name)!r} must be a path relative to the source file's folder")
    ext = PurePath(name).suffix.lower().lstrip(".")
    if ext not in CONTENT_TYPES:
        raise Bad(
            f"{safe(name)!r}: invoicesync does not attach .{safe(ext) or '(none)'} files; "
            f"allowed: {', '.join(sorted(CONTENT_TYPES))}"
        )
    try:
        root = base.resolve(strict=True)
        path = (base / name).resolve(strict=True)
    except FileNotFoundError:
        raise Bad(_missing(name, base)) from None
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop on Python 3.11/3.12
        if isinstance(exc, RuntimeError) or exc.errno == errno.ELOOP:
            raise Bad(f"{safe(name)!r} is a symbolic link loop") from None
        raise Bad(f"{safe(name)!r} cannot be read: {exc.strerror}") from None
    if not path.is_relative_to(root):
        raise Bad(f"{safe(name)!r} is outside the source file's folder; move it into that folder")
    size, digest = _read(path, name, ext)
    return Attachment(name, path, size, CONTENT_TYPES[ext], digest)


def _missing(name: str, base: Path) -> str:
    if os.path.lexists(base / name):
        return f"{safe(name)!r} is a symbolic link to a file that does not exist"
    return f"{safe(name)!r} does not exist (looked in {safe(str(base))})"


def _read(path: Path, name: str, ext: str) -> tuple[int, str]:
    """Size and SHA-256 of a regular file; a FIFO or device is refused before it is read."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise Bad(f"{safe(name)!r} cannot be read: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as file:
        info = os.fstat(file.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise Bad(f"{safe(name)!r} is not a regular file (a FIFO, device or socket)")
        if info.st_size == 0:
            raise Bad(f"{safe(name)!r} is empty")
        if info.st_size > MAX_BYTES:
            raise Bad(
                f"{safe(name)!r} is {info.st_size / 1024 / 1024:.1f} MiB; invoicesync attaches "
                f"files up to {MAX_BYTES // 1024 // 1024} MiB"
            )
        head = file.read(_CHUNK)
        if ext in SIGNATURES and not head.startswith(SIGNATURES[ext]):
            raise Bad(f"{safe(name)!r} is not a .{ext} file (its first bytes say otherwise)")
        digest = hashlib.sha256(head)
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
    return info.st_size, digest.hexdigest()
