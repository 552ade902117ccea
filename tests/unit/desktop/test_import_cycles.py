"""No two desktop modules import each other, directly or through others (TYPE_CHECKING too)."""

from __future__ import annotations

import grimp


def test_desktop_modules_import_without_cycles() -> None:
    graph = grimp.build_graph("desktop")
    cycles = set()
    for importer in graph.modules:
        for imported in graph.find_modules_directly_imported_by(importer):
            chain = graph.find_shortest_chain(importer=imported, imported=importer)
            if chain is not None:
                cycles.add(" -> ".join((importer, *chain)))
    assert sorted(cycles) == []
