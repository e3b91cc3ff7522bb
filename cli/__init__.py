"""The `cig` command: every human step and every view of the case-review system, for people and scripts."""
