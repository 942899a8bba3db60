"""Decode the 8-bit RGB and RGBA PNG files that Chromium writes, with the
standard library only, for the screenshot test."""

import struct
import zlib

SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHANNELS = {2: 3, 6: 4}  # PNG colour type: channels per pixel


class Image:
    def __init__(self, width, height, channels, rows):
        self.width, self.height, self.channels, self.rows = width, height, channels, rows

    def pixel(self, x, y):
        """Return the (red, green, blue) of a pixel."""
        start = x * self.channels
        return tuple(self.rows[y][start:start + 3])


def _paeth(left, up, up_left):
    estimate = left + up - up_left
    distances = (abs(estimate - left), abs(estimate - up), abs(estimate - up_left))
    return (left, up, up_left)[distances.index(min(distances))]


def _unfilter(kind, row, previous, step):
    """Undo one scanline filter (PNG specification, section 9)."""
    out = bytearray(row)
    for index in range(len(out)):
        left = out[index - step] if index >= step else 0
        up = previous[index]
        up_left = previous[index - step] if index >= step else 0
        if kind == 1:
            out[index] = (out[index] + left) & 0xFF
        elif kind == 2:
            out[index] = (out[index] + up) & 0xFF
        elif kind == 3:
            out[index] = (out[index] + (left + up) // 2) & 0xFF
        elif kind == 4:
            out[index] = (out[index] + _paeth(left, up, up_left)) & 0xFF
    return out


def read(path):
    """Return the Image in a PNG file; raise ValueError for other formats."""
    data = open(path, "rb").read()
    if not data.startswith(SIGNATURE):
        raise ValueError("%s is not a PNG file" % path)
    position, chunks, header = len(SIGNATURE), [], None
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        body = data[position + 8:position + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            chunks.append(body)
        position += 12 + length
    width, height, depth, colour, _compression, _filter, interlace = header
    if depth != 8 or colour not in CHANNELS or interlace:
        raise ValueError("%s: only 8-bit RGB or RGBA PNG without interlacing is supported" % path)
    channels = CHANNELS[colour]
    raw = zlib.decompress(b"".join(chunks))
    stride = width * channels
    rows, previous = [], bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        previous = _unfilter(raw[start], raw[start + 1:start + 1 + stride], previous, channels)
        rows.append(previous)
    return Image(width, height, channels, rows)
