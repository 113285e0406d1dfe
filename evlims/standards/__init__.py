"""Standardization within and across runs: reference-material lots, spikes and their recovery, and the dilution
linearity of counting instruments (docs/standardization.md)."""
