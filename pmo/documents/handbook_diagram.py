"""The stage-and-gate diagram of a lifecycle: stages as boxes, gates as diamonds between
them, a repeated stage drawn as a stack with what it repeats over, and each exception
gate below its stage with the way back to the stage a recycle re-plans from."""

import textwrap

from pmo.documents.charts import _figure, _png
from process_library.schema import Lifecycle

STAGE_COLOUR = "#9DB9E3"
GATE_COLOUR = "#1F4E9A"
EXCEPTION_COLOUR = "#C8553D"
STEP = 3.2  # from one stage's centre to the next


def draw_stage_gate_diagram(lifecycle: Lifecycle) -> bytes:
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Polygon

    count = len(lifecycle.stages)
    excepting = any(s.exception_gate for s in lifecycle.stages)
    figure = _figure(max(2.1 * count, 6.0), 3.9 if excepting else 2.4)
    axes = figure.add_subplot()
    axes.set_axis_off()
    axes.set_xlim(-1.4, STEP * count - 0.6)
    axes.set_ylim(-3.0 if excepting else -0.9, 1.35)
    positions = {s.key: STEP * i for i, s in enumerate(lifecycle.stages)}

    def arrow(start, end, **style):
        axes.add_patch(
            FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=12, color="0.3", **style)
        )

    def diamond(x, y, size, colour, label, below):
        axes.add_patch(
            Polygon(
                [(x - size, y), (x, y + size), (x + size, y), (x, y - size)],
                closed=True,
                color=colour,
                zorder=3,
            )
        )
        axes.text(
            x,
            y - size - 0.08 if below else y + size + 0.08,
            _wrapped(label, 16),
            ha="center",
            va="top" if below else "bottom",
            fontsize=6.5,
            color=colour,
        )

    for stage in lifecycle.stages:
        x = positions[stage.key]
        if stage.repeat:  # a stack: the stage runs once per item
            for offset in (0.16, 0.08):
                axes.add_patch(_box(FancyBboxPatch, x + offset, offset, "#C9D8EE"))
        axes.add_patch(_box(FancyBboxPatch, x, 0, STAGE_COLOUR))
        axes.text(x, 0, _wrapped(stage.name, 14), ha="center", va="center", fontsize=7.5, zorder=4)
        if stage.repeat:
            axes.text(
                x,
                0.78,
                f"one per item of {stage.repeat.for_each}",
                ha="center",
                fontsize=6.5,
                color="0.3",
            )
        gate_x = x + 1.45
        arrow((x + 0.95, 0), (gate_x - 0.3, 0))
        diamond(gate_x, 0, 0.3, GATE_COLOUR, stage.gate.name, below=True)
        if stage.key != lifecycle.stages[-1].key:
            arrow((gate_x + 0.3, 0), (x + STEP - 0.95, 0))
        if stage.exception_gate:
            gate = stage.exception_gate
            arrow((x, -0.55), (x, -1.65), linestyle="--")
            diamond(x, -1.9, 0.25, EXCEPTION_COLOUR, gate.name, below=True)
            back = positions[gate.replan_stage]
            if back == x:
                arrow(
                    (x - 0.25, -1.9),
                    (x - 0.8, -0.56),
                    linestyle="--",
                    connectionstyle="arc3,rad=-0.4",
                )
            else:
                arrow(
                    (x - 0.25, -1.9),
                    (back, -0.56),
                    linestyle="--",
                    connectionstyle="arc3,rad=-0.25",
                )
    axes.set_title(f"{lifecycle.title}: stages and gates", fontsize=10)
    return _png(figure)


def _box(patch, x, y, colour):
    return patch(
        (x - 0.95, y - 0.55),
        1.9,
        1.1,
        boxstyle="round,pad=0.02,rounding_size=0.12",
        color=colour,
        zorder=2,
    )


def _wrapped(text: str, width: int) -> str:
    return "\n".join(textwrap.wrap(text, width)[:3])
