"""playment-submit core: plain Python, no Qt (a test proves it).

Everything a job needs (model, validation, mask rules, HTTP client, sandbox server, storage, journal,
bulk engine, command line) lives here so that the GUI, the command line and the tests share one truth.
"""

__version__ = "0.1.0"
