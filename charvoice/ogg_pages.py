"""Give an Ogg file the stream serial number we choose, so equal audio gives equal bytes.

libsndfile picks each Ogg stream's serial number at random (ogg_stream_init with a random
int) and offers no way to set it, so the same line encoded on two machines, or twice, differed
in four bytes of every page and in every page's checksum: git and CDN caches saw a new file.
After encoding, every page's serial is set to one derived from the asset key, and each page's
CRC is computed again (Ogg's CRC-32: polynomial 0x04C11DB7, not bit-reflected, initial value
0, over the page with its CRC field zeroed; RFC 3533 section 6).
"""

from __future__ import annotations

import hashlib
import zlib

_REVERSED_BITS = bytes(int(f"{byte:08b}"[::-1], 2) for byte in range(256))
_HEADER = 27  # bytes before a page's segment table


def serial_for(key: str) -> int:
    """The stream serial number for an asset key (any string): 32 bits of its sha256."""
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:4], "little")


def ogg_crc(data: bytes) -> int:
    """Ogg's page checksum. Computed with zlib's (reflected) CRC-32 on bit-reversed bytes, then
    reversed back: the same polynomial, in C instead of a Python loop over every byte."""
    reflected = ~zlib.crc32(data.translate(_REVERSED_BITS), 0xFFFFFFFF) & 0xFFFFFFFF
    return int(f"{reflected:032b}"[::-1], 2)


def with_serial(data: bytes, serial: int) -> bytes:
    """`data` (one Ogg logical stream) with every page's serial set to `serial` and its CRC
    recomputed. Raises ValueError for anything else (a damaged file, a second stream)."""
    out = bytearray(data)
    at, first = 0, None
    while at < len(out):
        if out[at : at + 4] != b"OggS" or at + _HEADER > len(out):
            raise ValueError(f"no Ogg page at byte {at}")
        segments = out[at + 26]
        body = sum(out[at + _HEADER : at + _HEADER + segments])
        end = at + _HEADER + segments + body
        if end > len(out):
            raise ValueError(f"the Ogg page at byte {at} is cut short")
        old = bytes(out[at + 14 : at + 18])
        if first is None:
            first = old
        elif old != first:
            raise ValueError("more than one Ogg stream")
        out[at + 14 : at + 18] = serial.to_bytes(4, "little")
        out[at + 22 : at + 26] = b"\0\0\0\0"
        out[at + 22 : at + 26] = ogg_crc(bytes(out[at:end])).to_bytes(4, "little")
        at = end
    return bytes(out)
