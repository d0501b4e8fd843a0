-- `init` on an installation that is current: record whether the filter depends on the
-- row alone where it is not known yet (the role that installed vecsync could not ask:
-- catalog/filter_immutable.sql). Best effort: a role without UPDATE on meta changes nothing.
-- $1 bool: the answer
UPDATE {meta} SET filter_immutable = $1 WHERE filter_immutable IS NULL
