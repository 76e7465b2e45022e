"""Several gatewayd nodes sharing one PostgreSQL (issue 8 item 1)."""
