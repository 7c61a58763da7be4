"""Configuration: scenario and sweep files to validated plans (imports neither Numba nor Mesa)."""
