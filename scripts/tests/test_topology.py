"""The topology diagram keeps its flow arrows off every text they could hide.

An arrow hides a text when it runs over it, unless a box or circle drawn
after the arrows covers both, as a host box, a packet filter box or a flow
number does. The check estimates each text's extent from its font size,
with more room than the layout reserves, and samples each arrow's curve.
"""

import xml.etree.ElementTree as ElementTree

import pytest

from conftest import lab_manifest
from mailgw_report import topology

SVG = "{http://www.w3.org/2000/svg}"
# Width of one character as a share of the font size: above the layout's
# own estimate, so that a near miss counts as a crossing.
CHAR_SHARE, BOLD_CHAR_SHARE = 0.64, 0.72
SAMPLES = 2000


def text_extent(element):
    """Return (left, top, right, bottom) of an SVG text element, estimated."""
    size = float(element.get("font-size"))
    share = BOLD_CHAR_SHARE if element.get("font-weight") == "bold" else CHAR_SHARE
    width = len(element.text or "") * size * share
    left = float(element.get("x"))
    if element.get("text-anchor") == "middle":
        left -= width / 2
    baseline = float(element.get("y"))
    return left - 1, baseline - 0.8 * size - 1, left + width + 1, baseline + 0.25 * size + 1


def cover_extent(element):
    """Return (left, top, right, bottom) of a rect or circle element."""
    if element.tag == SVG + "circle":
        x, y, radius = (float(element.get(name)) for name in ("cx", "cy", "r"))
        return x - radius, y - radius, x + radius, y + radius
    x, y = float(element.get("x")), float(element.get("y"))
    return x, y, x + float(element.get("width")), y + float(element.get("height"))


def curve_points(element):
    """Return points along the quadratic Bezier curve of an arrow's path."""
    start, control, end = [tuple(float(value) for value in pair.split(","))
                           for pair in element.get("d").lstrip("M").replace("Q", " ").split()]
    points = []
    for step in range(SAMPLES + 1):
        t = step / SAMPLES
        weights = ((1 - t) ** 2, 2 * (1 - t) * t, t * t)
        points.append((sum(weight * point[0] for weight, point in zip(weights, (start, control, end))),
                       sum(weight * point[1] for weight, point in zip(weights, (start, control, end)))))
    return points


def inside(extent, other):
    return other[0] <= extent[0] and other[1] <= extent[1] and extent[2] <= other[2] and extent[3] <= other[3]


def hidden_texts(svg):
    """Return (text, arrow number) for each text that an arrow runs over."""
    elements = list(ElementTree.fromstring(svg))
    arrows = [index for index, element in enumerate(elements)
              if element.tag == SVG + "path" and element.get("marker-end")]
    covers = [cover_extent(element) for element in elements[max(arrows) + 1:]
              if element.tag in (SVG + "rect", SVG + "circle")]
    found = []
    for element in elements:
        if element.tag != SVG + "text":
            continue
        extent = text_extent(element)
        if any(inside(extent, cover) for cover in covers):
            continue
        left, top, right, bottom = extent
        for number, index in enumerate(arrows, start=1):
            if any(left <= x <= right and top <= y <= bottom for x, y in curve_points(elements[index])):
                found.append((element.text, number))
    return found


@pytest.mark.parametrize("networks", [1, 2, 4])
def test_arrows_cross_no_text(networks):
    manifest = lab_manifest(networks)
    laid_out = topology.layout(manifest)

    svg = topology.svg(laid_out, manifest, "lab-%d" % networks)

    assert len(laid_out.flows) >= 8
    assert hidden_texts(svg) == []


def test_zone_lists_filter_addresses():
    manifest = lab_manifest(2)

    boxes = topology.layout(manifest).boxes

    assert boxes["zone:gateway_dmz"].lines == ["gateway_dmz", "172.29.1.0/24", "inner-pf 172.29.1.3",
                                               "outer-pf 172.29.1.2"]
    assert boxes["zone:ministry_lan"].lines == ["ministry_lan", "172.29.5.0/24", "inner-pf 172.29.5.2"]
    assert boxes["host:relay"].h >= boxes["zone:gateway_dmz"].h - 2 * topology.ZONE_PAD


def test_arrow_over_zone_text_is_found():
    """The check can fail: an arrow drawn through a zone's name is found."""
    svg = ('<svg xmlns="http://www.w3.org/2000/svg">'
           '<text x="20" y="40" font-size="13" font-weight="bold">gateway_dmz</text>'
           '<path d="M10,10 Q40,35 90,60" marker-end="url(#flow-arrow)"/>'
           '<circle cx="90" cy="60" r="9"/></svg>')

    assert hidden_texts(svg) == [("gateway_dmz", 1)]
