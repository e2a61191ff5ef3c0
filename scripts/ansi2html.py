#!/usr/bin/env python3
"""Terminal text with SGR colour codes (tmux capture-pane -e -p) -> one HTML page.

Used for docs/img/top.png: capture the pane (-e -p -N), convert, then
  chromium --headless --no-sandbox --screenshot=top.png --window-size=W,H page.html
Handles what a capture holds: reset, bold, dim, reverse, 8/16 colours and their defaults.
"""
import html
import re
import sys

PALETTE = ["#1e1e1e", "#d9534f", "#5cb85c", "#e5c07b", "#61afef", "#c678dd", "#56b6c2", "#dcdcdc"]
BRIGHT = ["#5c6370", "#ff6b6b", "#98c379", "#f0d58a", "#82c3ff", "#e0a3ff", "#7fdbe6", "#ffffff"]
FG, BG = "#dcdcdc", "#1e1e1e"


RESET = {"bold": False, "dim": False, "reverse": False, "fg": None, "bg": None}


def spans(line, state):
    """One line as HTML; `state` (attributes in force) carries over from line to line."""
    out = []
    for part in re.split(r"(\x1b\[[0-9;]*m)", line):
        m = re.fullmatch(r"\x1b\[([0-9;]*)m", part)
        if m:
            codes = [int(c) if c else 0 for c in m.group(1).split(";")]
            for c in codes:
                if c == 0:
                    state.update(RESET)
                elif c == 1:
                    state["bold"] = True
                elif c == 2:
                    state["dim"] = True
                elif c == 22:
                    state["bold"] = state["dim"] = False
                elif c == 7:
                    state["reverse"] = True
                elif c == 27:
                    state["reverse"] = False
                elif 30 <= c <= 37:
                    state["fg"] = PALETTE[c - 30]
                elif 90 <= c <= 97:
                    state["fg"] = BRIGHT[c - 90]
                elif c == 39:
                    state["fg"] = None
                elif 40 <= c <= 47:
                    state["bg"] = PALETTE[c - 40]
                elif 100 <= c <= 107:
                    state["bg"] = BRIGHT[c - 100]
                elif c == 49:
                    state["bg"] = None
            continue
        if not part:
            continue
        fg, bg = state["fg"] or FG, state["bg"] or BG
        if state["reverse"]:
            fg, bg = bg, fg
        style = f"color:{fg};background:{bg}"
        if state["bold"]:
            style += ";font-weight:bold"
        if state["dim"]:
            style += ";opacity:0.65"
        out.append(f'<span style="{style}">{html.escape(part)}</span>')
    return "".join(out)


def main():
    lines = sys.stdin.read().rstrip("\n").split("\n")
    state = dict(RESET)
    body = "\n".join(spans(l, state) for l in lines)
    print(
        "<!doctype html><html><head><meta charset=utf-8><style>"
        f"body{{margin:0;background:{BG}}}pre{{margin:0;padding:10px 12px;font:13px/1.3 'DejaVu Sans Mono',monospace;color:{FG}}}"
        f"</style></head><body><pre>{body}</pre></body></html>"
    )


if __name__ == "__main__":
    main()
