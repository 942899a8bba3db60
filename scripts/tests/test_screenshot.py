"""The HTML report renders its topology diagram in a real browser.

Headless Chromium takes a screenshot of a report made from the fixtures,
inside a network namespace of its own that has no interface but loopback,
so the page can load nothing from anywhere: it opens the local file only.
"""

import os
import re
import shutil
import subprocess

import pytest

import png
from conftest import FIXTURES
from mailgw_report import cli, topology

WIDTH, HEIGHT = 1000, 3000
# Flags that keep Chromium from contacting any service of its own.
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--disable-breakpad", "--disable-domain-reliability",
    "--disable-client-side-phishing-detection", "--no-default-browser-check", "--no-proxy-server",
    "--metrics-recording-only",
]


def colour(hex_colour):
    return tuple(int(hex_colour[index:index + 2], 16) for index in (1, 3, 5))


def unavailable(reason):
    """Fail under CI, where .ci/run installs Chromium; skip elsewhere."""
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium():
    """The Chromium command, run in an empty network namespace."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if not binary:
        unavailable("chromium is not installed: apt-get install chromium")
    isolated = subprocess.run(["unshare", "--net", "true"], capture_output=True, check=False)
    if isolated.returncode != 0:
        unavailable("unshare --net failed, so Chromium cannot run without network: %s"
                    % isolated.stderr.decode(errors="replace").strip())
    return ["unshare", "--net", binary]


def screenshot(chromium, page, tmp_path):
    """Return the Image of a screenshot of a local HTML page."""
    picture = tmp_path / "screenshot.png"
    command = chromium + CHROMIUM_FLAGS + [
        "--user-data-dir=%s" % (tmp_path / "profile"), "--screenshot=%s" % picture,
        "--window-size=%d,%d" % (WIDTH, HEIGHT), page.as_uri()]
    run = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert picture.exists(), "Chromium wrote no screenshot (exit %d): %s" % (run.returncode, run.stderr[-2000:])
    return png.read(picture)


def pixels_of(image, target_colour):
    """Return the (x, y) of every second pixel in both directions that has
    exactly the target colour."""
    return [(x, y) for y in range(0, image.height, 2) for x in range(0, image.width, 2)
            if image.pixel(x, y) == target_colour]


@pytest.fixture(scope="module")
def report_page(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    cli.main(["render", "--junit", str(FIXTURES / "junit.xml"), "--manifest", str(FIXTURES / "manifest.json"),
              "--scenario", "fixture", "--out", str(out), "--kit-version", "v-test"])
    return out / "report.html"


def test_report_shows_topology_diagram(chromium, report_page, tmp_path):
    image = screenshot(chromium, report_page, tmp_path)

    assert (image.width, image.height) == (WIDTH, HEIGHT)
    zones = pixels_of(image, colour(topology.ZONE_FILL))
    filters = pixels_of(image, colour(topology.FILTER_FILL))
    flows = pixels_of(image, colour(topology.FLOW_COLOUR))
    # Four zones, two packet filters and eight arrows; pixels are sampled
    # every second row and column.
    assert len(zones) > 5000, len(zones)
    assert len(filters) > 1500, len(filters)
    assert len(flows) > 50, len(flows)
    xs, ys = [x for x, _y in zones], [y for _x, y in zones]
    assert max(xs) - min(xs) > 450, (min(xs), max(xs))
    assert max(ys) - min(ys) > 450, (min(ys), max(ys))


def test_page_without_diagram_fails_check(chromium, report_page, tmp_path):
    """The pixel check can fail: the same page without its SVG shows no
    zone or filter colour."""
    bare = tmp_path / "bare.html"
    bare.write_text(re.sub(r"<svg.*?</svg>", "", report_page.read_text(encoding="utf-8"), flags=re.S),
                    encoding="utf-8")

    image = screenshot(chromium, bare, tmp_path)

    assert pixels_of(image, colour(topology.ZONE_FILL)) == []
    assert pixels_of(image, colour(topology.FILTER_FILL)) == []
