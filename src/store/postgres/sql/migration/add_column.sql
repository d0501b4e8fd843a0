-- The next vectorizer's column: nullable, no default, so PostgreSQL only changes the
-- catalog (no table rewrite). {dimensions} is a number.
ALTER TABLE {table} ADD COLUMN {column} {vector_type}({dimensions})
