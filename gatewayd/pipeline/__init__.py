"""The message pipeline: accept (persist first), dispatch to connectors, apply receipts."""
