"""Headless Chromium for browser tests: Debian's chromium and chromedriver through Selenium."""

from __future__ import annotations

import shutil
import tempfile

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"

# The machine has no route outside loopback: these flags keep Chromium from trying.
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1400,900",
)


def make_driver():
    """A fresh headless Chromium session with its own empty profile."""
    if not shutil.which("chromedriver") and not shutil.os.path.exists(CHROMEDRIVER):
        pytest.skip("chromedriver not installed (make setup installs chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tempfile.mkdtemp(prefix='wcs-chromium-')}")
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
