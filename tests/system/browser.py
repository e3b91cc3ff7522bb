"""Headless Chromium for the browser tests: Debian's `chromium` (`.ci/run` installs it), driven by
Playwright. Playwright's own browser download cannot run here, so it launches the system executable."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import Browser, Page, sync_playwright

FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


@contextmanager
def chromium() -> Iterator[Browser]:
    """A headless Chromium; fails, saying how to install it, when the machine has none."""
    executable = shutil.which("chromium")
    if executable is None:
        raise RuntimeError("the browser tests need Debian's chromium: `apt-get install chromium` (.ci/run does it)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()


def watched_page(browser: Browser, problems: list[str]) -> Page:
    """A new page at a laptop's size (1366x768) that adds to `problems` each script error and each style, script,
    font or image that did not load (a page's own 4xx is the test's to check)."""
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("response", lambda response: problems.append(f"{response.status} {response.url}")
            if response.status >= 400 and response.request.resource_type != "document" else None)
    return page
