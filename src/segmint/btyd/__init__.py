"""Buy-till-you-die models: BTYD summaries in the engine, BG/NBD, MBG/NBD, Pareto/NBD and Gamma-Gamma
fitted by maximum likelihood, and per-customer value (P(alive), expected purchases, CLV).

The analysis itself is ``segmint.clv(...)`` (``segmint.api.clv``); this package holds the models.
"""
