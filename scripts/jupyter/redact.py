"""Keeps passwords out of notebooks: a PostgreSQL URL given with `-p` (e.g. `results`) loses its
password before anything is printed, injected or saved; the password travels to the kernel in its
environment as PGPASSWORD (libpq's variable, which the workspace's `pg` driver reads), so neither
the parameters table, the injected cell, the `parameters: {...}` output nor the saved notebook holds
it. A URL-shaped value with a password and another scheme (`postgress://`, `postgresql+psycopg2://`)
or a `USER:PASSWORD@HOST` value without a scheme is an error naming the scheme, never shown whole.
"""
import re

from parameters import ParameterError

URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):(/*)([^/@?#]*)@(.*)$", re.S)
BARE = re.compile(r"^[^/:@\s]+:[^/@\s]*@[^/\s]")
SCHEMES = ("postgres", "postgresql")


def strip_password(name, value):
    """(value without its password, the password or None) for one parameter value.
    @raises ParameterError naming the parameter and the scheme (never the value)"""
    if not isinstance(value, str):
        return value, None
    m = URL.match(value)
    if m and (m.group(2) or m.group(1).lower().startswith("postgres")):
        scheme, slashes, userinfo, rest = m.groups()
        if scheme.lower() not in SCHEMES or slashes != "//":
            raise ParameterError("parameter %s: %r is not a results store URL scheme (value not shown: it may hold a password); "
                                 "use postgres://USER@HOST:PORT/DB or postgresql://..., or a SQLite file path" % (name, "%s:%s" % (scheme, slashes)))
        if ":" not in userinfo:
            return value, None
        user, password = userinfo.split(":", 1)
        return "%s://%s@%s" % (scheme, user, rest), password
    if BARE.match(value):
        raise ParameterError("parameter %s looks like USER:PASSWORD@HOST without a scheme (value not shown); "
                             "use postgres://USER@HOST:PORT/DB with the password in PGPASSWORD or ~/.pgpass" % name)
    return value, None


def move_passwords(plans):
    """Strips passwords from the values of every plan (in place).
    @returns the password for the kernels' PGPASSWORD, or None
    @raises ParameterError when two values carry different passwords"""
    found = set()
    for entry in plans:
        values = entry[3]
        for name in list(values):
            values[name], password = strip_password(name, values[name])
            if password is not None:
                found.add(password)
    if len(found) > 1:
        raise ParameterError("the -p values carry %d different passwords; PGPASSWORD holds one: give one URL with a password "
                             "or set PGPASSWORD / ~/.pgpass and leave passwords out of the URLs" % len(found))
    return found.pop() if found else None
