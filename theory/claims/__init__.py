"""Claim declarations, one module per paper section or appendix.

Every module in this package is imported by :func:`checks.registry.load`; nothing lists them.
"""
