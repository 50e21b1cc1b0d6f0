"""Copy collections out of the `ansible` package wheel from PyPI.

Ansible Galaxy is not reachable from the lab machines, but the community
package on PyPI bundles the collections. Only the ones named are extracted.

    install_collections.py WHEEL DEST NAMESPACE/NAME...
"""
import sys
import zipfile
from pathlib import Path


def main():
    wheel, dest, names = sys.argv[1], Path(sys.argv[2]), sys.argv[3:]
    prefixes = ["ansible_collections/%s/" % name for name in names]
    found = set()
    with zipfile.ZipFile(wheel) as archive:
        for member in archive.infolist():
            for prefix in prefixes:
                if member.filename.startswith(prefix) and not member.is_dir():
                    target = dest / member.filename[len("ansible_collections/"):]
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(archive.read(member))
                    found.add(prefix)
    missing = set(prefixes) - found
    if missing:
        sys.exit("not in %s: %s" % (wheel, ", ".join(sorted(missing))))


if __name__ == "__main__":
    main()
