"""The core, and ``regiment demo``, never import rich; what needs it says how to install it."""

from __future__ import annotations

import pytest

from tests.helpers import fresh_python

pytestmark = pytest.mark.slow  # each test starts an interpreter

NO_RICH = "import sys\nsys.modules['rich'] = None  # as if rich were not installed\n"


def test_importing_actors_and_the_command_line_does_not_import_rich():
    script = (
        "import sys, actors, actors.cli, supervision\n"
        "assert 'rich' not in sys.modules, 'imported'\n"
    )
    done = fresh_python("-c", script, timeout=60)
    assert done.returncode == 0, done.stderr


def test_regiment_demo_runs_and_exits_0_without_rich():
    script = NO_RICH + "from actors.cli import main\nsys.exit(main(['demo']))\n"
    done = fresh_python("-c", script, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.rstrip().endswith("shut down cleanly")


def test_top_without_rich_names_the_extra_to_install_and_exits_2():
    script = (
        NO_RICH + "from actors.cli import main\n"
        "sys.exit(main(['top', 'tests.cli.sample_app:build', '--once']))\n"
    )
    done = fresh_python("-c", script, timeout=60)
    assert done.returncode == 2
    assert done.stderr.startswith("regiment: regiment top needs rich")
    assert "pip install 'regiment[cli]'" in done.stderr
    assert "Traceback" not in done.stderr


def test_run_until_with_progress_without_rich_raises_missing_extra_before_running():
    script = NO_RICH + (
        "from actors import ActorSystem, MissingExtra, RegimentError\n"
        "with ActorSystem('bare') as system:\n"
        "    try:\n"
        "        system.run_until(max_runtime=60, progress=True)\n"
        "    except MissingExtra as exc:\n"
        "        assert isinstance(exc, RegimentError) and isinstance(exc, ImportError)\n"
        "        assert (exc.name, exc.extra) == ('rich', 'cli'), (exc.name, exc.extra)\n"
        "        print(exc)\n"
        "    else:\n"
        "        sys.exit('no MissingExtra')\n"
    )
    done = fresh_python("-c", script, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "pip install 'regiment[cli]'" in done.stdout
