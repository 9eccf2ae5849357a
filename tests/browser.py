"""A real headless Chromium for the tests, driven by Selenium (chromedriver).

`chromium` is a session fixture (registered for every test by conftest.py): it finds Debian's
chromium and chromium-driver, which `.ci/run` installs, and skips saying why where they are missing.
The test suite never installs system packages itself.

The browser runs with a fresh profile and everything that would reach the network or a
device switched off, so a test sees only the page it loads.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--autoplay-policy=no-user-gesture-required",
)


def _binaries() -> tuple[str | None, str | None]:
    browser = next((found for name in ("chromium", "chromium-browser") if (found := shutil.which(name))), None)
    driver = shutil.which("chromedriver") or next(
        (p for p in ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver") if Path(p).is_file()), None
    )
    return browser, driver


@pytest.fixture(scope="session")
def chromium():
    """A Selenium WebDriver on headless Chromium, shared by the session (one browser start)."""
    webdriver = pytest.importorskip(
        "selenium.webdriver", reason="selenium is a test dependency: pip install -e '.[test]'"
    )
    browser, driver = _binaries()
    if browser is None or driver is None:
        pytest.skip(
            "no headless browser: the review page and the Godot engine run in Debian's chromium "
            "(apt-get install chromium chromium-driver; .ci/run installs them)"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    profile = tempfile.mkdtemp(prefix="charvoice-chromium-")
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = webdriver.ChromeService(executable_path=driver)
    session = webdriver.Chrome(options=options, service=service)
    session.set_page_load_timeout(30)
    session.set_script_timeout(15)
    try:
        yield session
    finally:
        session.quit()
        shutil.rmtree(profile, ignore_errors=True)


def console_errors(driver) -> list[str]:
    """Console messages of level SEVERE since the last call (errors, failed loads, CSP refusals)."""
    return [entry["message"] for entry in driver.get_log("browser") if entry.get("level") == "SEVERE"]
