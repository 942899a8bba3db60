"""Draw the tested topology as SVG: zones as boxes with their hosts, packet
filters between the zones they join, and the allowed flows as numbered
arrows.

Each zone writes its name, address ranges and the address of each packet
filter in it in a column left of its hosts, level with the host boxes.
Arrows end on the top or bottom edge of a host or zone box, so none of
them crosses that text (scripts/tests/test_topology.py checks the lab with
1, 2 and 4 networks). NOTE: an arrow between zones two tiers apart would
pass through the zones between them and their text, but the lab has no such
flow.

The input is the lab manifest (playbooks/lab/manifest.yml writes it): zones,
host addresses, names, networks and the flows. A manifest written before the
flows were part of it gets its flows from plugins/filter/topology.py, the
same filter the inventory uses.
"""

import dataclasses
import html
import importlib.util
import ipaddress

from .catalogue import REPOSITORY

MARGIN = 24
HOST_W, HOST_H = 180, 56
FILTER_W, FILTER_H = 180, 42
GAP = 16
ZONE_GAP = 40
ZONE_PAD = 14
TIER_GAP = 84
# Text lines in zone and host boxes: the first baseline below the box's
# top, the distance between baselines, and the room below the last one.
FIRST_BASELINE, LINE_STEP, LINE_DESCENT = 18, 15, 6
# Width of one character as a share of the font size: an estimate for
# DejaVu Sans, the SVG's first font, used only to size the zone boxes.
CHAR_SHARE, BOLD_CHAR_SHARE = 0.6, 0.66
# How far an arrow between boxes of one row dips below them.
DIP = 56

# Colours; the screenshot test looks for ZONE_FILL and FILTER_FILL.
ZONE_FILL, ZONE_STROKE = "#e3eefa", "#5b7fa8"
HOST_FILL, HOST_STROKE = "#ffffff", "#334155"
FILTER_FILL, FILTER_TEXT = "#1e3a5f", "#ffffff"
LINK_COLOUR = "#94a3b8"
FLOW_COLOUR = "#c2410c"


class TopologyError(ValueError):
    """The manifest lacks what the diagram needs."""


@dataclasses.dataclass
class Box:
    key: str
    kind: str
    lines: list
    x: float = 0
    y: float = 0
    w: float = 0
    h: float = 0

    @property
    def centre(self):
        return self.x + self.w / 2, self.y + self.h / 2


@dataclasses.dataclass
class Flow:
    number: int
    name: str
    source: str
    target: str
    sources: list
    targets: list
    ports: str


@dataclasses.dataclass
class Topology:
    boxes: dict
    filters: dict
    flows: list
    width: float
    height: float


def _ordered_zones(manifest):
    """Return the zone names: each network's mail DMZ and LAN in network
    order after the gateway zones, then any other zone by name."""
    zones = list(manifest.get("zones") or {})
    ordered = [name for name in ("internet", "gateway_dmz") if name in zones]
    for network in manifest.get("networks") or []:
        ordered += [name for name in (network["name"] + "_mail_dmz", network["name"] + "_lan")
                    if name in zones and name not in ordered]
    return ordered + sorted(name for name in zones if name not in ordered)


