"""The ISO 20391-2 proportionality index of a dilution series (pure; no Django)."""
