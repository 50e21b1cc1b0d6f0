"""Stand-in for the pip bootstrap script ansible-test downloads from its CI file host.

ansible-test creates an empty virtual environment per sanity test and fetches
get-pip.py to fill it; that host is not reachable from the lab machines, but
PyPI is. This does the same job with the standard library's ensurepip, then
installs the requested pip (and packages) from PyPI. `make sanity` puts it in
ansible-test's cache under the name it looks for.
"""
import subprocess
import sys


def main():
    args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"],
                          stdout=subprocess.DEVNULL)
    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q"] + args)


if __name__ == "__main__":
    main()
