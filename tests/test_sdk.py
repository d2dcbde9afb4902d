"""
C{python -m ofx sdk fetch}: choosing the SDK files out of the archive,
checking its sha256, and finding it in a package index. No network: the
archives are built here and the index is a fake opener.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import tarfile
from contextlib import redirect_stderr
from typing import Any

from twisted.trial.unittest import TestCase

from ofx import sdk

API = sdk.API_DIR
HEADERS = ("xtp_trader_api.h", "xtp_quote_api.h", "xtp_api_struct.h")


def make_archive(entries: dict[str, bytes], links: dict[str, str] | None = None) -> bytes:
    """A tar.gz holding C{entries} (name → bytes) and symlinks (name → target)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tar.addfile(info)
    return buffer.getvalue()


def sdk_entries() -> dict[str, bytes]:
    """The files a good archive has, plus decoys that must not be unpacked."""
    entries = {
        API + "libxtptraderapi.so": b"\x7fELF trader",
        API + "libxtpquoteapi.so": b"\x7fELF quote",
        API + "xtptraderapi.dll": b"MZ windows",
        API + "xtp_constant.py": b"x = 1",
        API + "include/xtp/sub/deeper.h": b"// not flat",
        API + "include/xtp/.hidden.h": b"// hidden",
        "vnpy_xtp-2.2.32.2.3/setup.py": b"setup()",
        "other/include/xtp/xtp_trader_api.h": b"// wrong place",
    }
    for name in HEADERS:
        entries[API + "include/xtp/" + name] = f"// {name}".encode()
    return entries


class FakeResponse:
    """Enough of an HTTP response for L{sdk.download}."""

    def __init__(self, body: bytes, content_type: str, url: str) -> None:
        self.body = body
        self.headers = {"Content-Type": content_type}
        self.url = url

    def read(self) -> bytes:
        return self.body

    def geturl(self) -> str:
        return self.url

    def __enter__(self) -> FakeResponse:
        return self

    def __exit__(self, *args: Any) -> None:
        pass


class FakeIndex:
    """An opener serving one project page and one archive, recording requests."""

    def __init__(self, archive: bytes, declared: str | None, html: bool = False) -> None:
        self.archive = archive
        self.declared = declared
        self.html = html
        self.requests: list[Any] = []

    def __call__(self, request: Any) -> FakeResponse:
        url = request.full_url
        self.requests.append(request)
        if url == "https://index.example/simple/vnpy-xtp/":
            if self.html:
                fragment = f"#sha256={self.declared}" if self.declared else ""
                body = f'<html><a href="../../files/{sdk.FILENAME}{fragment}">x</a></html>'
                return FakeResponse(body.encode(), "text/html", url)
            files = [{"filename": "vnpy_xtp-2.2.27.4.tar.gz", "url": "/files/old.tar.gz", "hashes": {}}]
            hashes = {"sha256": self.declared} if self.declared else {}
            files.append({"filename": sdk.FILENAME, "url": f"/files/{sdk.FILENAME}", "hashes": hashes})
            return FakeResponse(json.dumps({"files": files}).encode(), sdk.JSON_TYPE, url)
        if url == f"https://index.example/files/{sdk.FILENAME}":
            return FakeResponse(self.archive, "application/octet-stream", url)
        raise OSError(f"404 {url}")


class ExtractTests(TestCase):
    """Only the two libraries and the flat include/xtp headers are unpacked."""

    def test_selection(self) -> None:
        """
        From an archive with decoys (a DLL, Python files, nested or hidden
        headers, files outside vnpy_xtp/api), exactly the libraries and the
        include/xtp/*.h headers are written, with their contents.
        """
        dest = self.mktemp()
        written = sdk.extract(make_archive(sdk_entries()), dest)
        expected = sorted(["libxtptraderapi.so", "libxtpquoteapi.so"] + ["include/xtp/" + h for h in HEADERS])
        self.assertEqual(written, expected)
        found = sorted(
            os.path.relpath(os.path.join(root, f), dest).replace(os.sep, "/")
            for root, _, files in os.walk(dest)
            for f in files
        )
        self.assertEqual(found, expected)
        with open(os.path.join(dest, "libxtpquoteapi.so"), "rb") as f:
            self.assertEqual(f.read(), b"\x7fELF quote")

    def test_modes(self) -> None:
        """Libraries are written executable (0755), headers 0644."""
        dest = self.mktemp()
        sdk.extract(make_archive(sdk_entries()), dest)
        lib = stat.S_IMODE(os.stat(os.path.join(dest, "libxtptraderapi.so")).st_mode)
        header = stat.S_IMODE(os.stat(os.path.join(dest, "include", "xtp", HEADERS[0])).st_mode)
        self.assertEqual((lib, header), (0o755, 0o644))

    def test_symlink_not_followed(self) -> None:
        """A symlink named like a library is not a file and does not count."""
        entries = sdk_entries()
        del entries[API + "libxtpquoteapi.so"]
        archive = make_archive(entries, links={API + "libxtpquoteapi.so": "/etc/passwd"})
        e = self.assertRaises(sdk.FetchError, sdk.extract, archive, self.mktemp())
        self.assertIn("libxtpquoteapi.so", str(e))

    def test_missing_headers(self) -> None:
        """An archive without include/xtp headers is refused."""
        entries = {k: v for k, v in sdk_entries().items() if "include/xtp/xtp" not in k}
        e = self.assertRaises(sdk.FetchError, sdk.extract, make_archive(entries), self.mktemp())
        self.assertIn("include/xtp headers", str(e))

    def test_not_an_archive(self) -> None:
        """Bytes that are not a gzip tar raise FetchError, not a traceback."""
        self.assertRaises(sdk.FetchError, sdk.extract, b"not a tarball", self.mktemp())


