#!/usr/bin/python3
"""check_html.py: gcinspect report -o FILE.html, read back in headless Chromium.

The target (tests/targets/leak_target.py --evil-names) holds instances of
classes named with HTML and script.  For its core, and for a forked worker
read live (--pid, where the page map also shows shared and private pages):
  - the file is self-contained: no URL it would fetch, no <link>, no src=;
  - Chromium renders it (--dump-dom) with JavaScript, and without: in both,
    every table shows exactly the numbers of summary --json, touch --json
    and types --json -g LIST for each list; the page map's counts agree with
    summary's pages;
  - the hostile type names are text in the tables: no script of theirs ran
    (the title is ours, no element has data-pwned), and the page holds only
    its own two <script> elements; the embedded JSON parses and equals the
    JSON reports;
  - a screenshot is taken (kept with --keep: look at it).

Usage: check_html.py --gcinspect BIN --python INTERP [--chromium BIN]
                     [--workdir DIR] [--keep]
Exit status: 0 pass, 1 fail, 77 skip (no gcore, or ptrace not allowed).
"""

import argparse
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))
import check_diff  # noqa: E402
import gcitest  # noqa: E402
from gcitest import Checker, Fail, Skip, log, take_core  # noqa: E402


def num(text):
    """A number cell back to a number (None for '-')."""
    if text == "-":
        return None
    if text in ("yes", "no"):
        return text == "yes"
    t = text.replace(",", "")
    return float(t) if "." in t else int(t)


def chromium(binary, url, workdir, args):
    profile = tempfile.mkdtemp(prefix="chromium-", dir=workdir)
    argv = [binary, "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--user-data-dir=" + profile] + args + [url]
    log("+ " + gcitest.shell_join(argv))
    try:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=120)
    except subprocess.TimeoutExpired:
        raise Fail("chromium did not finish within 120 s")
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    if p.returncode != 0:
        raise Fail("chromium exited with status %d:\n%s"
                   % (p.returncode, p.stderr.decode("utf-8", "replace")[-3000:]))
    return p.stdout.decode("utf-8", "replace")


