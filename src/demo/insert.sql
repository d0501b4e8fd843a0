-- One demo posting. ?1 id, ?2 title, ?3 company, ?4 location, ?5 employment_type,
-- ?6 salary (NULL: not given), ?7 description, ?8 is_active (0 or 1).
INSERT INTO jobs (id, title, company, location, employment_type, salary, description, is_active)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
