"""Inter-laboratory comparisons scored by ISO 13528 (docs/interlab.md)."""
