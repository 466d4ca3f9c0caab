"""The export's zip writer: what it writes is a zip every reader opens (zipfile, `unzip -t`), also
beyond the classic format's limits (ZIP64 for more than 65 535 entries), compressed or stored."""

import io
import shutil
import subprocess
import zipfile

import pytest

from integrations.erp import ziparchive


def _write(entries, **kw) -> bytes:
    buf = io.BytesIO()
    with ziparchive.StreamingZipWriter(buf, **kw) as zw:
        for name, data in entries:
            zw.writestr(name, data)
    return buf.getvalue()


@pytest.mark.parametrize("compression", [ziparchive.DEFLATED, ziparchive.STORED])
def test_entries_read_back_with_names_and_content(compression, tmp_path):
    xml = ("<Invoice>" + "<cbc:Name>Ærlig &amp; Sønn AS</cbc:Name>" * 200 + "</Invoice>").encode()
    entries = [("faktura-1.xml", xml), ("kreditnota-2.xml", b"<CreditNote/>"), ("bilag-æøå.xml", b""),
               ("faktura-3.xml", xml[::-1])]
    data = _write(entries, compression=compression)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.testzip() is None, "every CRC checks out"
        assert [(i.filename, zf.read(i)) for i in zf.infolist()] == entries
        big = zf.getinfo("faktura-1.xml")
        assert big.compress_type == compression
        if compression == ziparchive.DEFLATED:
            assert big.compress_size < big.file_size / 4
    if shutil.which("unzip"):
        path = tmp_path / "a.zip"
        path.write_bytes(data)
        out = subprocess.run(["unzip", "-t", str(path)], capture_output=True, text=True)
        assert out.returncode == 0 and "No errors detected" in out.stdout, out.stdout + out.stderr


def test_more_than_65535_entries_use_zip64(tmp_path):
    n = 70_000
    data = _write(((f"faktura-{i}.xml", b"<Invoice>%d</Invoice>" % i) for i in range(n)),
                  compression=ziparchive.STORED)
    assert b"PK\x06\x06" in data[-200:], "ZIP64 end of central directory record"
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        infos = zf.infolist()
        assert len(infos) == n
        assert infos[-1].filename == f"faktura-{n - 1}.xml"
        assert zf.read(infos[-1]) == b"<Invoice>%d</Invoice>" % (n - 1)
        assert zf.testzip() is None


def test_empty_archive_is_a_valid_zip():
    with zipfile.ZipFile(io.BytesIO(_write([]))) as zf:
        assert zf.namelist() == []
