"""Fixtures of the integration tests: a network namespace with a veth pair."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.helpers import ROOT


@pytest.fixture
def netns():
    """A network namespace the test owns: loopback up and a veth pair `probe0` (where the
    collector captures) - `span0` (where frames are sent), IPv6 off (no neighbour discovery
    frames beside the test's own); deleted at the end."""
    name = f"cctest{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(["ip", "netns", "exec", name, "sysctl", "-qw",
                        "net.ipv6.conf.all.disable_ipv6=1",
                        "net.ipv6.conf.default.disable_ipv6=1"], check=True)
        for cmd in (["link", "add", "probe0", "type", "veth", "peer", "name", "span0"],
                    ["link", "set", "lo", "up"], ["link", "set", "probe0", "up"],
                    ["link", "set", "span0", "up"]):
            subprocess.run(["ip", "-n", name, *cmd], check=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "delete", name], check=False)


def in_ns(ns: str, *args: str) -> list[str]:
    """The command line running this Python with `args` inside namespace `ns`."""
    return ["ip", "netns", "exec", ns, sys.executable, *args]


def wait_capturing(live: subprocess.Popen, timeout: float = 30.0) -> None:
    """Wait until `collector live` (stderr piped) says it is capturing."""
    deadline = time.monotonic() + timeout
    while b"capturing" not in (line := live.stderr.readline()):
        assert line and time.monotonic() < deadline, \
            "collector live did not start: " + (line + live.stderr.read(4000)).decode()


def stop_live(live: subprocess.Popen, settle: float = 2.0) -> tuple[bytes, bytes]:
    """Let `collector live` read what is in flight for `settle` seconds, SIGTERM it; its
    (stdout, stderr)."""
    time.sleep(settle)
    live.send_signal(signal.SIGTERM)
    return live.communicate(timeout=60)


def play_in_ns(ns: str, captures, env: dict) -> None:
    """`simulator play` every capture of `captures` at full speed into span0 of `ns`."""
    plays = [a for c in captures for a in ("--capture", str(c))]
    subprocess.run(in_ns(ns, "-m", "simulator", "play", "--interface", "span0", "--speed", "0",
                         *plays), check=True, env=env, cwd=ROOT, capture_output=True)


def live_played(ns: str, args: list[str], captures, env: dict) -> tuple[int, bytes, bytes]:
    """Start `collector <args>` (a `live` command line) in `ns`, play `captures` into span0
    once it captures, SIGTERM it; its (exit code, stdout, stderr)."""
    live = subprocess.Popen(in_ns(ns, "-m", "collector", *args), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, cwd=ROOT)
    try:
        wait_capturing(live)
        play_in_ns(ns, captures, env)
        out, err = stop_live(live)
    finally:
        if live.poll() is None:
            live.kill()
    return live.returncode, out, err
