"""The fleet: a customer's mobile lines, the actions on them and the orders that carry them
out through a backend plugin (issue 7). See docs/fleet.md."""
