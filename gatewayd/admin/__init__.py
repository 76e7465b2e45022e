"""The admin console (operators and customers) and the local control API."""
