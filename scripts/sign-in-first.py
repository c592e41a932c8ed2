#!/usr/bin/env python3
"""Makes the visit app's, the activities' and the console's pages
(dist/index.html, dist/activities/index.html, dist/admin/index.html) load their
code only where someone is signed in, and send anyone else to the sign-in page
first.

Why: signing in is a bundle of its own (`/login`, a fraction of the visit app's
bytes). A phone's first visit to `/` should not download the visit app before
the sign-in screen: on a 400 kbps line that is four seconds before anyone can
type. Trunk writes the loader as a static `import` plus two preload links, which
the browser fetches as soon as it reads the page, so here they become:

- a classic inline script at the top of <head> that, with a session stored,
  writes the same two preload links (hashes unchanged) and otherwise replaces
  the address with `/login` before anything is fetched;
- the module loader, run only with a session stored, importing the glue with
  a dynamic `import()`.

The service worker and scripts/size-report.py read the file names out of the
page as before. Run after scripts/shrink-bundle.py (which sets the hashes).

Usage: scripts/sign-in-first.py PAGE...
"""
import json
import re
import sys

SESSION = 'localStorage.getItem("daohu:v1:session")'


def gate(page):
    loader = re.search(r"<script type=\"?module\"?>(.*?)</script>", page, re.S)
    preloads = re.findall(r"<link\b[^>]*\brel=\"?(?:modulepreload|preload)\"?[^>]*>", page)
    if not loader or len(preloads) != 2:
        sys.exit("sign-in-first: the page has no Trunk loader with two preload links (built by Trunk?)")
    body = loader.group(1)
    glue = re.search(r"import init, \* as bindings from '([^']+)';", body)
    if not glue:
        sys.exit("sign-in-first: Trunk's loader no longer imports the glue as expected")
    body = body.replace(glue.group(0), f"const bindings = await import('{glue.group(1)}'), init = bindings.default;")
    module = f"<script type=module>if ({SESSION}) {{{body}}}</script>"
    links = json.dumps("".join(preloads)).replace("</", "<\\/")
    first = (f"<script>var s;try{{s={SESSION}}}catch(e){{}}"
             f"if(s)document.write({links});else location.replace(\"/login\")</script>")
    for link in preloads:
        page = page.replace(link, "")
    page = page.replace(loader.group(0), module)
    head = re.search(r"<meta charset=\"?utf-8\"?>", page, re.I)
    if not head:
        sys.exit("sign-in-first: no <meta charset> to put the check after")
    return page[: head.end()] + first + page[head.end():]


if __name__ == "__main__":
    for path in sys.argv[1:]:
        with open(path, encoding="utf-8") as f:
            page = f.read()
        if "daohu:v1:session" in page and "document.write" in page:
            continue  # already done (the script ran twice on one build)
        with open(path, "w", encoding="utf-8") as f:
            f.write(gate(page))
