"""Print the failed tasks of a molecule log, last, where CI's tail shows them.

`make molecule` keeps each scenario's output in .build/molecule-<scenario>.log;
when a scenario fails, this prints every task that failed (not the retries, not
the ignored ones) with its play, its task name and the lines Ansible printed
for it, so that a failure far up a long log is still seen.
"""
import re
import sys

ANSI = re.compile(r"\x1b\[[0-9;]*m")
# molecule's console prefixes each Ansible line with a box-drawing rail.
RAIL = re.compile(r"^\s*│\s?")
FAILED = re.compile(r"^(fatal|failed): \[")
HEADER = re.compile(r"^(PLAY \[|PLAY RECAP|TASK \[|RUNNING HANDLER \[)")
MAX_LINES = 60


def clean(line):
    return RAIL.sub("", ANSI.sub("", line.rstrip("\n")))


def failures(lines):
    """Yield (play, task, block) for each failure that was not ignored."""
    play = task = ""
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("PLAY ["):
            play = line
        elif line.startswith(("TASK [", "RUNNING HANDLER [")):
            task = line
        elif FAILED.match(line):
            block = [line]
            i += 1
            while i < len(lines) and not HEADER.match(lines[i]) and not FAILED.match(lines[i]):
                block.append(lines[i])
                i += 1
            if not any(b.strip() == "...ignoring" for b in block):
                yield play, task, block
            continue
        i += 1


def title(header):
    """'TASK [name] ****' -> 'name'."""
    match = re.match(r"^[A-Z ]+\[(.*)\]", header)
    return match.group(1) if match else header


def summary(block):
    """The failed host and the first line of the message Ansible gave, short."""
    host = block[0].split("]")[0].split("[")[-1]
    for line in block[1:]:
        text = line.strip()
        for key in ("msg:", "fail_msg:", "stderr:"):
            if text.startswith(key) and text[len(key):].strip() not in ("", "''"):
                return "%s: %s" % (host, text[len(key):].strip()[:200])
    return "%s: %s" % (host, block[0][:200])


def main(path):
    with open(path, encoding="utf-8", errors="replace") as handle:
        lines = [clean(line) for line in handle]
    found = list(failures(lines))
    print("\n==== failed tasks in %s: %d ====" % (path, len(found)))
    for play, task, block in found:
        print(play)
        print(task)
        shown = block[:MAX_LINES]
        print("\n".join(shown))
        if len(block) > MAX_LINES:
            print("... (%d more lines in the log)" % (len(block) - MAX_LINES))
        print("----")
    # CI shows only the last lines: end with one short line per failure.
    for play, task, block in found:
        print("FAILED %s | %s | %s" % (title(play), title(task), summary(block)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
