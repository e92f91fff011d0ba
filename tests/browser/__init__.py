"""Browser tests of the side panel, the editor and the compliance pages (Playwright + Debian's Chromium)."""