def _load_filter_plugin():
    path = REPOSITORY / "plugins" / "filter" / "topology.py"
    spec = importlib.util.spec_from_file_location("mailgw_topology_filters", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except ImportError as error:
        raise TopologyError("the manifest lists no flows, and %s, which derives them, needs Ansible: %s"
                            % (path, error)) from error
    return module


def manifest_flows(manifest):
    """Return the manifest's flows, or derive them from its networks."""
    if manifest.get("flows"):
        return manifest["flows"]
    plugin = _load_filter_plugin()
    hostvars = {host: {"topology_interfaces": interfaces}
                for host, interfaces in manifest["addresses"].items()}
    # NOTE: such a manifest does not name the relay's DNS servers, so the
    # derived flows lack the relay's DNS flows.
    return plugin.topology_flows(manifest["networks"], hostvars, manifest["relay"])


def _zone_tiers(zones, filters):
    """Return {zone: tier}: the internet (or the first zone) is tier 0 and
    each packet filter leads one tier further in."""
    start = "internet" if "internet" in zones else zones[0]
    tiers, frontier = {start: 0}, [start]
    while frontier:
        following = []
        for zone in frontier:
            for joined in filters.values():
                if zone in joined:
                    for other in joined:
                        if other not in tiers:
                            tiers[other] = tiers[zone] + 1
                            following.append(other)
        frontier = following
    last = max(tiers.values()) + 1
    return {zone: tiers.get(zone, last) for zone in zones}


def _host_lines(name, interfaces, fqdns):
    lines = [name, interfaces[0]["address"]]
    if fqdns.get(name):
        lines.append(fqdns[name])
    return lines


def _zone_line_style(index):
    """Return font size, weight and colour of a zone's text line: the name,
    then the address ranges, then the packet filters' addresses."""
    if index == 0:
        return 13, "bold", "#111827"
    return (11, "normal", "#111827") if index == 1 else (10, "normal", "#475569")


def _column_width(lines):
    """Return the estimated width of a zone's text column."""
    widths = []
    for index, line in enumerate(lines):
        size, weight, _colour = _zone_line_style(index)
        widths.append(len(line) * size * (BOLD_CHAR_SHARE if weight == "bold" else CHAR_SHARE))
    return max(widths)


def _content_height(lines):
    """Return the height of a zone's hosts: HOST_H, or more when the zone's
    text needs more, so that the text stays level with the host boxes."""
    return max(HOST_H, FIRST_BASELINE + LINE_STEP * (len(lines) - 1) + LINE_DESCENT)


def _zone_box(zone, cidrs, members, filter_lines):
    lines = [zone, ", ".join(cidrs)] + filter_lines
    inner = len(members) * HOST_W + max(len(members) - 1, 0) * GAP
    width = ZONE_PAD + _column_width(lines) + (GAP + inner if members else 0) + ZONE_PAD
    return Box("zone:" + zone, "zone", lines, w=width, h=_content_height(lines) + 2 * ZONE_PAD)


def _place_zone_rows(boxes, rows):
    """Set the positions of the zone rows, each centred; return the width."""
    widths = {tier: sum(boxes[key].w for key in keys) + ZONE_GAP * (len(keys) - 1)
              for tier, keys in rows.items()}
    width = max(widths.values()) + 2 * MARGIN
    for tier, keys in rows.items():
        x = (width - widths[tier]) / 2
        for key in keys:
            boxes[key].x = x
            x += boxes[key].w + ZONE_GAP
    return width


def _place_members(boxes, members):
    """Put each zone's hosts in a row right of its text column, each as
    high as the zone's content."""
    for zone_key, host_keys in members.items():
        zone = boxes[zone_key]
        x = zone.x + ZONE_PAD + _column_width(zone.lines) + GAP
        for key in host_keys:
            box = boxes[key]
            box.x, box.y, box.h = x, zone.y + ZONE_PAD, _content_height(zone.lines)
            x += HOST_W + GAP


def layout(manifest):
    """Return the Topology of a manifest with every box placed."""
    zones = _ordered_zones(manifest)
    if not zones:
        raise TopologyError("the manifest has no zones")
    addresses, fqdns = manifest.get("addresses") or {}, manifest.get("fqdns") or {}
    boxes, members, filters = {}, {"zone:" + zone: [] for zone in zones}, {}
    for host, interfaces in addresses.items():
        joined = [interface["zone"] for interface in interfaces if interface["zone"] in zones]
        if len(set(joined)) > 1:
            filters[host] = joined
            boxes["host:" + host] = Box("host:" + host, "filter", [host], w=FILTER_W, h=FILTER_H)
        elif joined and "zone:" + joined[0] in members:
            members["zone:" + joined[0]].append("host:" + host)
            boxes["host:" + host] = Box("host:" + host, "host", _host_lines(host, interfaces, fqdns),
                                        w=HOST_W, h=HOST_H)
    filter_lines = {zone: [] for zone in zones}
    for host in sorted(filters):
        for interface in addresses[host]:
            if interface["zone"] in filter_lines:
                filter_lines[interface["zone"]].append("%s %s" % (host, interface["address"]))
    for zone in zones:
        boxes["zone:" + zone] = _zone_box(zone, manifest["zones"][zone], members["zone:" + zone],
                                          filter_lines[zone])

    tiers = _zone_tiers(zones, filters)
    rows = {}
    for zone in zones:
        rows.setdefault(tiers[zone], []).append("zone:" + zone)
    rows = dict(sorted(rows.items()))
    width = _place_zone_rows(boxes, rows)

    y = MARGIN
    for tier, keys in rows.items():
        for key in keys:
            boxes[key].y = y
        y += max(boxes[key].h for key in keys)
        between = [host for host, joined in filters.items() if min(tiers[zone] for zone in joined) == tier]
        y += TIER_GAP
        if between:
            _place_filters(boxes, filters, between, y)
            y += FILTER_H + TIER_GAP
    _place_members(boxes, members)
    flows = _flows(manifest, boxes)
    # Arrows within the last row dip below it.
    return Topology(boxes, filters, flows, width, y - TIER_GAP + DIP + 2 * GAP + MARGIN)


def _place_filters(boxes, filters, hosts, y):
    """Put packet filters in one row, each under the middle of its zones."""
    desired_centres = []
    for host in hosts:
        centres = [boxes["zone:" + zone].centre[0] for zone in filters[host]]
        desired_centres.append((sum(centres) / len(centres), host))
    previous_right = None
    for centre, host in sorted(desired_centres):
        box = boxes["host:" + host]
        box.x, box.y = centre - FILTER_W / 2, y
        if previous_right is not None and box.x < previous_right + GAP:
            box.x = previous_right + GAP
        previous_right = box.x + FILTER_W


def _host_at(boxes, address):
    for key, box in boxes.items():
        if box.kind == "host" and len(box.lines) > 1 and box.lines[1] == address:
            return key
    return None


def _endpoints(zone, values, boxes):
    """Return the box keys a flow side stands for: its single hosts, or the
    zone when the side is a whole range or not given."""
    if not values:
        return ["zone:" + zone]
    keys = []
    for value in values:
        network = ipaddress.ip_network(str(value), strict=False)
        key = _host_at(boxes, str(network.network_address)) if network.num_addresses == 1 else None
        key = key or "zone:" + zone
        if key not in keys:
            keys.append(key)
    return keys


def _flows(manifest, boxes):
    flows = []
    for number, flow in enumerate(manifest_flows(manifest), start=1):
        ports = "%s %s" % (flow.get("proto", "tcp"), ", ".join(str(port) for port in flow.get("ports", [])))
        source = flow["from"] + (" (%s)" % ", ".join(flow["from_hosts"]) if flow.get("from_hosts") else "")
        target = flow["to"] + (" (%s)" % ", ".join(flow["to_hosts"]) if flow.get("to_hosts") else "")
        flows.append(Flow(number, flow.get("name", ""), source, target,
                          _endpoints(flow["from"], flow.get("from_hosts"), boxes),
                          _endpoints(flow["to"], flow.get("to_hosts"), boxes), ports.strip()))
    return flows


def _curve(source, target, offset):
    """Return start, control and end point of an arrow between two boxes.

    Between rows the arrow joins the facing edges, shifted by offset so
    that parallel arrows stay apart. Within a row it runs from bottom to
    bottom and dips below the row, so that it crosses no box between."""
    if source.y + source.h <= target.y or target.y + target.h <= source.y:
        downwards = source.y < target.y
        start = (source.centre[0] + offset, source.y + source.h if downwards else source.y)
        end = (target.centre[0] + offset, target.y if downwards else target.y + target.h)
        return start, ((start[0] + end[0]) / 2 + offset, (start[1] + end[1]) / 2), end
    start = (source.centre[0] + offset, source.y + source.h)
    end = (target.centre[0] + offset, target.y + target.h)
    bottom = max(start[1], end[1]) + DIP + abs(offset)
    return start, ((start[0] + end[0]) / 2, bottom), end


def _point(curve, t):
    """Return the point at t (0 to 1) on a quadratic Bezier curve."""
    (x0, y0), (x1, y1), (x2, y2) = curve
    weights = ((1 - t) ** 2, 2 * (1 - t) * t, t * t)
    return (weights[0] * x0 + weights[1] * x1 + weights[2] * x2,
            weights[0] * y0 + weights[1] * y1 + weights[2] * y2)


def _text(x, y, value, **attributes):
    extra = "".join(' %s="%s"' % (name.replace("_", "-"), html.escape(str(item)))
                    for name, item in attributes.items())
    return '<text x="%.1f" y="%.1f"%s>%s</text>' % (x, y, extra, html.escape(str(value)))


def _draw_box(box, filter_label):
    if box.kind == "zone":
        parts = ['<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" rx="8" fill="%s" stroke="%s" '
                 'stroke-width="1.5"/>' % (box.x, box.y, box.w, box.h, ZONE_FILL, ZONE_STROKE)]
        for index, line in enumerate(box.lines):
            size, weight, colour = _zone_line_style(index)
            parts.append(_text(box.x + ZONE_PAD, box.y + ZONE_PAD + FIRST_BASELINE + index * LINE_STEP, line,
                               font_size=size, font_weight=weight, fill=colour))
        return parts
    if box.kind == "filter":
        return ['<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" rx="4" fill="%s"/>'
                % (box.x, box.y, box.w, box.h, FILTER_FILL),
                _text(box.centre[0], box.y + 17, box.lines[0], fill=FILTER_TEXT, font_weight="bold",
                      text_anchor="middle", font_size="13"),
                _text(box.centre[0], box.y + 33, filter_label, fill=FILTER_TEXT, text_anchor="middle",
                      font_size="11")]
    parts = ['<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" rx="4" fill="%s" stroke="%s"/>'
             % (box.x, box.y, box.w, box.h, HOST_FILL, HOST_STROKE)]
    for index, line in enumerate(box.lines):
        parts.append(_text(box.x + 10, box.y + FIRST_BASELINE + index * LINE_STEP, line,
                           font_size="13" if index == 0 else "11",
                           font_weight="bold" if index == 0 else "normal"))
    return parts


def _draw_links(topology, manifest):
    """Draw a grey line from each packet filter to each zone it joins. The
    zone's text column names the filter's address in it."""
    parts = []
    for host in topology.filters:
        box = topology.boxes["host:" + host]
        for interface in manifest["addresses"][host]:
            zone = topology.boxes.get("zone:" + interface["zone"])
            if zone is None:
                continue
            x = min(max(box.centre[0], zone.x + 30), zone.x + zone.w - 30)
            y = zone.y + zone.h if zone.y < box.y else zone.y
            start_y = box.y if zone.y < box.y else box.y + box.h
            parts.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="4"/>'
                         % (box.centre[0], start_y, x, y, LINK_COLOUR))
    return parts


