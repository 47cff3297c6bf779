"""Releases (PUBLISHING.md §2): what each publish changed, the history that answers "as of release N", and the
revisions of first estimates. Runs inside the publish step, on the checked build, before the atomic replace."""
