"""`TreeNode.render` and `mermaid` with ``status=True``, as ``regiment tree`` prints them."""

from __future__ import annotations

from tests.messages import Recorder


def test_render_with_status_shows_each_slots_status_after_its_state(system):
    system.spawn(Recorder, name="solo")
    tree = system.tree()
    assert "solo [agent] running restarts=0" in tree.render()  # the default is unchanged
    assert "solo [agent] running status=idle restarts=0" in tree.render(status=True)
    assert "root [supervisor] running status=idle restarts=0" in tree.render(status=True)


def test_mermaid_with_status_shows_it_in_every_box(system):
    system.spawn(Recorder, name="solo")
    graph = system.tree().mermaid(status=True)
    assert 'n_solo["solo<br/>running status=idle restarts=0' in graph
    assert "status=" not in system.tree().mermaid()