def _flow_curves(topology):
    """Return (flow, curve) for every arrow to draw: one per source and
    target box of each flow. Arrows between the same two zones (a host
    counts as its zone) are spread apart, so that none hides another."""
    zone_of = {}
    for key, box in topology.boxes.items():
        if box.kind == "zone":
            for member in topology.boxes.values():
                if member.kind == "host" and box.x <= member.x and member.x + member.w <= box.x + box.w \
                        and box.y <= member.y <= box.y + box.h:
                    zone_of[member.key] = key
    pairs = {}
    for flow in topology.flows:
        for source in flow.sources:
            for target in flow.targets:
                pair = frozenset((zone_of.get(source, source), zone_of.get(target, target)))
                pairs.setdefault(pair, []).append((flow, source, target))
    curves = []
    for drawn in pairs.values():
        for index, (flow, source, target) in enumerate(drawn):
            offset = (index - (len(drawn) - 1) / 2) * 24
            curves.append((flow, _curve(topology.boxes[source], topology.boxes[target], offset)))
    return curves


def _draw_arrows(curves):
    return ['<path d="M%.1f,%.1f Q%.1f,%.1f %.1f,%.1f" fill="none" stroke="%s" stroke-width="1.6" '
            'marker-end="url(#flow-arrow)"/>' % (*start, *control, *end, FLOW_COLOUR)
            for _flow, (start, control, end) in curves]


