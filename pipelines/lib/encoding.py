"""CSV text encodings the contract allows: UTF-8, UTF-8 with BOM, GB18030 (Excel on Chinese Windows)."""

from __future__ import annotations

import codecs

from charset_normalizer import from_bytes

ALLOWED = ("utf_8", "gb18030")


class UndecodableFile(ValueError):
    pass


def decode_csv_bytes(data: bytes) -> tuple[str, str]:
    """Return (text, encoding name). Never asks: a BOM decides, then strict UTF-8, then the detector."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    # Not UTF-8: ask charset-normalizer, limited to the encodings the contract allows. GB2312 and GBK are
    # subsets of GB18030, so GB18030 decodes anything they would.
    best = from_bytes(data[:200_000], cp_isolation=list(ALLOWED)).best()
    candidates = [best.encoding] if best is not None else []
    candidates += [enc for enc in ALLOWED if enc not in candidates]
    for encoding in candidates:
        try:
            return data.decode(encoding), encoding.replace("_", "-")
        except UnicodeDecodeError:
            continue
    raise UndecodableFile("the file is neither UTF-8 nor GB18030; re-export it as UTF-8 CSV")
