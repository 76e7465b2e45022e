"""Plugin hooks for fleet and billing actions: specified and built in a later issue."""