def _draw_numbers(curves):
    """Label each arrow with its flow number: near the target between
    rows, where no box is, and at the lowest point of a dip."""
    parts = []
    for flow, curve in curves:
        within_row = curve[1][1] > max(curve[0][1], curve[2][1])
        x, y = _point(curve, 0.5 if within_row else 0.78)
        parts.append('<circle cx="%.1f" cy="%.1f" r="9" fill="#ffffff" stroke="%s" stroke-width="1.5"/>'
                     % (x, y, FLOW_COLOUR))
        parts.append(_text(x, y + 4, flow.number, font_size="10", font_weight="bold",
                           fill=FLOW_COLOUR, text_anchor="middle"))
    return parts


def svg(topology, manifest, title, filter_label="packet filter"):
    """Return a laid-out Topology as a standalone SVG document, with
    filter_label under the name of each packet filter."""
    parts = [
        '<svg xmlns="http://www.w3.org/2000/svg" class="topology" role="img" viewBox="0 0 %.0f %.0f" '
        'width="%.0f" height="%.0f" font-family="DejaVu Sans, Liberation Sans, Arial, sans-serif">'
        % (topology.width, topology.height, topology.width, topology.height),
        "<title>%s</title>" % html.escape(title),
        '<defs><marker id="flow-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="%s"/></marker></defs>' % FLOW_COLOUR,
    ]
    curves = _flow_curves(topology)
    # Links first: they end at the zone's edge, under the zone's box.
    parts += _draw_links(topology, manifest)
    for box in topology.boxes.values():
        if box.kind == "zone":
            parts += _draw_box(box, filter_label)
    # Arrows pass under the packet filters, as the traffic passes them.
    parts += _draw_arrows(curves)
    for box in topology.boxes.values():
        if box.kind != "zone":
            parts += _draw_box(box, filter_label)
    parts += _draw_numbers(curves)
    parts.append("</svg>")
    return "\n".join(parts)
