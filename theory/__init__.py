"""The mathematics of "Why Deep Jacobian Spectra Separate", and its claims.

Math modules (pure computation, no file I/O): ``samplers`` (Defs. 5.1-5.2), and the modules added
per section. Claim declarations live in ``theory.claims``, one module per paper section/appendix.
"""
