"""gatewayd: an SMPP gateway daemon for mobile operators, MVNO resellers and their customers."""

__version__ = "0.1.0"
