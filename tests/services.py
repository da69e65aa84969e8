"""Tests that need an external service reach it for real. Without it they skip, except under CI=true."""

import os
import socket

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def service_answers(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    if service_answers(host, port):
        return
    reason = f"{name} does not answer on {host}:{port}"
    if IN_CI:
        pytest.fail(f"{reason}, and CI=true forbids skipping", pytrace=False)
    pytest.skip(reason)


def require_binary(name: str, path: str | None) -> None:
    if path:
        return
    reason = f"the {name} binary is not installed"
    if IN_CI:
        pytest.fail(f"{reason}, and CI=true forbids skipping", pytrace=False)
    pytest.skip(reason)
