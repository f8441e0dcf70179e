"""How a cpp_standalone project is compiled: a precompiled header, the slow file first, and a
``main.cpp`` that is the same in every process.

Brian2 writes one C++ file per code object (about 80 for the two-area circuit), each of which
parses the same system and Brian2 headers (``objects.h``, ``<iostream>``, ``<cmath>`` …): about
0.5 s of a 0.65 s compile per file.  Brian2's ``makefile`` is left exactly as Brian2 writes it
(Brian2 rewrites a generated file only when its text changes, which is what makes incremental
builds incremental); make is pointed at :data:`MAKEFILE` instead, which includes it and adds:

- a precompiled header (:data:`PCH`: the headers every generated file starts with), built once
  per project and force-included (``-include``) in every file but ``objects.cpp``: a code
  object then compiles in ~0.16 s instead of ~0.65 s;
- ``objects.cpp`` (array allocation, file input and output, the run-argument parser: one
  9,000-line file and no simulation loop) compiled at ``-O0`` instead of ``-O3`` (2 s instead of
  12 s) and started first, so that it overlaps the code objects instead of ending the build
  alone on one core.  The loop's code objects keep Brian2's flags (and come first in the link,
  so the linker keeps their optimised copies of the header functions both use).
- dependencies written by the compiler while it compiles each file (``-MMD``), instead of
  Brian2's ``make.deps`` rule, which preprocesses every file in one serial pass (5 s) before
  make may start any compile, on every build that changes a file.

A precompiled header that does not match the compiler's flags is ignored by GCC (the header is
then read as text), so the worst case is the old build time, never a different binary.  The
same spikes with and without these rules are checked in ``tests/test_engine.py``.

:func:`canonical_clock_order` makes ``main.cpp`` independent of the process that wrote it.
Brian2 sets every clock's ``t`` and ``timestep`` in the order of a set of clocks, which follows
memory addresses, so each new process wrote a differently ordered ``main.cpp``; make then
recompiled ``main.cpp`` and re-ran the dependency scan of all files (about 5 s), the start-up
cost of every worker of a sweep.  The same holds for the clocks that drive no code object
(e.g. the clock of a summed-variable ``Synapses`` whose update its target runs): Brian2 adds
them to the network, ``network.add(&clock, NULL)``, in set order; they are sorted by name too.

:func:`report_once_per_step` keeps the progress report from slowing the loop.  With a report
function, Brian2's ``Network::run`` calls ``std::clock()`` before *every code object* of every
step, not once per step: ~80 objects × 10,000 steps per simulated second = 800,000
``clock_gettime(CLOCK_PROCESS_CPUTIME_ID)`` system calls, 10-15 % of the loop's wall time here
(invisible to an instruction counter such as callgrind, which does not see the kernel).  The
edited ``network.cpp`` asks the clock once per step, before the first object; the report fires
at the same step or the one after, and nothing a code object computes changes.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

#: The makefile make is run with (it includes Brian2's ``makefile``).
MAKEFILE = "bioattn.mk"
#: The precompiled header's source.
PCH = "bioattn_pch.h"

_PCH_TEXT = """\
// bioattn: the headers every file Brian2 generates starts with, precompiled once.
#include "objects.h"
#include "brianlib/common_math.h"
#include "brianlib/stdint_compat.h"
#include <cmath>
#include <climits>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>
"""

_MAKEFILE_TEXT = f"""\
# bioattn: Brian2's makefile plus a precompiled header, per-file dependencies, and objects.cpp
# first and at -O0 (see bioattn/compile.py).
all: objects.o {PCH}.gch

include makefile

PCH_OBJS := $(filter-out objects.o,$(OBJS))
$(PCH_OBJS): CXXFLAGS += -include {PCH}
$(PCH_OBJS): {PCH}.gch
$(OBJS): CXXFLAGS += -MMD -MP
objects.o: CXXFLAGS += -O0

{PCH}.gch: {PCH} makefile
\t$(CXX) $(CXXFLAGS) -MMD -MP -MF {PCH}.d -MT $@ -x c++-header {PCH} -o $@.tmp && mv $@.tmp $@

