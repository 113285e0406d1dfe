"""Recovery with its propagated standard uncertainty (pure; no Django)."""
