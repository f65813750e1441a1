"""Session fixture for a headless Chromium driven by Playwright."""
