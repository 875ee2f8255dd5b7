"""Integrations with the frameworks people already train with; each imports its framework
only when used: vapor.integrations.lightning, .transformers, .keras."""
