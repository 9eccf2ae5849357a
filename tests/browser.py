"""A real headless Chromium for the tests, driven by Selenium (chromedriver).

`chromium` is a session fixture: it finds Debian's chromium and chromium-driver and, when they
are missing, installs them with apt-get (as the CI script does). It skips, saying why, only
when that is impossible (no apt-get, or not allowed to run it). Import it in a test module:
`from browser import chromium  # noqa: F401`.

The browser runs with a fresh profile and everything that would reach the network or a
device switched off, so a test sees only the page it loads.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

PACKAGES = ("chromium", "chromium-driver")
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
    driver = shutil.which("chromedriver") or next((p for p in ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver") if Path(p).is_file()), None)
    return browser, driver


def _install() -> str:
    """Install Debian's chromium with apt-get; returns why it could not, or ""."""
    apt = shutil.which("apt-get")
    if apt is None:
        return "chromium is not installed and there is no apt-get to install it (install chromium and chromium-driver)"
    command = [apt] if os.geteuid() == 0 else (["sudo", "-n", apt] if shutil.which("sudo") else None)
    if command is None:
        return "chromium is not installed and apt-get needs root (run: apt-get install -y chromium chromium-driver)"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = [*command, "install", "-y", "--no-install-recommends", *PACKAGES]
    result = subprocess.run(install, capture_output=True, text=True, env=env, timeout=900)
    if result.returncode != 0:  # the package lists may be missing or old: refresh them once
        update = subprocess.run([*command, "update"], capture_output=True, text=True, env=env, timeout=600)
        if update.returncode != 0:
            return f"apt-get update failed: {update.stderr.strip()[-300:]}"
        result = subprocess.run(install, capture_output=True, text=True, env=env, timeout=900)
        if result.returncode != 0:
            return f"apt-get install {' '.join(PACKAGES)} failed: {result.stderr.strip()[-300:]}"
    return ""


@pytest.fixture(scope="session")
def chromium():
    """A Selenium WebDriver on headless Chromium, shared by the session (one browser start)."""
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is a test dependency: pip install -e '.[test]'")
    browser, driver = _binaries()
    if browser is None or driver is None:
        why = _install()
        if why:
            pytest.skip(why)
        browser, driver = _binaries()
        if browser is None or driver is None:
            pytest.skip("apt-get installed chromium, but chromium or chromedriver is still not on PATH")
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
