"""``regiment observe APP``, and what the observer needs installed (the ``web`` extra)."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys

import httpx
import pytest

from actors.cli import CONTROL_TOKEN_VARIABLE, _parser, main
from tests.helpers import ROOT, WAIT, fresh_python

APP = "tests.web.sample_app:build"


def start_observe(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    paths = [str(ROOT), os.environ.get("PYTHONPATH", "")]
    return subprocess.Popen(
        [sys.executable, "-m", "actors", "observe", APP, "--port", "0", *args],
        cwd=ROOT,
        env={**os.environ, **(env or {}), "PYTHONPATH": os.pathsep.join(p for p in paths if p)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def first_lines(process: subprocess.Popen[str]) -> tuple[str, str]:
    """The URL line and the line after it (printed together, before serving)."""
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], 3 * WAIT)
    assert ready, "regiment observe printed no URL in time"
    return process.stdout.readline().strip(), process.stdout.readline().strip()


@pytest.mark.slow
def test_observe_prints_the_url_serves_the_system_and_shuts_it_down_on_ctrl_c():
    process = start_observe()
    try:
        url, said = first_lines(process)
        assert "observing system 'sample' (control off)" in said
        assert url.startswith("http://127.0.0.1:")
        agents = httpx.get(url + "api/agents", timeout=WAIT).json()["agents"]
        assert {row["name"] for row in agents} >= {"coder-1", "crunchers-1", "lead"}
        assert httpx.get(url + "api/config", timeout=WAIT).json()["control"] is False
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=3 * WAIT)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert out.rstrip().endswith("system 'sample' shut down cleanly")
    assert "Traceback" not in err


@pytest.mark.slow
def test_observe_takes_its_control_token_from_the_environment():
    process = start_observe(env={CONTROL_TOKEN_VARIABLE: "from-env"})
    try:
        url, said = first_lines(process)
        assert "(control on)" in said
        assert httpx.get(url + "api/config", timeout=WAIT).json()["control"] is True
        refused = httpx.post(url + "api/children/lead/restart", timeout=WAIT)
        assert refused.status_code == 403
        headers = {"Authorization": "Bearer from-env"}
        done = httpx.post(url + "api/children/lead/restart", headers=headers, timeout=WAIT)
        assert done.json()["done"] is True
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=3 * WAIT)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert "from-env" not in out + err


def test_observe_parses_host_port_and_token():
    args = _parser().parse_args(
        ["observe", APP, "--host", "0.0.0.0", "--port", "8123", "--control-token", "t"]
    )
    assert (args.app, args.host, args.port, args.control_token) == (APP, "0.0.0.0", 8123, "t")
    default = _parser().parse_args(["observe", APP])
    assert (default.host, default.port) == ("127.0.0.1", 8000)


@pytest.mark.parametrize("port", ["-1", "65536", "http"])
def test_observe_refuses_a_bad_port_as_a_usage_error(port, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["observe", APP, "--port", port])
    assert exited.value.code == 2
    assert "TCP port number" in capsys.readouterr().err


def test_observe_with_an_unusable_app_exits_2_without_a_traceback(capsys):
    assert main(["observe", "tests.web.sample_app:nothing_here"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("regiment: ")
    assert "Traceback" not in err


# -- the web extra --------------------------------------------------------------------------------

NO_STARLETTE = "import sys\nsys.modules['starlette'] = None  # as if it were not installed\n"


@pytest.mark.slow
def test_importing_actors_the_observer_and_the_command_line_imports_neither_server_library():
    script = (
        "import sys, actors, actors.web, actors.cli, supervision\n"
        "loaded = {'starlette', 'uvicorn', 'httpx'} & set(sys.modules)\n"
        "assert not loaded, loaded\n"
    )
    done = fresh_python("-c", script, timeout=60)
    assert done.returncode == 0, done.stderr


@pytest.mark.slow
def test_observer_app_without_starlette_raises_missing_extra_naming_the_extra():
    script = NO_STARLETTE + (
        "from actors import ActorSystem, MissingExtra, RegimentError\n"
        "from actors.web import observer_app\n"
        "with ActorSystem('bare') as system:\n"
        "    try:\n"
        "        observer_app(system)\n"
        "    except MissingExtra as exc:\n"
        "        assert isinstance(exc, RegimentError) and isinstance(exc, ImportError)\n"
        "        assert (exc.name, exc.extra) == ('starlette', 'web'), (exc.name, exc.extra)\n"
        "        print(exc)\n"
        "    else:\n"
        "        sys.exit('no MissingExtra')\n"
    )
    done = fresh_python("-c", script, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "pip install 'regiment[web]'" in done.stdout


@pytest.mark.slow
def test_observe_without_starlette_names_the_extra_and_exits_2_before_starting_the_app():
    script = NO_STARLETTE + f"from actors.cli import main\nsys.exit(main(['observe', {APP!r}]))\n"
    done = fresh_python("-c", script, timeout=60)
    assert done.returncode == 2
    assert done.stderr.startswith("regiment: regiment observe needs starlette")
    assert "pip install 'regiment[web]'" in done.stderr
    assert "Traceback" not in done.stderr