def check_page(ck, label, dom, summary, touch, types, truth, target_path):
    L = label
    ck.eq("%s: title" % L, dom.title, "gcinspect: " + target_path)
    ck.eq("%s: only our two scripts" % L, len(dom.scripts), 2)
    ck.true("%s: no injected attribute ran" % L, "data-pwned" not in dom.attrs_seen)
    ck.true("%s: no element with onerror" % L, "onerror" not in dom.attrs_seen)
    # Summary tables.
    for i, interp in enumerate(summary["interpreters"]):
        t = dom.table(id="summary-%d" % i)
        if not ck.true("%s: table summary-%d" % (L, i), len(t) == 1):
            continue
        rows = [r for r in t[0][1] if "data-list" in r[0]]
        lists = list(interp["generations"]) + ([interp["permanent"]] if interp["permanent"] else [])
        got = [[r[1][0]] + [num(c) for c in r[1][1:]] for r in rows]
        want = [[g["name"], g.get("threshold"), g.get("count"), g["objects"], g["bytes"],
                 g["pages"]] for g in lists]
        ck.eq("%s: summary-%d rows" % (L, i), got, want)
    # Collections and what-ifs.
    t = dom.table(id="collections-table")
    if ck.true("%s: collections table" % L, len(t) == 1):
        got = [[num(c) for c in r[1]] for r in t[0][1] if "data-generation" in r[0]]
        want = []
        for c in touch["collections"]:
            row = [c["generation"], c["objects"], c["object_bytes"], c["pages"],
                   c["bytes"] // 1024, c["state_pages"], c["packed_pages"]]
            if c["sharing"] is not None:
                row += [c["sharing"]["shared_pages"], c["sharing"]["exclusive_pages"],
                        c["sharing"]["absent_pages"]]
            want.append(row)
        ck.eq("%s: collections rows" % L, got, want)
    t = dom.table(id="whatif")
    if ck.true("%s: what-if table" % L, len(t) == 1):
        kv = dict((r[0]["data-key"], r[1][-1]) for r in t[0][1])
        fz, nc = touch["what_if"]["freeze_now"], touch["what_if"]["next_collection"]
        ck.eq("%s: what-if freeze" % L, (num(kv["freeze_pages"]), num(kv["freeze_pages_saved"])),
              (fz["pages"], fz["pages_saved"]))
        if fz["shared_pages_kept"] is not None:
            ck.eq("%s: what-if shared kept" % L, num(kv.get("freeze_shared_kept", "-")),
                  fz["shared_pages_kept"])
        ck.eq("%s: what-if next collection" % L,
              (num(kv["next_generation"]), num(kv["next_allocations"]), kv["next_reason"]),
              (nc["generation"], nc["allocations"], nc["reason"]))
    for c in touch["collections"]:
        t = dom.table(**{"class": "toptypes", "data-generation": str(c["generation"])})
        if ck.true("%s: top types of collection %s" % (L, c["generation"]), len(t) == 1):
            ck.eq("%s: top types of collection %s rows" % (L, c["generation"]),
                  [[num(r[1][0]), num(r[1][1]), r[1][2]] for r in t[0][1][1:]],
                  [[e["pages"], e["objects"], e["name"]] for e in c["top_types"]])
    # Types, list by list, the folded rows included.
    all_names = set()
    for name, doc in types.items():
        tables = dom.table(**{"class": "types", "data-list": name})
        rows = [r for t in tables for r in t[1][1:]]
        got = [[num(r[1][0]), num(r[1][1]), r[1][2], r[1][3]] for r in rows]
        want = [[e["objects"], e["bytes"], e["name"], e["address"]] for e in doc["types"]]
        ck.eq("%s: types of list %s" % (L, name), got, want)
        all_names |= set(r[2] for r in got)
    # (heap types are qualified with their module: "__main__.<script>...")
    for evil in truth["evil_names"]:
        ck.true("%s: the type named %r is shown as text" % (L, evil),
                any(n == evil or n.endswith("." + evil) for n in all_names))
    # The page map's counts against summary.
    t = dom.table(id="pagemap-counts")
    every = None
    if ck.true("%s: page map counts" % L, len(t) == 1):
        counts = dict((r[0]["data-list"], num(r[1][-1])) for r in t[0][1] if "data-list" in r[0])
        gens = summary["gc"]["generations"]
        ck.eq("%s: page map: pages whose youngest list is 0 = generation 0's pages" % L,
              counts.get("0"), gens[0]["pages"])
        every = counts.get("")
        lists = gens + ([summary["gc"]["permanent"]] if summary["gc"]["permanent"] else [])
        ck.eq("%s: page map: the counts add up" % L,
              sum(v for k, v in counts.items() if k), every)
        ck.true("%s: page map: every page at least each list's" % L,
                all(every >= g["pages"] for g in lists) and
                every <= sum(g["pages"] for g in lists), repr((every, lists)))
    ck.true("%s: the map is drawn" % L, dom.svg_rects > 0)
    t = dom.table(id="pagemap-sharing")
    if touch["collections"][0]["sharing"] is None:
        ck.eq("%s: no sharing map for a core" % L, t, [])
    elif ck.true("%s: sharing map counts" % L, len(t) == 1) and every is not None:
        ck.eq("%s: shared + private + absent = every page" % L,
              sum(num(r[1][1]) for r in t[0][1][1:]), every)


def one_target(ck, args, workdir, label, target_args):
    g = args.gcinspect
    html_path = os.path.join(workdir, label + ".html")
    check_diff.gci(g, ["report"] + target_args + ["-o", html_path], "report", json_out=False)
    summary = check_diff.gci(g, ["summary", "--json"] + target_args, "summary")
    touch = check_diff.gci(g, ["touch", "--json"] + target_args, "touch")
    lists = [x["name"] for x in summary["gc"]["generations"]] + \
        (["permanent"] if summary["gc"]["permanent"] else [])
    types = dict((n, check_diff.gci(g, ["types", "--json", "-g", n] + target_args,
                                    "types -g " + n)) for n in lists)
    # The hostile names round-trip through objects --json (NDJSON) too.
    rows = gcitest.ndjson(check_diff.gci(g, ["objects", "--json"] + target_args, "objects",
                                         json_out=False), "objects")
    names = set(r["type"] for r in rows)
    for evil in check_diff.LeakTarget.EVIL_NAMES:
        ck.true("%s: objects --json names the type %r" % (label, evil),
                any(n == evil or n.endswith("." + evil) for n in names))
    with open(html_path, encoding="utf-8") as f:
        page = f.read()
    log("%s: %s is %d bytes" % (label, html_path, len(page)))
    # Self-contained.
    urls = set(re.findall(r"(?:https?|ftp)://[^\s\"'<>)]+", page))
    ck.eq("%s: no URL but the SVG namespace" % label, urls, {"http://www.w3.org/2000/svg"})
    for bad in ("<link", " src=", "@import", "url("):
        ck.true("%s: no %r in the page" % (label, bad), bad not in page.replace(
            "src=x onerror", ""), bad)
    return html_path, summary, touch, types


def render_and_check(ck, args, workdir, label, html_path, summary, touch, types, truth,
                     target_path):
    # JavaScript off: Chromium's --blink-settings=scriptEnabled=false also
    # stops --dump-dom and --screenshot, so the page's own scripts are
    # blocked instead, by a Content-Security-Policy put in a copy of it.
    with open(html_path, encoding="utf-8") as f:
        page = f.read()
    nojs = html_path[:-5] + "-nojs.html"
    with open(nojs, "w", encoding="utf-8") as f:
        f.write(page.replace("<head>", "<head><meta http-equiv=\"Content-Security-Policy\" "
                             "content=\"script-src 'none'\">", 1))
    for js in (True, False):
        url = "file://" + (html_path if js else nojs)
        dom_text = chromium(args.chromium, url, workdir, ["--dump-dom"])
        ck.eq("%s: the page's script %s" % (label, "ran" if js else "was blocked"),
              '<html lang="en" class="js">' in dom_text, js)
        dom = gcitest.Dom()
        dom.feed(dom_text)
        what = "%s (JavaScript %s)" % (label, "on" if js else "off")
        check_page(ck, what, dom, summary, touch, types, truth, target_path)
        data = dom.data()
        if ck.true("%s: embedded data" % what, len(data) == 1):
            doc = json.loads(data[0])
            for key, want in (("summary", summary), ("touch", touch), ("types", types)):
                d = gcitest.report_diff(doc[key], want)
                ck.true("%s: embedded %s = %s --json" % (what, key, key), not d,
                        "\n    ".join(d[:10]))
    # The optional script: hovering the first coloured cell of the map names
    # its address and list.  (A copy of the page moves the pointer there.)
    m = re.search(r'data-unit="(\d+)".*?<g data-a="([0-9a-f]+)">.*?<path class="(c\w)" '
                  r'd="M(\d+) ', page, re.S)
    if ck.true("%s: the map has a coloured cell" % label, m is not None):
        unit, base, cls, x = int(m.group(1)), int(m.group(2), 16), m.group(3), int(m.group(4))
        want = "0x%x%s: GC heads of list " % ((base + (x - 118) // 10 * unit) * 4096,
                                              " (+%d KiB)" % (unit * 4) if unit > 1 else "")
        hover = html_path[:-5] + "-hover.html"
        with open(hover, "w", encoding="utf-8") as f:
            f.write(page.replace("</body>", "<script>(function(){var p=document.querySelector("
                                 "'svg.map path'),r=p.getBoundingClientRect();p.dispatchEvent("
                                 "new MouseEvent('mousemove',{bubbles:true,clientX:r.left+2,"
                                 "clientY:r.top+2}));document.body.setAttribute('data-hover',"
                                 "document.getElementById('mapinfo').textContent);})();"
                                 "</script></body>"))
        dom_text = chromium(args.chromium, "file://" + hover, workdir, ["--dump-dom"])
        got = re.search(r'<body data-hover="([^"]*)"', dom_text)
        ck.true("%s: hovering the map names the cell (%s...)" % (label, want),
                got is not None and html.unescape(got.group(1)).startswith(want),
                got.group(1) if got else dom_text[:300])
    for js in (True, False):
        shot = os.path.join(workdir, "%s%s.png" % (label, "" if js else "-nojs"))
        url = "file://" + (html_path if js else nojs)
        chromium(args.chromium, url, workdir, ["--window-size=1100,2600", "--screenshot=" + shot])
        with open(shot, "rb") as f:
            head = f.read(8)
        ck.eq("%s: screenshot is a PNG" % shot, head, b"\x89PNG\r\n\x1a\n")
        # A blank page is a few kB; this one has tables, text and colour.
        ck.true("%s: screenshot not blank" % shot, os.path.getsize(shot) > 50000,
                "%d bytes" % os.path.getsize(shot))


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("--gcinspect", required=True)
    ap.add_argument("--python", required=True)
    ap.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    ap.add_argument("--workdir")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args(argv)
    if not os.path.isfile(args.chromium):
        log("FAIL: %s does not exist (Debian package chromium; scripts/install-deps.sh "
            "installs it)" % args.chromium)
        return 1
    if shutil.which("gcore") is None:
        log("SKIP: gcore is not installed (Debian package gdb)")
        return 77
    why = gcitest.ptrace_blocker()
    if why:
        log("SKIP: " + why)
        return 77
    workdir = os.path.abspath(args.workdir or tempfile.mkdtemp(prefix="gcinspect-html-"))
    os.makedirs(workdir, exist_ok=True)
    os.environ["GCINSPECT_CACHE_DIR"] = os.path.join(workdir, "layout-cache")
    ck = Checker()
    status = 1
    truth_path = os.path.join(workdir, "truth.json")
    t = check_diff.LeakTarget(args.python, truth_path, 500, True,
                             ["--evil-names", "--no-collect"])
    try:
        t.start()
        t.worker = int(t.wait_line("ready"))
        core = take_core(t, workdir)
        got_core = one_target(ck, args, workdir, "core", [core])
        got_live = one_target(ck, args, workdir, "live", ["--pid", str(t.worker)])
        t.finish()
        with open(truth_path) as f:
            truth = json.load(f)
        render_and_check(ck, args, workdir, "core", got_core[0], got_core[1], got_core[2],
                         got_core[3], truth, core)
        render_and_check(ck, args, workdir, "live", got_live[0], got_live[1], got_live[2],
                         got_live[3], truth, "pid %d" % t.worker)
        # The worker shares most of its heap with the master: the live page
        # says so.
        live_sum = got_live[2]["collections"][-1]["sharing"]
        ck.true("live: sharing known", live_sum is not None)
        if live_sum:
            ck.true("live: the worker still shares pages with the master",
                    live_sum["shared_pages"] > 0, repr(live_sum))
        if ck.failures:
            log("FAIL: %d of %d checks failed:" % (len(ck.failures), ck.checked))
            for f in ck.failures[:40]:
                log("  - " + f[:3000])
        else:
            log("PASS: %d checks" % ck.checked)
            status = 0
    except Skip as e:
        log("SKIP: %s" % e)
        status = 77
    except Fail as e:
        log("FAIL: %s" % e)
    finally:
        t.kill()
        if args.keep:
            log("kept: %s" % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
