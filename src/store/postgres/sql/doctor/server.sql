-- Who and where: the connecting role, the database, the server, and the port the server
-- itself listens on (NULL over a unix socket): when it differs from the port in the URL, a
-- pooler or proxy sits in between.
-- Returns one row: (role text, database text, server_version text, server_port int,
-- ssl bool: whether the server sees this connection as TLS, NULL when unknown).
SELECT current_user::text,
       current_database()::text,
       current_setting('server_version'),
       inet_server_port(),
       (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid())
