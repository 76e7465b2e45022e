"""The public HTTP JSON API at /api/v1: bearer API keys, JSON errors with stable codes, an
OpenAPI 3 document at /api/v1/openapi.json. See docs/api.md."""
