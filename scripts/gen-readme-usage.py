#!/usr/bin/env python3
"""gen-readme-usage.py: README.md's reference tables, made from the man page.

    scripts/gen-readme-usage.py [--check] [MAN_PAGE [README]]

docs/gcinspect.1.in is the one source of the command, option, exit status and
gdb command reference.  This rewrites the blocks of README.md between

    <!-- BEGIN generated: NAME ... -->  and  <!-- END generated: NAME -->

for NAME in commands, options, exit-status and gdb-commands, from the man
page's COMMANDS, OPTIONS, EXIT STATUS and GDB COMMANDS sections.  --check
changes nothing and exits 1 if README.md is not what it would write (the
packaging test runs it so).

The man page keeps to a small subset of man(7) (see its header), so this is a
small converter, not a roff implementation: each .TP entry becomes a table row,
its tag a code span (italic words, the placeholders, in capitals), its text a
cell where bold is code and italic a placeholder in capitals, or code when it
looks like a path.
"""

import os
import re
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BLOCKS = (
    ("commands", "COMMANDS", ("command", "what")),
    ("options", "OPTIONS", ("option", "meaning")),
    ("exit-status", "EXIT STATUS", ("code", "meaning")),
    ("gdb-commands", "GDB COMMANDS", ("command", "what")),
)
ESCAPES = (("\\-", "-"), ("\\(en", "\u2013"), ("\\(em", "\u2014"), ("\\(aq", "'"),
           ("\\&", ""), ("\\e", "\\"))


def plain(s):
    for a, b in ESCAPES:
        s = s.replace(a, b)
    return s


def looks_like_path(word):
    """A file or variable, not a placeholder (those are single plain words)."""
    return word[:1] in "/~$" or any(c in word for c in "/._")


def tag_md(line):
    """A .TP tag: one code span; italic words (placeholders) in capitals."""
    out = []
    for font, text in re.findall(r"\\f([BIR])((?:(?!\\f[BIR]).)*)", "\\fR" + line):
        text = plain(text)
        out.append(text.upper() if font == "I" else text)
    tag = re.sub(r"\s+", " ", "".join(out)).strip()
    return "`%s`" % tag.replace("|", "\\|")


def text_md(line):
    """Body text: bold is code, italic a placeholder (capitals) or a path (code)."""
    out = []
    for font, text in re.findall(r"\\f([BIR])((?:(?!\\f[BIR]).)*)", "\\fR" + line):
        text = plain(text)
        if not text:
            continue
        if font == "B":
            out.append("`%s`" % text)
        elif font == "I":
            out.append("`%s`" % text if looks_like_path(text) else text.upper())
        else:
            out.append(text)
    s = "".join(out)
    s = s.replace("``", "")  # adjacent code spans (bold then bold) join
    return s.replace("|", "\\|")


def sections(man):
    """{SECTION: [lines]} of the man page, requests and text as they are."""
    out, name = {}, None
    for line in man.splitlines():
        if line.startswith(".\\\""):
            continue
        if line.startswith(".SH "):
            name = line[4:].strip().strip('"')
            out[name] = []
        elif name is not None:
            out[name].append(line)
    return out


def entries(lines):
    """The .TP entries of a section: [(tag, text)]; text stops at the next
    .TP, .PP or .SH, and is joined into one paragraph."""
    rows, i = [], 0
    while i < len(lines):
        if lines[i].strip() == ".TP" and i + 1 < len(lines):
            tag = lines[i + 1]
            body = []
            i += 2
            while i < len(lines) and not lines[i].startswith((".TP", ".PP", ".SH", ".EX")):
                if not lines[i].startswith("."):
                    body.append(lines[i])
                i += 1
            rows.append((tag, " ".join(body)))
        else:
            i += 1
    return rows


def render(man):
    secs = sections(man)
    blocks = {}
    for name, section, (h1, h2) in BLOCKS:
        if section not in secs:
            raise SystemExit("gen-readme-usage: the man page has no %s section" % section)
        rows = entries(secs[section])
        lines = ["| %s | %s |" % (h1, h2), "|---|---|"]
        for tag, text in rows:
            code = tag_md(tag)
            if name == "exit-status":
                code = code.strip("`")
            lines.append("| %s | %s |" % (code, text_md(text)))
        blocks[name] = "\n".join(lines) + "\n"
    return blocks


def rewrite(readme, blocks):
    for name, text in blocks.items():
        pat = re.compile(r"(<!-- BEGIN generated: %s [^\n]*-->\n)(.*?)(<!-- END generated: %s -->)"
                         % (re.escape(name), re.escape(name)), re.S)
        if not pat.search(readme):
            raise SystemExit("gen-readme-usage: README.md has no block %r "
                             "(<!-- BEGIN generated: %s ... -->)" % (name, name))
        readme = pat.sub(lambda m: m.group(1) + text + m.group(3), readme)
    return readme


def main(argv):
    if "-h" in argv or "--help" in argv:
        sys.stdout.write(__doc__)
        return 0
    check = "--check" in argv
    args = [a for a in argv if a != "--check"]
    bad = [a for a in args if a.startswith("-")]
    if bad or len(args) > 2:
        sys.stderr.write("gen-readme-usage: usage: gen-readme-usage.py [--check] "
                         "[MAN_PAGE [README]]\n")
        return 64
    man_path = args[0] if args else os.path.join(TOP, "docs", "gcinspect.1.in")
    readme_path = args[1] if len(args) > 1 else os.path.join(TOP, "README.md")
    with open(man_path, encoding="utf-8") as f:
        man = f.read()
    with open(readme_path, encoding="utf-8") as f:
        readme = f.read()
    new = rewrite(readme, render(man))
    if check:
        if new != readme:
            sys.stderr.write("gen-readme-usage: %s is not what %s says; run "
                             "scripts/gen-readme-usage.py\n" % (readme_path, man_path))
            return 1
        return 0
    if new != readme:
        with open(readme_path, "w", encoding="utf-8") as f:
            f.write(new)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
