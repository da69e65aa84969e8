"""Reading settings from the environment, refusing demo secrets in production."""

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

DEMO_PREFIX = "demo-insecure-"


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value in (None, ""):
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from exc


def is_production() -> bool:
    return env("YIYANG_ENV", "development") == "production"


def secret(name: str, demo_default: str) -> str:
    """A secret from the environment; the demo default is refused in production.

    Demo defaults carry a recognisable prefix so that a production deployment
    cannot start with one of them, even if someone copies it into the environment.
    """
    value = os.environ.get(name, "")
    if is_production() and (not value or value.startswith(DEMO_PREFIX)):
        raise ImproperlyConfigured(f"{name} must be set to a real secret when YIYANG_ENV=production")
    return value or DEMO_PREFIX + demo_default


def var_dir() -> Path:
    return Path(env("YIYANG_VAR_DIR", str(Path.cwd() / "var"))).resolve()
