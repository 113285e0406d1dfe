"""Find the PostgreSQL and Redis the integration run should use, and print shell assignments for them.

Tries DATABASE_URL / REDIS_URL from the environment first, then the project machines' defaults
(PostgreSQL on 127.0.0.1:5432 with trust auth, database ``test``, as role postgres or the current
user; Redis on 127.0.0.1:6379). Prints ``EVLIMS_PG_URL=...`` and ``EVLIMS_REDIS_URL=...`` for what
answers (an empty value when nothing does), and the reason on stderr. Run it with the project's venv:
psycopg and redis come from requirements.txt.
"""

import getpass
import os
import shlex
import sys

DATABASE_NAME = "test"
HOST = "127.0.0.1"


def database_candidates() -> list[str]:
    candidates = []
    given = os.environ.get("DATABASE_URL", "")
    if given.startswith(("postgres://", "postgresql://")):
        candidates.append(given)
    for role in ("postgres", getpass.getuser()):
        url = f"postgres://{role}@{HOST}:5432/{DATABASE_NAME}"
        if url not in candidates:
            candidates.append(url)
    return candidates


def first_database() -> tuple[str, str]:
    import psycopg

    errors = []
    for url in database_candidates():
        try:
            with psycopg.connect(url.replace("postgres://", "postgresql://", 1), connect_timeout=3) as connection:
                # pytest-django creates and drops test_<name>, so the role must be allowed to create databases.
                row = connection.execute(
                    "select rolcreatedb or rolsuper from pg_roles where rolname = current_user"
                ).fetchone()
                if row and row[0]:
                    return url, ""
                errors.append(f"{url}: role may not create databases")
        except psycopg.Error as error:
            errors.append(f"{url}: {str(error).strip().splitlines()[0]}")
    return "", "; ".join(errors)


def first_redis() -> tuple[str, str]:
    import redis

    url = os.environ.get("REDIS_URL") or f"redis://{HOST}:6379/0"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
        return url, ""
    except redis.RedisError as error:
        return "", f"{url}: {error}"


def main() -> int:
    for name, (url, problem) in (("EVLIMS_PG_URL", first_database()), ("EVLIMS_REDIS_URL", first_redis())):
        print(f"{name}={shlex.quote(url)}")
        if problem:
            print(f"[services] not available: {problem}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
