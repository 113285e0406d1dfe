"""Every browser test leaves a screenshot of the page it ended on in var/screenshots/ (the page fixture calls
_keep_screenshot when the test ends)."""

from tests.e2e.conftest import SCREENSHOTS, _keep_screenshot


def test_a_browser_test_leaves_its_screenshot(page, live_server, request):
    target = SCREENSHOTS / "test_screenshots--test_a_browser_test_leaves_its_screenshot.png"
    target.unlink(missing_ok=True)
    page.goto(f"{live_server.url}/login/")
    _keep_screenshot(page, request.node)
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
