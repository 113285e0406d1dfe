"""evlims keeps one app label; models live in their domain packages and are collected here."""