class FetchTests(TestCase):
    """Finding, checking and unpacking the archive."""

    def setUp(self) -> None:
        self.archive = make_archive(sdk_entries())
        self.sha = hashlib.sha256(self.archive).hexdigest()
        self.lines: list[str] = []

    def fetch(self, dest: str, opener: Any, **kw: Any) -> list[str]:
        return sdk.fetch(
            dest, "https://index.example/simple/", opener=opener, say=self.lines.append, sha256=self.sha, **kw
        )

    def test_pinned_hash(self) -> None:
        """The pinned hash is the published sha256 of vnpy_xtp-2.2.32.2.3.tar.gz."""
        self.assertEqual(sdk.FILENAME, "vnpy_xtp-2.2.32.2.3.tar.gz")
        self.assertEqual(sdk.SHA256, "939839e696b35bdc5989e0cd09b94e964fbb9e534949da16ea4d6719c867409e")

    def test_sha256_rejects(self) -> None:
        """check_sha256 refuses data whose hash differs, naming both hashes."""
        e = self.assertRaises(sdk.FetchError, sdk.check_sha256, b"wrong", self.sha)
        self.assertIn(self.sha, str(e))
        self.assertIn(hashlib.sha256(b"wrong").hexdigest(), str(e))

    def test_fetch_json_index(self) -> None:
        """fetch finds the file in a JSON simple index, downloads, checks and unpacks it."""
        dest = self.mktemp()
        index = FakeIndex(self.archive, self.sha)
        written = self.fetch(dest, index)
        self.assertIn("libxtptraderapi.so", written)
        self.assertEqual(index.requests[0].get_header("Accept").split(",")[0], sdk.JSON_TYPE)
        self.assertTrue(sdk.is_fetched(dest, self.sha))

    def test_fetch_html_index(self) -> None:
        """fetch also reads a PEP 503 HTML page, relative links and #sha256 fragment."""
        dest = self.mktemp()
        self.fetch(dest, FakeIndex(self.archive, self.sha, html=True))
        self.assertTrue(os.path.isfile(os.path.join(dest, "libxtpquoteapi.so")))

    def test_wrong_archive(self) -> None:
        """A downloaded archive whose sha256 is not the pinned one is refused and nothing is written."""
        dest = self.mktemp()
        other = make_archive({**sdk_entries(), API + "extra": b"x"})
        self.assertRaises(sdk.FetchError, self.fetch, dest, FakeIndex(other, None))
        self.assertFalse(os.path.exists(dest))

    def test_index_declares_other_hash(self) -> None:
        """An index listing the file with a different sha256 is refused before downloading."""
        index = FakeIndex(self.archive, "0" * 64)
        self.assertRaises(sdk.FetchError, self.fetch, self.mktemp(), index)
        self.assertEqual(len(index.requests), 1)

    def test_not_in_index(self) -> None:
        """An index without the archive gives one clear FetchError."""

        def opener(request: Any) -> FakeResponse:
            return FakeResponse(json.dumps({"files": []}).encode(), sdk.JSON_TYPE, request.full_url)

        e = self.assertRaises(sdk.FetchError, self.fetch, self.mktemp(), opener)
        self.assertIn("no vnpy_xtp-2.2.32.2.3.tar.gz", str(e))

    def test_network_error(self) -> None:
        """A network failure is a FetchError naming the index."""

        def opener(request: Any) -> FakeResponse:
            raise OSError("connection refused")

        e = self.assertRaises(sdk.FetchError, self.fetch, self.mktemp(), opener)
        self.assertIn("https://index.example/simple/", str(e))

    def test_already_fetched(self) -> None:
        """A second fetch into the same directory does nothing (no request) unless forced."""
        dest = self.mktemp()
        self.fetch(dest, FakeIndex(self.archive, self.sha))
        index = FakeIndex(self.archive, self.sha)
        self.assertEqual(self.fetch(dest, index), [])
        self.assertEqual(index.requests, [])
        self.assertNotEqual(self.fetch(dest, index, force=True), [])

    def test_local_archive(self) -> None:
        """--archive unpacks a local copy, still checked against the hash."""
        path = self.mktemp()
        with open(path, "wb") as f:
            f.write(self.archive)
        dest = self.mktemp()
        self.fetch(dest, FakeIndex(b"", None), archive=path)
        self.assertTrue(sdk.is_fetched(dest, self.sha))


class MainTests(TestCase):
    """The command line."""

    def test_bad_archive_exit(self) -> None:
        """A local archive with the wrong hash exits 1 with one line on stderr."""
        path = self.mktemp()
        with open(path, "wb") as f:
            f.write(make_archive(sdk_entries()))
        err = io.StringIO()
        with redirect_stderr(err):
            code = sdk.main(["fetch", "--dest", self.mktemp(), "--archive", path, "--quiet"])
        self.assertEqual(code, 1)
        self.assertEqual(len(err.getvalue().splitlines()), 1)
        self.assertIn("sha256", err.getvalue())

    def test_no_command(self) -> None:
        """Without a subcommand, usage is printed and the exit status is 2."""
        err = io.StringIO()
        with redirect_stderr(err):
            e = self.assertRaises(SystemExit, sdk.main, [])
        self.assertEqual(e.code, 2)
