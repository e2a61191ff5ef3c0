#!/usr/bin/env python3
"""tcptrace-bpf(8) from the binary's own help (--experimental-dump-help, the description
swift-argument-parser keeps of every command and option) and sections of the README.

usage: make-manpage.py BINARY README.md > tcptrace-bpf.8
"""
import json
import re
import subprocess
import sys

# README sections (## or ### headings) that go into the page, in this order.
README_SECTIONS = ["Requirements", "Exit status", "Lost events", "Running as a service"]


def esc(text):
    """Plain text to roff: backslashes and dashes escaped, anything beyond ASCII as a named glyph."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "".join(c if ord(c) < 128 else "\\[u%04X]" % ord(c) for c in text)


def inline(text):
    """Markdown inline markup (`code`, **bold**, [text](url)) to roff fonts."""
    out, pos = [], 0
    for m in re.finditer(r"`([^`]+)`|\*\*([^*]+)\*\*|\[([^\]]+)\]\([^)]+\)", text):
        out.append(esc(text[pos:m.start()]))
        if m.group(1) is not None:
            out.append("\\fB" + esc(m.group(1)) + "\\fR")
        elif m.group(2) is not None:
            out.append("\\fB" + esc(m.group(2)) + "\\fR")
        else:
            out.append(esc(m.group(3)))
        pos = m.end()
    out.append(esc(text[pos:]))
    return "".join(out)


def line(text):
    """One output line of running text: a leading . or ' would be read as a request."""
    return "\\&" + text if text[:1] in (".", "'") else text


def markdown(lines):
    """The subset of Markdown the README uses: paragraphs, bullets, tables, code blocks, headings."""
    out, para, i = [], [], 0

    def flush():
        if para:
            out.append(".PP")
            out.extend(line(inline(p)) for p in para)
            para.clear()

    while i < len(lines):
        s = lines[i].rstrip("\n")
        if s.startswith("```"):
            flush()
            out += [".PP", ".nf", ".RS 4"]
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                out.append(line(esc(lines[i].rstrip("\n"))))
                i += 1
            out += [".RE", ".fi"]
        elif s.startswith("### "):
            flush()
            out.append(".SS " + inline(s[4:]))
        elif s.startswith("|"):
            flush()
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                cells = [c.strip() for c in re.split(r"(?<!\\)\|", lines[i].strip())[1:-1]]
                if not all(re.fullmatch(r":?-+:?", c) for c in cells):
                    rows.append([c.replace("\\|", "|") for c in cells])
                i += 1
            for row in rows[1:]:
                out += [".TP", line(inline(row[0]))]
                out.append(line(inline(" ".join(row[1:]))))
            continue
        elif s.startswith("- "):
            flush()
            item = [s[2:]]
            i += 1
            while i < len(lines) and lines[i].startswith("  ") and lines[i].strip():
                item.append(lines[i].strip())
                i += 1
            out += [".IP \\(bu 2", line(inline(" ".join(item)))]
            continue
        elif not s.strip():
            flush()
        else:
            para.append(s.strip())
        i += 1
    flush()
    return out


def readme_sections(path):
    text = open(path, encoding="utf-8").read().splitlines(keepends=True)
    found = {}
    for n, s in enumerate(text):
        m = re.match(r"(#{2,3}) (.*)", s)
        if not m or m.group(2).strip() not in README_SECTIONS:
            continue
        depth, body = len(m.group(1)), []
        for t in text[n + 1:]:
            h = re.match(r"(#{2,3}) ", t)
            if h and len(h.group(1)) <= depth:
                break
            body.append(t)
        found[m.group(2).strip()] = body
    missing = [s for s in README_SECTIONS if s not in found]
    if missing:
        sys.exit(f"make-manpage.py: README sections not found: {', '.join(missing)}")
    return [(name, found[name]) for name in README_SECTIONS]


def option(arg):
    names = [("-" if n["kind"] == "short" else "--") + n["name"] for n in arg.get("names", [])]
    value = arg.get("valueName", "")
    if arg["kind"] == "positional":
        head = "\\fI" + esc(value) + "\\fR" + ("\\ ..." if arg.get("isRepeating") else "")
    else:
        head = ", ".join("\\fB" + esc(n) + "\\fR" for n in names)
        if arg["kind"] == "option":
            head += " \\fI" + esc(value) + "\\fR"
    text = arg.get("abstract", "")
    if arg.get("defaultValue") and arg["kind"] == "option":
        text += f" (default: {arg['defaultValue']})"
    if arg.get("allValues") and "choose" not in text:
        text += " One of: " + ", ".join(arg["allValues"]) + "."
    return [".TP", line(head), line(esc(text))]


def paragraphs(text):
    """A help discussion: blank-line paragraphs; indented lines (examples) kept as they are."""
    out = []
    for block in text.strip().split("\n\n"):
        rows = block.split("\n")
        if any(r.startswith("  ") for r in rows[1:]):
            out += [".PP", line(esc(rows[0])), ".nf", ".RS 4"]
            out += [line(esc(r.strip())) for r in rows[1:]]
            out += [".RE", ".fi"]
        else:
            out += [".PP", line(esc(" ".join(rows)))]
    return out


def main():
    binary, readme = sys.argv[1], sys.argv[2]
    root = json.loads(subprocess.run([binary, "--experimental-dump-help"], check=True, capture_output=True).stdout)["command"]
    version = subprocess.run([binary, "--version"], check=True, capture_output=True, text=True).stdout.strip()
    name = root["commandName"]
    commands = [c for c in root.get("subcommands", []) if c.get("shouldDisplay", True) and c["commandName"] != "help"]
    out = [
        f'.TH {name.upper()} 8 "" "{name} {version}" "System Administration"',
        ".SH NAME",
        f"{name} \\- {esc(root['abstract'])}",
        ".SH SYNOPSIS",
    ]
    for c in commands:
        default = root.get("defaultSubcommand") == c["commandName"]
        sub = f"[\\fB{c['commandName']}\\fR]" if default else f"\\fB{c['commandName']}\\fR"
        out += [".PP", f"\\fB{name}\\fR {sub} [\\fIoptions\\fR]"]
    out += [".SH DESCRIPTION"] + paragraphs(root.get("discussion", ""))
    out.append(".SH COMMANDS")
    for c in commands:
        out += [f".SS {c['commandName']}", line(esc(c.get("abstract", "")))]
        if c.get("discussion"):
            out += paragraphs(c["discussion"])
        for arg in c.get("arguments", []):
            if arg.get("shouldDisplay", True) and arg.get("kind") and arg.get("valueName") not in ("help", "version"):
                out += option(arg)
    for title, body in readme_sections(readme):
        out.append(".SH " + esc(title.upper()))
        out += markdown(body)
    out += [
        ".SH SEE ALSO",
        "\\fBss\\fR(8), \\fBbpftool\\fR(8), \\fBlogrotate\\fR(8), \\fBsystemd.exec\\fR(5), \\fBcapabilities\\fR(7)",
    ]
    print("\n".join(out))


if __name__ == "__main__":
    main()
