"""Open the System Overview page (status.yml -e status_html=PATH) in headless Chromium.

    overview_page.py rows PAGE            print each rendered row as JSON: kind (vs or rs),
                                          name, health, admin, status, the cells' text and
                                          the background colour Chromium computed
    overview_page.py screenshot PAGE PNG  take a screenshot of the page (docs/)

`rows` reads what the browser rendered, not the HTML source: it loads a copy
of the page with a small script appended that reads each row's computed style
and writes the result into the document, and takes it from Chromium's
--dump-dom output. Needs Debian's `chromium` package.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

MARK = "lbstack-overview-rows"

# Runs in the page after it has been laid out and styled.
SCRIPT = """<script>
(function () {
  var rows = [];
  document.querySelectorAll("tr.vs, tr.rs").forEach(function (tr) {
    rows.push({
      kind: tr.classList.contains("vs") ? "vs" : "rs",
      service: tr.closest("table").dataset.service,
      name: tr.dataset.name,
      health: tr.dataset.health,
      admin: tr.dataset.admin,
      status: tr.dataset.status,
      cells: Array.prototype.map.call(tr.cells, function (td) { return td.innerText.trim(); }),
      colour: getComputedStyle(tr).backgroundColor,
      visible: tr.getBoundingClientRect().height > 0
    });
  });
  var pre = document.createElement("pre");
  pre.id = "%s";
  pre.textContent = JSON.stringify(rows);
  document.body.appendChild(pre);
})();
</script>""" % MARK


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    sys.exit("overview_page: Chromium not found (apt-get install chromium)")


def run_chromium(args, timeout=120):
    # --no-sandbox: the lab runs as root, where Chromium's sandbox refuses to start.
    cmd = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
           "--no-first-run", "--hide-scrollbars"] + args
    with tempfile.TemporaryDirectory(prefix="lbstack-chromium-") as profile:
        proc = subprocess.run(cmd + ["--user-data-dir=" + profile], capture_output=True,
                              text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        sys.exit("overview_page: chromium failed (%d): %s" % (proc.returncode, proc.stderr[-2000:]))
    return proc.stdout


def rendered_rows(page):
    with open(page, encoding="utf-8") as fh:
        html = fh.read()
    if "</body>" not in html:
        sys.exit("overview_page: %s has no </body>: not the overview page" % page)
    with tempfile.TemporaryDirectory(prefix="lbstack-overview-") as tmp:
        copy = os.path.join(tmp, "overview.html")
        with open(copy, "w", encoding="utf-8") as fh:
            fh.write(html.replace("</body>", SCRIPT + "\n</body>", 1))
        dom = run_chromium(["--dump-dom", "file://" + copy])
    match = re.search(r'<pre id="%s">(.*?)</pre>' % MARK, dom, re.S)
    if not match:
        sys.exit("overview_page: the script's result is not in the rendered DOM")
    text = match.group(1).replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&amp;", "&")
    return json.loads(text)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rows = sub.add_parser("rows")
    rows.add_argument("page")
    shot = sub.add_parser("screenshot")
    shot.add_argument("page")
    shot.add_argument("png")
    shot.add_argument("--size", default="1100,560", help="window width,height in pixels")
    args = parser.parse_args()
    page = os.path.abspath(args.page)
    if args.command == "rows":
        print(json.dumps(rendered_rows(page), indent=1))
    else:
        run_chromium(["--window-size=" + args.size, "--screenshot=" + os.path.abspath(args.png),
                      "file://" + page])
        print(os.path.abspath(args.png))
    return 0


if __name__ == "__main__":
    sys.exit(main())
