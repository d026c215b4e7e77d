"""Draw a workflow definition as a self-contained SVG (no library, no external resources).

Layout, left to right: back edges are found by a depth-first walk from the initial state, the
remaining graph is layered by longest path, and nodes inside a layer are ordered by the mean
position of their predecessors. Edges to the next layer are curves between the boxes; all others
(returns, recalls, long jumps) run in channels above or below the drawing. Actions that keep the
state are small loops above their box.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape, quoteattr

if TYPE_CHECKING:
    from metrolab.engine.workflow import Transition, WorkflowDefinition

BOX_H = 40
ROW_GAP = 56
COL_GAP = 150
MARGIN = 30
CHANNEL_STEP = 22
FONT = "'Noto Sans CJK SC','Microsoft YaHei','PingFang SC',sans-serif"


def _text_width(text: str, size: int = 14) -> int:
    return sum(size if ord(ch) > 0x2E80 else int(size * 0.6) for ch in text)


def _layers(defn: WorkflowDefinition) -> dict[str, int]:
    edges: dict[str, list[str]] = defaultdict(list)
    for t in defn.transitions:
        for source in t.sources:
            if t.to is not None and t.to != source and t.to not in edges[source]:
                edges[source].append(t.to)
    # Depth-first walk from the initial state: an edge to a state on the stack is a back edge.
    back: set[tuple[str, str]] = set()
    on_stack: set[str] = set()
    done: set[str] = set()
    stack: list[tuple[str, int]] = [(defn.initial, 0)]
    on_stack.add(defn.initial)
    while stack:
        node, index = stack[-1]
        if index < len(edges[node]):
            stack[-1] = (node, index + 1)
            nxt = edges[node][index]
            if nxt in on_stack:
                back.add((node, nxt))
            elif nxt not in done:
                on_stack.add(nxt)
                stack.append((nxt, 0))
        else:
            stack.pop()
            on_stack.discard(node)
            done.add(node)
    # Longest path over the forward edges (a DAG), in topological order of the finished walk.
    layer = {key: 0 for key in defn.states}
    changed = True
    for _ in range(len(defn.states) + 1):
        if not changed:
            break
        changed = False
        for source, targets in edges.items():
            for target in targets:
                if (source, target) not in back and layer[target] < layer[source] + 1:
                    layer[target] = layer[source] + 1
                    changed = True
    return layer


def render(defn: WorkflowDefinition, lang: str = "zh") -> str:
    layer = _layers(defn)
    columns: dict[int, list[str]] = defaultdict(list)
    for key in defn.states:
        columns[layer[key]].append(key)
    predecessors: dict[str, list[str]] = defaultdict(list)
    for t in defn.transitions:
        for source in t.sources:
            if t.to and t.to != source and layer[source] < layer[t.to]:
                predecessors[t.to].append(source)
    row: dict[str, float] = {}
    for col in sorted(columns):
        members = columns[col]
        original = {key: i for i, key in enumerate(members)}
        if col:
            members.sort(
                key=lambda k: (
                    sum(row[p] for p in predecessors[k]) / len(predecessors[k])
                    if predecessors[k]
                    else 1e9,
                    original[k],
                )
            )
        for i, key in enumerate(members):
            row[key] = i

    labels = {key: state.text(lang) for key, state in defn.states.items()}
    width = {key: max(96, _text_width(labels[key]) + 32) for key in defn.states}
    col_width = {col: max(width[k] for k in members) for col, members in columns.items()}
    max_rows = max(len(members) for members in columns.values())
    last_row = {key: len(columns[layer[key]]) - 1 for key in defn.states}

    # Each (source, target) edge: "loop", "next" (adjacent layer), "above" or "below" channel.
    routed: list[tuple[str, str, Transition, str]] = []
    for t in defn.transitions:
        for source in t.sources:
            target = t.to or source
            if target == source:
                side = "loop"
            elif layer[target] == layer[source] + 1:
                side = "next"
            else:
                # The channel side where fewer endpoints have a box in the way.
                blocked_above = (row[source] > 0) + (row[target] > 0)
                blocked_below = (row[source] < last_row[source]) + (row[target] < last_row[target])
                forward = layer[target] > layer[source]
                side = "above" if (blocked_above, not forward) < (blocked_below, True) else "below"
            routed.append((source, target, t, side))
    n_above = sum(1 for *_, side in routed if side == "above")
    n_below = sum(1 for *_, side in routed if side == "below")
    n_loops = sum(1 for *_, side in routed if side == "loop")

    loop_room = 46 if n_loops else 0
    top = MARGIN + n_above * CHANNEL_STEP + loop_room + 10
    x_of: dict[int, float] = {}
    x = MARGIN + 30.0
    for col in sorted(columns):
        x_of[col] = x
        x += col_width[col] + COL_GAP
    total_w = x - COL_GAP + MARGIN
    body_h = max_rows * BOX_H + (max_rows - 1) * ROW_GAP
    bottom = top + body_h
    total_h = bottom + 20 + n_below * CHANNEL_STEP + MARGIN

    box: dict[str, tuple[float, float, float, float]] = {}
    for col, members in columns.items():
        offset = (body_h - (len(members) * BOX_H + (len(members) - 1) * ROW_GAP)) / 2
        for i, key in enumerate(members):
            bx = x_of[col] + (col_width[col] - width[key]) / 2
            by = top + offset + i * (BOX_H + ROW_GAP)
            box[key] = (bx, by, width[key], BOX_H)

    title = defn.title.get(lang) or defn.title.get("zh", defn.key)
    out: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total_w:.0f}" height="{total_h:.0f}" '
        f'viewBox="0 0 {total_w:.0f} {total_h:.0f}" role="img" aria-label={quoteattr(title)} '
        f'font-family="{FONT}" font-size="14">',
        f"<title>{escape(title)} — {escape(defn.key)} v{defn.version}</title>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" '
        'markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="#455a64"/></marker></defs>',
        '<rect width="100%" height="100%" fill="#ffffff"/>',
    ]
    edges_out: list[str] = []
    labels_out: list[str] = []
    loops_at: dict[str, int] = defaultdict(int)
    below_i = above_i = 0
    labelled: set[str] = set()  # a transition from many states is labelled on one channel only
    halo = 'paint-order="stroke" stroke="#ffffff" stroke-width="4" stroke-linejoin="round"'
    for source, target, t, side in routed:
        text = t.text(lang)
        tip = (
            f"{t.key}（{'、'.join(t.roles)}）"
            + (f" 签名：{t.signature}" if t.signature else "")
            + (" 需填原因" if t.reason_required else "")
        )
        sx, sy, sw, sh = box[source]
        tx, ty, tw, th = box[target]
        colour = "#c62828" if t.reason_required else "#455a64"
        if side == "loop":
            n = loops_at[source]
            loops_at[source] += 1
            cx = sx + 22 + n * 34  # left part of the box: channels leave from the middle
            path = (
                f"M{cx - 12:.1f},{sy:.1f} C{cx - 30:.1f},{sy - 40:.1f} "
                f"{cx + 30:.1f},{sy - 40:.1f} {cx + 12:.1f},{sy:.1f}"
            )
            lx, ly = cx, sy - 34 - n * 16
        elif side == "next":
            x1, y1 = sx + sw, sy + sh / 2
            x2, y2 = tx, ty + th / 2
            mid = (x1 + x2) / 2
            path = f"M{x1:.1f},{y1:.1f} C{mid:.1f},{y1:.1f} {mid:.1f},{y2:.1f} {x2:.1f},{y2:.1f}"
            lx, ly = mid, (y1 + y2) / 2 - 6
        else:
            if side == "above":
                above_i += 1
                ch = top - 10 - loop_room - above_i * CHANNEL_STEP + CHANNEL_STEP / 2
                y1, y2, dy = sy, ty, -1
            else:
                below_i += 1
                ch = bottom + 20 + below_i * CHANNEL_STEP - CHANNEL_STEP / 2
                y1, y2, dy = sy + sh, ty + th, 1
            shift = (below_i + above_i) % 5 * 6 - 12
            # Leave through the box's top/bottom when nothing is in the way, otherwise through
            # its right side into the gap after its column (and enter the target likewise).
            clear_source = row[source] == (0 if dy < 0 else last_row[source])
            clear_target = row[target] == (0 if dy < 0 else last_row[target])
            points: list[tuple[float, float]] = []
            if clear_source:
                x1 = sx + sw / 2 + shift
                points += [(x1, y1)]
            else:
                x1 = x_of[layer[source]] + col_width[layer[source]] + 16 + shift + 12
                points += [(sx + sw, sy + sh / 2 + 6), (x1, sy + sh / 2 + 6)]
            if clear_target:
                x2 = tx + tw / 2 + shift
                end = [(x2, y2)]
            else:
                x2 = x_of[layer[target]] - 16 - shift - 12
                end = [(x2, ty + th / 2 + 6), (tx, ty + th / 2 + 6)]
            points += [(x1, ch), (x2, ch), *end]
            path = "M" + " L".join(f"{px:.1f},{py:.1f}" for px, py in points)
            lx, ly = (x1 + x2) / 2, ch - 5
        edges_out.append(
            f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="1.4" stroke-linejoin="round" '
            f'marker-end="url(#arrow)"><title>{escape(tip)}</title></path>'
        )
        if side in ("above", "below"):
            if t.key in labelled:
                continue
            labelled.add(t.key)
        labels_out.append(
            f'<text x="{lx:.1f}" y="{ly:.1f}" text-anchor="middle" font-size="12" '
            f'fill="{colour}" {halo}>{escape(text)}<title>{escape(tip)}</title></text>'
        )

    nodes_out: list[str] = []
    for key, state in defn.states.items():
        bx, by, bw, bh = box[key]
        initial = key == defn.initial
        stroke = "#1565c0" if initial else "#37474f"
        fill = "#e3f2fd" if initial else ("#e8f5e9" if state.final else "#fafafa")
        nodes_out.append(f'<g class="state" data-key={quoteattr(key)}>')
        if state.final:
            nodes_out.append(
                f'<rect x="{bx - 3:.1f}" y="{by - 3:.1f}" width="{bw + 6:.1f}" height="{bh + 6:.1f}" '
                f'rx="10" fill="none" stroke="{stroke}" stroke-width="1"/>'
            )
        nodes_out.append(
            f'<rect x="{bx:.1f}" y="{by:.1f}" width="{bw:.1f}" height="{bh:.1f}" rx="8" '
            f'fill="{fill}" stroke="{stroke}" stroke-width="{2 if initial else 1.2}"/>'
        )
        nodes_out.append(
            f'<text x="{bx + bw / 2:.1f}" y="{by + bh / 2 + 5:.1f}" text-anchor="middle" '
            f'fill="#212121">{escape(labels[key])}</text><title>{escape(key)}</title></g>'
        )
        if initial:
            nodes_out.append(
                f'<circle cx="{bx - 24:.1f}" cy="{by + bh / 2:.1f}" r="6" fill="#1565c0"/>'
                f'<path d="M{bx - 18:.1f},{by + bh / 2:.1f} L{bx:.1f},{by + bh / 2:.1f}" '
                'stroke="#1565c0" stroke-width="1.4" marker-end="url(#arrow)"/>'
            )
    out += edges_out + nodes_out + labels_out
    out.append("</svg>")
    return "\n".join(out)