# Dependencies come from the compiler (-MMD) as each file compiles; Brian2's make.deps, one
# serial preprocessing pass over all files before any compile, is left empty.
make.deps:
\t: > make.deps

-include {PCH}.d $(OBJS:.o=.d)
"""


def write_build_files(directory: Path) -> None:
    """Write :data:`MAKEFILE` and :data:`PCH` into the project ``directory`` (only when their
    text differs, so that make's time stamps stay meaningful)."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in ((MAKEFILE, _MAKEFILE_TEXT), (PCH, _PCH_TEXT)):
        path = directory / name
        if not path.exists() or path.read_text() != text:
            path.write_text(text)


def make_args(jobs: int) -> list[str]:
    """Arguments for make: ``jobs`` compilers at once, :data:`MAKEFILE`."""
    return [f"-j{max(1, jobs)}", "-f", MAKEFILE]


#: Brian2's (2.9) per-object report check in ``network.cpp``, and what replaces it.
_CLOCK_READ = "\n            {\n                current = std::clock();"
_PER_OBJECT_REPORT = "            if (report_func)" + _CLOCK_READ
_PER_STEP_REPORT = "            if (report_func && i == 0)" + _CLOCK_READ


def report_once_per_step(device: Any) -> None:
    """Make ``device`` write a ``network.cpp`` whose loop reads the process clock once per time
    step instead of once per code object (see the module docstring).  Where Brian2's template
    differs from the one this edit knows (another Brian2 version), the file is left as Brian2
    writes it: slower, never different."""
    generate = type(device).generate_network_source

    def generate_network_source(self: Any, writer: Any, compiler: Any) -> None:
        class _Editor:
            def write(self, filename: str, contents: Any) -> None:
                if filename == "network.*" and contents.cpp_file.count(_PER_OBJECT_REPORT) == 1:
                    contents.cpp_file = contents.cpp_file.replace(
                        _PER_OBJECT_REPORT, _PER_STEP_REPORT
                    )
                writer.write(filename, contents)

        generate(self, _Editor(), compiler)

    device.generate_network_source = generate_network_source.__get__(device)


def canonical_clock_order(device: Any) -> None:
    """Sort each run of consecutive clock-variable assignments in ``device``'s main queue by
    clock name (the assignments are independent scalar stores, so their order is free), and
    keep only the last of consecutive stores to the same array element: how many times
    ``defaultclock.dt`` was reset before the model's step was set depends on what the process
    built before (a first build in a new process stores Brian2's default first), not on the
    network."""
    clock_arrays = {}
    for clock in device.clocks:
        for variable in ("t", "timestep"):
            name = device.get_array_name(clock.variables[variable], access_data=False)
            clock_arrays[name] = clock.name

    def clock_of(entry: tuple) -> str | None:
        kind, args = entry
        if kind == "set_by_single_value" and args[0] in clock_arrays:
            return clock_arrays[args[0]]
        return None

    def target(entry: tuple) -> tuple | None:
        kind, args = entry
        return (args[0], str(args[1])) if kind == "set_by_single_value" else None

    queue = device.main_queue
    device.main_queue[:] = [
        entry
        for k, entry in enumerate(queue)
        if target(entry) is None or k + 1 == len(queue) or target(queue[k + 1]) != target(entry)
    ]
    # Runs of clock assignments sorted (stably: t before timestep), everything else in place.
    device.main_queue[:] = [
        entry
        for is_clock, run in itertools.groupby(
            device.main_queue, key=lambda e: clock_of(e) is not None
        )
        for entry in (sorted(run, key=clock_of) if is_clock else run)
    ]
    # Clocks without a code object: ``net.add(&clock, NULL);`` lines, consecutive, after the
    # code objects' lines; a clock that only advances has no place in the order of execution.
    for kind, args in device.main_queue:
        if kind == "run_network":
            lines = args[1]
            lines[:] = [
                line
                for is_bare, run in itertools.groupby(lines, key=_is_bare_clock)
                for line in (sorted(run) if is_bare else run)
            ]


def _is_bare_clock(line: str) -> bool:
    return line.endswith(", NULL);") and ".add(&" in line
